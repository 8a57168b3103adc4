"""Accounts, contacts, people and teams as the API shows them.

Related rows are ids, both ways, so a client can send back what it read.
Writes are checked for shape here and saved by `bowtie.services`. People
and teams are read-only: they are kept in the admin, which owns their
calendars and routing, and a person's webhook address, a secret, is left
out.
"""

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from bowtie.models import Account, Contact, OwnershipBand, Person, Team


class AccountSerializer(serializers.ModelSerializer):
    domains = serializers.SlugRelatedField(
        slug_field="domain", many=True, read_only=True
    )
    annual_revenue = serializers.SerializerMethodField()
    annual_revenue_currency = serializers.SerializerMethodField()

    class Meta:
        model = Account
        fields = [
            "id",
            "name",
            "parent",
            "owner",
            "country",
            "industry",
            "employee_count",
            "size",
            "annual_revenue",
            "annual_revenue_currency",
            "founded_year",
            "external_id",
            "domains",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["size", "created_at", "updated_at"]

    # TODO(api): annual revenue is read-only here, kept in the admin and the
    # CRM import; open it when a sync must send it, amount and currency
    # together as deals take theirs.
    @extend_schema_field(serializers.DecimalField(16, 2, allow_null=True))
    def get_annual_revenue(self, account) -> str | None:
        # Text, as DRF writes decimals: a float would round the cents.
        revenue = account.annual_revenue
        return None if revenue is None else f"{revenue.amount:.2f}"

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_annual_revenue_currency(self, account) -> str | None:
        revenue = account.annual_revenue
        return None if revenue is None else str(revenue.currency)


class ContactSerializer(serializers.ModelSerializer):
    class Meta:
        model = Contact
        fields = [
            "id",
            "account",
            "email",
            "first_name",
            "last_name",
            "job_title",
            "phone",
            "country",
            "external_id",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]


class PersonSerializer(serializers.ModelSerializer):
    class Meta:
        model = Person
        fields = [
            "id",
            "full_name",
            "email",
            "role",
            "team",
            "manager",
            "time_zone",
            "country",
            "holiday_region",
            "languages",
            "is_active",
            "capacity",
            "routing_weight",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class TeamSerializer(serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = [
            "id",
            "name",
            "function",
            "parent",
            "head",
            "time_zone",
            "country",
            "holiday_region",
            "distribution",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class OwnershipBandSerializer(serializers.ModelSerializer):
    """One band of the policy in force on the day asked for."""

    effective_on = serializers.DateField(
        source="policy.effective_on",
        read_only=True,
        help_text="The day the band's policy took (or takes) effect.",
    )
    lower = serializers.DecimalField(
        source="lower_eur",
        max_digits=14,
        decimal_places=2,
        read_only=True,
        help_text="Annual value the band starts at, included: an amount exactly "
        "on a boundary belongs to the band that starts there.",
    )
    upper = serializers.DecimalField(
        source="upper_eur",
        max_digits=14,
        decimal_places=2,
        read_only=True,
        allow_null=True,
        help_text="Annual value the band ends at, excluded; null: no upper limit.",
    )
    cs_role = serializers.ChoiceField(
        choices=Person.Role.choices,
        allow_blank=True,
        read_only=True,
        help_text="The customer success role in the deal; empty: none.",
    )
    currency = serializers.SerializerMethodField()

    class Meta:
        model = OwnershipBand
        fields = [
            "id",
            "policy",
            "effective_on",
            "lower",
            "upper",
            "currency",
            "owner_role",
            "cs_role",
            "cs_part",
        ]
        read_only_fields = fields

    def get_currency(self, band) -> str:
        """The base currency the amounts are in."""
        return settings.BOWTIE_BASE_CURRENCY
