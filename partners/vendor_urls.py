"""Vendor pages about partners and engagements."""

from django.urls import path

from partners import vendor_views

urlpatterns = [
    path("engagements/", vendor_views.engagement_list, name="engagement-list"),
    path(
        "engagements/<int:pk>/",
        vendor_views.engagement_detail,
        name="engagement-detail",
    ),
    path(
        "engagements/<int:pk>/milestones/<str:kind>/",
        vendor_views.engagement_log_milestone,
        name="engagement-log-milestone",
    ),
    path(
        "engagements/<int:pk>/readiness/<str:key>/",
        vendor_views.engagement_update_readiness,
        name="engagement-update-readiness",
    ),
    path(
        "engagements/<int:pk>/comments/",
        vendor_views.engagement_comment,
        name="engagement-comment",
    ),
    path(
        "engagements/<int:pk>/sessions/",
        vendor_views.engagement_log_session,
        name="engagement-log-session",
    ),
    path(
        "engagements/<int:pk>/cs-packet/",
        vendor_views.engagement_save_cs_packet,
        name="engagement-save-cs-packet",
    ),
    path(
        "engagements/<int:pk>/hand-over/",
        vendor_views.engagement_hand_over,
        name="engagement-hand-over",
    ),
    path(
        "engagements/<int:pk>/send-again/",
        vendor_views.engagement_send_again,
        name="engagement-send-again",
    ),
    path(
        "handoffs/<int:pk>/implementation/",
        vendor_views.handoff_assign_partner,
        name="handoff-assign-partner",
    ),
    path(
        "partners/scorecard/",
        vendor_views.partner_scorecard,
        name="partner-scorecard",
    ),
]
