"""The partner area: pages a partner's people use, under /partner/."""

from django.urls import path

from partners import views

urlpatterns = [
    path("", views.partner_home, name="partner-home"),
    path("login/", views.PartnerLoginView.as_view(), name="partner-login"),
    path(
        "welcome/<uidb64>/<token>/",
        views.PartnerWelcomeView.as_view(),
        name="partner-welcome",
    ),
    path(
        "engagements/<int:pk>/",
        views.engagement_detail,
        name="partner-engagement",
    ),
    path(
        "engagements/<int:pk>/milestones/<slug:kind>/",
        views.milestone_log,
        name="partner-milestone-log",
    ),
    path(
        "engagements/<int:pk>/readiness/<slug:key>/",
        views.readiness_update,
        name="partner-readiness-update",
    ),
    path(
        "engagements/<int:pk>/comments/",
        views.comment_add,
        name="partner-comment-add",
    ),
    path(
        "engagements/<int:pk>/sessions/",
        views.session_log,
        name="partner-session-log",
    ),
    path(
        "engagements/<int:pk>/cs-packet/",
        views.cs_packet_save,
        name="partner-cs-packet-save",
    ),
    path(
        "engagements/<int:pk>/hand-over/",
        views.cs_hand_over,
        name="partner-hand-over",
    ),
    path(
        "engagements/<int:pk>/send-again/",
        views.cs_send_again,
        name="partner-cs-send-again",
    ),
]
