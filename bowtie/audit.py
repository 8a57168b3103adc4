"""Audit history for every model that RevOps cares about.

A thin layer over django-simple-history: one place decides who a change is
attributed to. Requests made with an API token have no Django user, so their
changes are recorded without one instead of failing.
"""

from django.contrib.auth import get_user_model
from simple_history.models import HistoricalRecords


def acting_user(instance=None, request=None, **kwargs):
    user = getattr(request, "user", None)
    if isinstance(user, get_user_model()) and user.is_authenticated:
        return user
    return None


def audit_history(**options) -> HistoricalRecords:
    return HistoricalRecords(get_user=acting_user, **options)
