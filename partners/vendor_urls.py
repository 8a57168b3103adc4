"""Vendor pages about partners and engagements."""

from django.urls import path

from partners import vendor_views

urlpatterns = [
    path(
        "engagements/<int:pk>/",
        vendor_views.engagement_detail,
        name="engagement-detail",
    ),
]
