"""Engagements, milestones, readiness and comments as a partner reads them.

A partner sees people of the vendor by name and e-mail, to reach them, and
the deal and account by id and name; nothing of the vendor's own records
beyond that (no amounts, no owners of other work). An engagement, in the
list as alone, carries the brief: the packet as it was handed over, by
section, so that a partner's system syncs its engagements in one walk.
The input serializers check the shape of a write; the services of
`partners.services` and `partners.handover` decide and save. The CS packet
is read and written as the packet template of the Implementation -> CS
handoff defines it, item by item.
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from bowtie.api.schema import MissingItemSerializer, ReferenceSerializer
from bowtie.models import Person
from handoffs.api.handoff_serializers import PacketItemSerializer
from handoffs.models import Handoff
from partners.models import (
    Engagement,
    EngagementComment,
    ImplementationMilestone,
    ReadinessCondition,
)


class VendorPersonSerializer(serializers.ModelSerializer):
    """Someone of the vendor the partner works with: whom to write to."""

    name = serializers.CharField(source="full_name")

    class Meta:
        model = Person
        fields = ["name", "email"]
        read_only_fields = fields


class ImplementationMilestoneSerializer(serializers.ModelSerializer):
    label = serializers.CharField(source="get_kind_display", read_only=True)
    is_done = serializers.BooleanField(read_only=True)
    is_on_time = serializers.BooleanField(read_only=True, allow_null=True)

    class Meta:
        model = ImplementationMilestone
        fields = [
            "kind",
            "label",
            "position",
            "planned_on",
            "actual_on",
            "is_done",
            "is_on_time",
            "notes",
            "logged_by",
            "logged_at",
        ]
        read_only_fields = fields


class MilestoneChangeSerializer(serializers.Serializer):
    """The body of a milestone's PATCH: a field left out keeps its value."""

    planned_on = serializers.DateField(required=False)
    actual_on = serializers.DateField(
        required=False,
        help_text="The day it was done. Go-live needs every readiness condition met.",
    )
    notes = serializers.CharField(required=False, allow_blank=True)
    ae_attended = serializers.BooleanField(
        required=False,
        allow_null=True,
        help_text="Whether the AE attended: needed with the kickoff's actual_on.",
    )

    def validate(self, values):
        if not values:
            raise serializers.ValidationError(
                "Send at least one of planned_on, actual_on, notes, ae_attended."
            )
        return values


class ReadinessConditionSerializer(serializers.ModelSerializer):
    label = serializers.CharField(source="get_key_display", read_only=True)

    class Meta:
        model = ReadinessCondition
        fields = [
            "key",
            "label",
            "position",
            "owner_name",
            "evidence",
            "is_met",
            "confirmed_by",
            "confirmed_at",
        ]
        read_only_fields = fields


class ReadinessChangeSerializer(serializers.Serializer):
    """The body of a condition's PATCH: a field left out keeps its value."""

    owner_name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    evidence = serializers.CharField(required=False, allow_blank=True)
    is_met = serializers.BooleanField(
        required=False,
        allow_null=True,
        help_text="Met needs an owner and evidence; once live it stays met.",
    )

    def validate(self, values):
        if not values:
            raise serializers.ValidationError(
                "Send at least one of owner_name, evidence, is_met."
            )
        return values


class UnmetConditionSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()


class ReadinessRefusalSerializer(serializers.Serializer):
    """Go-live refused: the conditions that do not hold yet."""

    detail = serializers.CharField()
    # Absent from the other 409, a request whose Idempotency-Key still runs.
    readiness = UnmetConditionSerializer(
        many=True, required=False, help_text="The conditions not met yet."
    )


class EngagementCommentSerializer(serializers.ModelSerializer):
    class Meta:
        model = EngagementComment
        fields = ["id", "author_name", "is_from_partner", "body", "created_at"]
        read_only_fields = ["id", "author_name", "is_from_partner", "created_at"]


class BriefItemSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    kind = serializers.ChoiceField(choices=["text", "rows"])
    value = serializers.JSONField(
        allow_null=True,
        help_text="Text, or for rows a list of objects by part key; null if empty.",
    )


class BriefSectionSerializer(serializers.Serializer):
    section = serializers.CharField()
    items = BriefItemSerializer(many=True)


class EngagementSerializer(serializers.ModelSerializer):
    """An engagement whole, as the partner works it: who, its state, its
    milestones and readiness, and the brief (the packet handed over)."""

    deal = ReferenceSerializer(read_only=True)
    account = ReferenceSerializer(read_only=True, allow_null=True)
    ae = VendorPersonSerializer(read_only=True, allow_null=True)
    implementation_lead = VendorPersonSerializer(read_only=True, allow_null=True)
    milestones = ImplementationMilestoneSerializer(many=True, read_only=True)
    readiness = ReadinessConditionSerializer(many=True, read_only=True)
    is_ready_for_go_live = serializers.SerializerMethodField()
    packet = serializers.SerializerMethodField()

    class Meta:
        model = Engagement
        fields = [
            "id",
            "status",
            "deal",
            "account",
            "ae",
            "implementation_lead",
            "assigned_at",
            "ae_attended_kickoff",
            "hypercare_ends_on",
            "first_value_on",
            "updated_at",
            "milestones",
            "readiness",
            "is_ready_for_go_live",
            "packet",
        ]
        read_only_fields = fields

    def get_is_ready_for_go_live(self, engagement) -> bool:
        # From the prefetched rows: a query here would be one per row listed.
        return all(condition.is_met for condition in engagement.readiness.all())

    @extend_schema_field(BriefSectionSerializer(many=True))
    def get_packet(self, engagement) -> list[dict]:
        """The packet as the AE handed it over, by section in template order.

        Every item of the template, its value null when the packet has none.
        """
        packet = engagement.handoff.packet or {}
        sections: dict[str, list[dict]] = {}
        for item in self.context["packet_items"]:
            value = packet.get(item.key)
            if isinstance(value, str):
                value = value.strip()
            sections.setdefault(item.section, []).append(
                {
                    "key": item.key,
                    "label": item.label,
                    "kind": item.kind,
                    "value": value or None,
                }
            )
        return [
            {"section": section, "items": items} for section, items in sections.items()
        ]


# A packet by item key: text, or rows as objects of text by part key. The
# items themselves are data, the template's (`items` of the CS packet's GET),
# not schema.
PACKET_SCHEMA = {
    "type": "object",
    "additionalProperties": {
        "oneOf": [
            {"type": "string"},
            {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": {"type": "string"},
                },
            },
        ]
    },
}


@extend_schema_field(PACKET_SCHEMA)
class PacketField(serializers.JSONField):
    """A packet as stored: text items as strings, row items as lists."""


class CsHandoffSerializer(serializers.ModelSerializer):
    """The Implementation -> CS handoff, as far as the partner follows it."""

    label = serializers.CharField(source="get_state_display", read_only=True)

    class Meta:
        model = Handoff
        fields = ["state", "label", "opened_at", "accepted_at", "rejection_reason"]
        read_only_fields = fields


class CsPacketSerializer(serializers.Serializer):
    """The CS packet of an engagement, and where its hand-over stands."""

    items = PacketItemSerializer(
        many=True, help_text="The template's items: what a packet holds, in order."
    )
    is_open = serializers.BooleanField(
        help_text="Whether a PUT is taken now: until customer success has the "
        "packet, and again while they have sent it back."
    )
    packet = PacketField(help_text="The packet as last saved, by item key.")
    completeness = serializers.IntegerField(
        help_text="The share of required items the saved packet has, in percent."
    )
    missing = MissingItemSerializer(
        many=True, help_text="The required items the saved packet lacks."
    )
    proposals = PacketField(
        help_text="Bowtie's values for the items the saved packet leaves empty, "
        "from what it knows of the engagement; saved only if sent in a PUT."
    )
    handoff = CsHandoffSerializer(
        allow_null=True, help_text="Null until the account is handed over."
    )


class CsPacketChangeSerializer(serializers.Serializer):
    """The body of the CS packet's PUT: the packet whole.

    An item left out is stored empty; rows with nothing in them are dropped,
    as on the partner area's form.
    """

    packet = PacketField(help_text="By item key: text, or a list of rows by part key.")

    def validate_packet(self, packet):
        if not isinstance(packet, dict):
            raise serializers.ValidationError(
                "Send the packet as an object keyed by item."
            )

        items = {item.key: item for item in self.context["packet_items"]}
        cleaned, errors = {}, {}
        for key, value in packet.items():
            item = items.get(key)
            if item is None:
                errors[key] = [
                    f"Not an item of the CS packet; its items are {', '.join(items)}."
                ]
            elif item.kind == "rows":
                cleaned[key], problems = clean_rows(item, value)
                if problems:
                    errors[key] = problems
            elif isinstance(value, str):
                cleaned[key] = value.strip()
            else:
                errors[key] = ["Send this item as text."]
        if errors:
            raise serializers.ValidationError(errors)
        return cleaned


def clean_rows(item, value) -> tuple[list[dict], list[str]]:
    """The rows with their text stripped, the empty ones left out, and what
    is wrong with each of the others."""
    if not isinstance(value, list):
        return [], ["Send this item as a list of rows."]

    parts = [part["key"] for part in item.parts]
    rows, problems = [], []
    for number, row in enumerate(value, start=1):
        if not isinstance(row, dict):
            problems.append(f"Row {number}: send it as an object by part.")
            continue
        unknown = [key for key in row if key not in parts]
        not_text = [key for key in parts if not isinstance(row.get(key, ""), str)]
        if unknown:
            problems.append(
                f"Row {number}: {', '.join(unknown)} is not a part; the parts "
                f"are {', '.join(parts)}."
            )
        if not_text:
            problems.append(f"Row {number}: send {', '.join(not_text)} as text.")
        if unknown or not_text:
            continue
        cleaned = {key: row.get(key, "").strip() for key in parts}
        problems += off_choices(item, number, cleaned)
        if any(cleaned.values()):
            rows.append(cleaned)
    return rows, problems


def off_choices(item, number: int, row: dict) -> list[str]:
    """A part with choices takes one of them, as the form's list offers; empty
    is left to the packet's completeness."""
    return [
        f"Row {number}: {part['key']} is one of {', '.join(part['choices'])}."
        for part in item.parts
        if part.get("choices") and row[part["key"]] not in ["", *part["choices"]]
    ]


class PacketRefusalSerializer(serializers.Serializer):
    """The hand-over refused: the packet lacks required items."""

    detail = serializers.CharField()
    # Absent from the other 409, a request whose Idempotency-Key still runs.
    missing = MissingItemSerializer(
        many=True, required=False, help_text="The required items the packet lacks."
    )
