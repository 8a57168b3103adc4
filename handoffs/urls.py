from django.urls import path

from handoffs import account_views, deal_views, review_views, views

urlpatterns = [
    path("queue/", views.my_queue, name="my-queue"),
    path("team-queue/", views.team_queue, name="team-queue"),
    path("leads/<int:pk>/", views.lead_detail, name="lead-detail"),
    path("leads/<int:pk>/accept/", views.lead_accept, name="lead-accept"),
    path("leads/<int:pk>/touch/", views.lead_touch, name="lead-touch"),
    path(
        "leads/<int:pk>/disposition/", views.lead_disposition, name="lead-disposition"
    ),
    path("dashboard/speed-to-lead/", views.speed_to_lead, name="speed-to-lead"),
    path("reports/sla-compliance/", views.sla_compliance, name="sla-compliance"),
    path("deals/", deal_views.deal_list, name="deal-list"),
    path("deals/<int:pk>/", deal_views.deal_detail, name="deal-detail"),
    path("accounts/<int:pk>/", account_views.account_detail, name="account-detail"),
    path("deals/<int:pk>/close-won/", deal_views.deal_close_won, name="deal-close-won"),
    path(
        "deals/<int:pk>/send-again/",
        deal_views.deal_send_again,
        name="deal-send-again",
    ),
    path(
        "implementation/",
        deal_views.implementation_queue,
        name="implementation-queue",
    ),
    path("customer-success/", deal_views.cs_queue, name="cs-queue"),
    path("handoffs/<int:pk>/", deal_views.handoff_detail, name="handoff-detail"),
    path("handoffs/<int:pk>/accept/", deal_views.handoff_accept, name="handoff-accept"),
    path(
        "handoffs/<int:pk>/check-in/",
        deal_views.handoff_check_in,
        name="handoff-check-in",
    ),
    path("handoffs/<int:pk>/reject/", deal_views.handoff_reject, name="handoff-reject"),
    path("handoffs/<int:pk>/rate/", deal_views.handoff_rate, name="handoff-rate"),
    path(
        "handoffs/<int:pk>/send-again/",
        deal_views.handoff_send_again,
        name="handoff-send-again",
    ),
    path("handoffs/<int:pk>/brief/", deal_views.handoff_brief, name="handoff-brief"),
    path(
        "reports/handoff-quality/",
        deal_views.handoff_quality,
        name="handoff-quality",
    ),
    path("reviews/", review_views.operating_review_list, name="operating-review-list"),
    path(
        "reviews/<int:team_id>/<str:week>/",
        review_views.operating_review,
        name="operating-review",
    ),
    path("form/", views.public_form, name="public-form"),
    path("form/thanks/", views.public_form_thanks, name="public-form-thanks"),
]
