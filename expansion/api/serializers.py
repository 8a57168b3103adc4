"""Signals over the API: how a signal reads, and the bodies its writes take.

The serializers only check the shape of a request; the services of
`expansion.services` decide and write, and their refusals are answered by
field as every other refusal of the API.
"""

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from bowtie.api.schema import PersonReferenceSerializer, ReferenceSerializer
from bowtie.models import Account, Pipeline
from expansion.models import Signal, SignalKind
from expansion.services import KNOWN_CURRENCIES


class SignalSerializer(serializers.ModelSerializer):
    account = serializers.SerializerMethodField()
    category = serializers.CharField(read_only=True)
    raised_by = serializers.SerializerMethodField()
    deal = serializers.SerializerMethodField()
    handoff_id = serializers.SerializerMethodField()

    class Meta:
        model = Signal
        fields = [
            "id",
            "account",
            "kind",
            "category",
            "source",
            "status",
            "raised_by",
            "raised_at",
            "evidence",
            "details",
            "deal",
            "handoff_id",
            "closed_at",
            "dismissed_reason",
        ]
        read_only_fields = fields

    @extend_schema_field(ReferenceSerializer)
    def get_account(self, signal):
        return {"id": signal.account_id, "name": signal.account.name}

    @extend_schema_field(PersonReferenceSerializer(allow_null=True))
    def get_raised_by(self, signal):
        person = signal.raised_by
        if person is None:
            return None
        return {"id": person.pk, "name": person.full_name, "email": person.email}

    @extend_schema_field(ReferenceSerializer(allow_null=True))
    def get_deal(self, signal):
        deal = signal.deal
        return None if deal is None else {"id": deal.pk, "name": deal.name}

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_handoff_id(self, signal):
        return getattr(signal, "handoff_id", None)


class RaisedSignalSerializer(SignalSerializer):
    """A raise's answer: the signal, and whether it was open already."""

    repeat = serializers.BooleanField(read_only=True)

    class Meta(SignalSerializer.Meta):
        fields = [*SignalSerializer.Meta.fields, "repeat"]
        read_only_fields = fields


class SignalRaiseSerializer(serializers.Serializer):
    account = serializers.PrimaryKeyRelatedField(queryset=Account.objects.all())
    kind = serializers.ChoiceField(choices=SignalKind.choices)
    evidence = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=5000
    )
    details = serializers.DictField(required=False, default=dict)


class SignalDismissalSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=Signal._meta.get_field("dismissed_reason").max_length
    )


class SignalConversionSerializer(serializers.Serializer):
    expansion_type = serializers.ChoiceField(choices=Pipeline.ExpansionType.choices)
    name = serializers.CharField(max_length=200)
    amount = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0.01"),
        coerce_to_string=True,
    )
    currency = serializers.CharField(min_length=3, max_length=3)
    affects_existing_unit = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Cross-sells only, and required there: would losing the "
        "contract in the existing unit affect closing this one? false makes "
        "a new-logo deal with a customer-referral source.",
    )

    def validate_currency(self, value):
        code = value.strip().upper()
        if code not in KNOWN_CURRENCIES:
            raise serializers.ValidationError(
                "Give an ISO 4217 currency code, e.g. EUR."
            )
        return code


class ConversionAnswerSerializer(serializers.Serializer):
    """The expansion deal a signal became, and its CS -> Sales handoff."""

    signal = SignalSerializer()
    deal = ReferenceSerializer()
    handoff_id = serializers.IntegerField()
    owner = PersonReferenceSerializer()
    pipeline = ReferenceSerializer()
    stage = ReferenceSerializer()
    source = serializers.CharField()
    expands_id = serializers.IntegerField(allow_null=True)
    annual_value_eur = serializers.DecimalField(
        max_digits=14, decimal_places=2, allow_null=True
    )
