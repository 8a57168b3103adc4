"""Filters of a partner's engagement list: by status, and a search by name."""

import django_filters
from django.db.models import Q

from partners.models import Engagement


class EngagementFilterSet(django_filters.FilterSet):
    search = django_filters.CharFilter(
        method="filter_search",
        help_text="Part of the deal's or the account's name, in any case.",
    )

    class Meta:
        model = Engagement
        fields = ["status"]

    def filter_search(self, engagements, name, text):
        # Applied to the caller's engagements only: a search never reaches
        # past the partner boundary the queryset already drew.
        text = text.strip()
        if not text:
            return engagements
        return engagements.filter(
            Q(deal__name__icontains=text) | Q(account__name__icontains=text)
        )
