"""Filters of the signal list, for the API and the signals page alike."""

from datetime import UTC

import django_filters

from expansion.models import Signal
from expansion.queries import CATEGORIES, kinds_of


class SignalFilterSet(django_filters.FilterSet):
    category = django_filters.ChoiceFilter(
        choices=CATEGORIES, method="filter_category", label="Category"
    )
    raised_since = django_filters.IsoDateTimeFilter(method="filter_raised_since")

    class Meta:
        model = Signal
        fields = ["account", "kind", "status", "source"]

    def filter_category(self, signals, name, value):
        return signals.filter(kind__in=kinds_of(value))

    def filter_raised_since(self, signals, name, value):
        # In UTC, as stored: PostgreSQL refuses offsets beyond 15:59, which
        # ISO 8601 allows. Out of range in UTC is before year 1 (every signal)
        # or after 9999 (none).
        try:
            since = value.astimezone(UTC)
        except OverflowError:
            return signals if value.year == 1 else signals.none()
        return signals.filter(raised_at__gte=since)
