import threading

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from bowtie.api.fields_once import FieldsBuiltOnce
from bowtie.api.schema import (
    MissingItemSerializer,
    PersonReferenceSerializer,
    ReferenceSerializer,
    StageReferenceSerializer,
)
from bowtie.models import Deal
from handoffs.closing import packet_items
from handoffs.models import Lead
from handoffs.packets import assess_packet


class LeadSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    owner = serializers.SerializerMethodField()
    team = serializers.SerializerMethodField()
    due_at = serializers.SerializerMethodField()
    routing_reason = serializers.SerializerMethodField()
    account = serializers.SerializerMethodField()

    class Meta:
        model = Lead
        fields = [
            "id",
            "email",
            "first_name",
            "last_name",
            "company_name",
            "country",
            "language",
            "lead_type",
            "status",
            "cycle",
            "touch_count",
            "owner",
            "team",
            "account",
            "score",
            "fit_score",
            "intent_score",
            "third_party_score",
            "due_at",
            "routing_reason",
            "received_at",
            "first_response_at",
            "closed_at",
            "updated_at",
        ]

    @extend_schema_field(PersonReferenceSerializer(allow_null=True))
    def get_owner(self, lead):
        if lead.owner is None:
            return None
        return {
            "id": lead.owner.pk,
            "name": lead.owner.full_name,
            "email": lead.owner.email,
        }

    @extend_schema_field(ReferenceSerializer(allow_null=True))
    def get_team(self, lead):
        return {"id": lead.team.pk, "name": lead.team.name} if lead.team else None

    @extend_schema_field(ReferenceSerializer(allow_null=True))
    def get_account(self, lead):
        if lead.account is None:
            return None
        return {"id": lead.account.pk, "name": lead.account.name}

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_due_at(self, lead):
        # Listed leads carry the annotation, even when it is None (no clock).
        if hasattr(lead, "first_response_due_at"):
            due = lead.first_response_due_at
        else:
            from handoffs.queries import first_response_due_at

            due = first_response_due_at(lead)
        return serializers.DateTimeField().to_representation(due) if due else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_routing_reason(self, lead):
        # A lead fresh from intake carries the reason of its only decision.
        if hasattr(lead, "routing_reason"):
            return lead.routing_reason
        # all() reads the view's prefetch; the model orders newest first.
        decisions = list(lead.decisions.all())
        return decisions[0].reason if decisions else None


def lead_representation(lead: Lead) -> dict:
    """What the API says of one lead, the same as LeadSerializer(lead).data.

    Intake answers each lead with it. A serializer made per answer built and
    bound its two dozen fields each time, a tenth of what taking in a lead
    cost; representing a lead reads the lead alone (no request, no context)
    and changes nothing in the serializer, so each thread keeps one. A field
    that comes to need the request must leave this for get_serializer.
    """
    serializer = getattr(per_thread, "lead_serializer", None)
    if serializer is None:
        serializer = per_thread.lead_serializer = LeadSerializer()
    return serializer.to_representation(lead)


per_thread = threading.local()


class LeadBatchResultSerializer(serializers.Serializer):
    """One lead of a batch: its place, and the answer POST /api/leads gives."""

    index = serializers.IntegerField()
    status = serializers.IntegerField()
    body = serializers.JSONField(help_text="The lead, or the reasons it was refused.")


class LeadBatchAnswerSerializer(serializers.Serializer):
    results = LeadBatchResultSerializer(many=True)


class DealSerializer(serializers.ModelSerializer):
    """A deal as read; writes go through `change_deal`, not through here.

    `handoff` and `renewal` are the ids the close made, from annotations of
    the view's queryset; `packet_missing` names each required item the packet
    still lacks, by key and text, as a refused close would.
    """

    account = serializers.SerializerMethodField()
    owner = serializers.SerializerMethodField()
    pipeline = serializers.SerializerMethodField()
    stage = serializers.SerializerMethodField()
    product = serializers.SerializerMethodField()
    amount = serializers.SerializerMethodField()
    currency = serializers.SerializerMethodField()
    packet_missing = serializers.SerializerMethodField()
    # None until the deal is closed won.
    handoff = serializers.IntegerField(
        source="implementation_handoff_id", read_only=True, allow_null=True
    )
    renewal = serializers.IntegerField(
        source="renewal_deal_id", read_only=True, allow_null=True
    )

    class Meta:
        model = Deal
        fields = [
            "id",
            "name",
            "account",
            "owner",
            "pipeline",
            "stage",
            "product",
            "amount",
            "currency",
            "expected_close_on",
            "closed_on",
            "term_months",
            "packet",
            "packet_completeness",
            "packet_missing",
            "handoff",
            "renewal",
            "is_historical",
            "external_source",
            "external_id",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(ReferenceSerializer(allow_null=True))
    def get_account(self, deal):
        if deal.account is None:
            return None
        return {"id": deal.account.pk, "name": deal.account.name}

    @extend_schema_field(PersonReferenceSerializer(allow_null=True))
    def get_owner(self, deal):
        if deal.owner is None:
            return None
        return {
            "id": deal.owner.pk,
            "name": deal.owner.full_name,
            "email": deal.owner.email,
        }

    @extend_schema_field(ReferenceSerializer)
    def get_pipeline(self, deal):
        return {"id": deal.pipeline.pk, "name": deal.pipeline.name}

    @extend_schema_field(StageReferenceSerializer)
    def get_stage(self, deal):
        stage = deal.stage
        return {"id": stage.pk, "name": stage.name, "outcome": stage.outcome}

    @extend_schema_field(ReferenceSerializer(allow_null=True))
    def get_product(self, deal):
        if deal.product is None:
            return None
        return {"id": deal.product.pk, "name": deal.product.name}

    @extend_schema_field(serializers.DecimalField(14, 2, allow_null=True))
    def get_amount(self, deal):
        # Text, as DRF writes decimals: a float would round the cents.
        return None if deal.amount is None else f"{deal.amount.amount:.2f}"

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_currency(self, deal):
        return None if deal.amount is None else str(deal.amount.currency)

    @extend_schema_field(MissingItemSerializer(many=True))
    def get_packet_missing(self, deal):
        # The view reads the template's items once for the whole page.
        items = self.context.get("packet_items")
        if items is None:
            items = packet_items()
        assessment = assess_packet(items, deal.packet or {})
        return [{"key": item.key, "text": item.text} for item in assessment.missing]
