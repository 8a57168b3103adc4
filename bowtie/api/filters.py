"""Filters of the core lists, each with `updated_since` for incremental sync.

A sync client keeps the time it started its last walk and asks for what
changed since then: a row changed during a walk is read again next time,
never skipped. People and teams have no index on `updated_at`; they are a
company's staff, small enough to scan.
"""

import django_filters

from bowtie.models import Account, Contact, Person, Team


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
        fields = ["account", "email", "country"]


class PersonFilterSet(UpdatedSinceFilterSet):
    email = django_filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = Person
        fields = ["role", "team", "manager", "email", "is_active"]


class TeamFilterSet(UpdatedSinceFilterSet):
    class Meta:
        model = Team
        fields = ["function", "parent", "head"]
