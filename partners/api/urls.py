"""The partner API: engagements and milestones for one partner's systems."""

from django.urls import path  # noqa: F401

urlpatterns = []
