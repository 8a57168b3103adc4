"""Vendor pages about partners and engagements."""

from django.urls import path  # noqa: F401

urlpatterns = []
