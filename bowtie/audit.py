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
    records = HistoricalRecords(get_user=acting_user, **options)
    AUDITED.append(records)
    return records


# Every model's HistoricalRecords, for code that writes history rows itself
# (bowtie.row_writes) and must copy the same fields with the same user.
AUDITED: list[HistoricalRecords] = []


def keeps_history(model) -> bool:
    return any(records.cls is model for records in AUDITED)


def records_of(model) -> HistoricalRecords:
    for records in AUDITED:
        if records.cls is model:
            return records
    raise LookupError(f"{model.__name__} keeps no audit history.")


def history_model_of(model):
    """The historical model, read without building a history manager."""
    return model.__dict__[records_of(model).manager_name].model
