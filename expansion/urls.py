from django.urls import path

from expansion import views

urlpatterns = [
    path("signals/", views.signal_list, name="signal-list"),
    path("accounts/<int:pk>/signals/", views.signal_flag, name="signal-flag"),
    path("signals/<int:pk>/dismiss/", views.signal_dismiss, name="signal-dismiss"),
    path("signals/<int:pk>/convert/", views.signal_convert, name="signal-convert"),
    path("expansions/", views.expansion_queue, name="expansion-queue"),
    path("expansions/<int:pk>/", views.expansion_detail, name="expansion-detail"),
    path(
        "expansions/<int:pk>/accept/", views.expansion_accept, name="expansion-accept"
    ),
    path(
        "expansions/<int:pk>/meeting/",
        views.expansion_meeting,
        name="expansion-meeting",
    ),
    path(
        "expansions/<int:pk>/send-back/",
        views.expansion_send_back,
        name="expansion-send-back",
    ),
    path(
        "expansions/<int:pk>/send-again/",
        views.expansion_send_again,
        name="expansion-send-again",
    ),
    path("expansions/<int:pk>/stage/", views.expansion_stage, name="expansion-stage"),
]
