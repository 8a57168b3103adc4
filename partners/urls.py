"""The partner area: pages a partner's people use, under /partner/."""

from django.urls import path  # noqa: F401

urlpatterns = []
