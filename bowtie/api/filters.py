"""Filters of the core lists, each with `updated_since` for incremental sync.

A sync client keeps the time it started its last walk and asks for what
changed since then: a row changed during a walk is read again next time,
never skipped. People and teams have no index on `updated_at`; they are a
company's staff, small enough to scan.
"""

import django_filters

from bowtie.exchange import today
from bowtie.governance import policy_on
from bowtie.models import Account, Contact, OwnershipBand, Person, Team


class UpdatedSinceFilterSet(django_filters.FilterSet):
    updated_since = django_filters.IsoDateTimeFilter(
        field_name="updated_at", lookup_expr="gte"
    )


class AccountFilterSet(UpdatedSinceFilterSet):
    domain = django_filters.CharFilter(
        field_name="domains__domain", lookup_expr="iexact"
    )

    class Meta:
        model = Account
        fields = ["name", "parent", "owner", "country", "industry", "external_id"]


class ContactFilterSet(UpdatedSinceFilterSet):
    email = django_filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = Contact
        fields = ["account", "email", "country", "external_id"]


class PersonFilterSet(UpdatedSinceFilterSet):
    email = django_filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = Person
        fields = ["role", "team", "manager", "email", "is_active"]


class TeamFilterSet(UpdatedSinceFilterSet):
    class Meta:
        model = Team
        fields = ["function", "parent", "head"]


class OwnershipBandFilterSet(django_filters.FilterSet):
    """The bands of the policy in force on `on`, today when it is not given."""

    on = django_filters.DateFilter(
        method="in_force_on",
        label="The day (YYYY-MM-DD) whose bands to list; default today (UTC).",
    )

    class Meta:
        model = OwnershipBand
        fields = ["owner_role"]

    def in_force_on(self, queryset, name, day):
        policy = policy_on(day)
        return queryset.filter(policy=policy) if policy else queryset.none()

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if self.form.cleaned_data.get("on") is None:
            queryset = self.in_force_on(queryset, "on", today())
        return queryset
