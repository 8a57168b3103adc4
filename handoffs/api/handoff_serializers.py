"""Handoffs, their milestones and the packet templates, as the API shows them.

A handoff comes whole: its packet, clocks, participants, tasks and rating,
so that a sync reads one handoff in one request. Related rows are ids. The
input serializers check the bodies of the actions before the services take
them; the services check the rules.
"""

from rest_framework import serializers

from handoffs.models import (
    Handoff,
    HandoffParticipant,
    HandoffRating,
    HandoffTask,
    Milestone,
    PacketItem,
    PacketTemplate,
)
from handoffs.models.packets import RATING_DIMENSIONS


class MilestoneSerializer(serializers.ModelSerializer):
    is_running = serializers.BooleanField(read_only=True)

    class Meta:
        model = Milestone
        fields = [
            "id",
            "handoff",
            "key",
            "label",
            "owed_by",
            "clock_type",
            "target_seconds",
            "started_at",
            "due_at",
            "met_at",
            "breached_at",
            "owner_at_breach",
            "is_running",
        ]
        read_only_fields = fields


class HandoffParticipantSerializer(serializers.ModelSerializer):
    class Meta:
        model = HandoffParticipant
        fields = ["person", "role", "joins_kickoff", "copy_ends_at"]
        read_only_fields = fields


class HandoffTaskSerializer(serializers.ModelSerializer):
    class Meta:
        model = HandoffTask
        fields = ["id", "title", "owner", "due_at", "done_at"]
        read_only_fields = fields


class HandoffRatingSerializer(serializers.ModelSerializer):
    """The receivers' marks as read, and the body of `rate` as sent."""

    average = serializers.FloatField(read_only=True)
    comment = serializers.CharField(required=False, allow_blank=True, default="")

    class Meta:
        model = HandoffRating
        fields = [
            *(name for name, _ in RATING_DIMENSIONS),
            "comment",
            "average",
            "rated_by",
            "rated_at",
        ]
        read_only_fields = ["rated_by", "rated_at"]
        extra_kwargs = {
            name: {"min_value": 1, "max_value": 5} for name, _ in RATING_DIMENSIONS
        }


class HandoffRejectionSerializer(serializers.Serializer):
    reason = serializers.CharField(
        help_text="What is missing or wrong; the AE reads it."
    )


class HandoffCompletionSerializer(serializers.Serializer):
    stage = serializers.CharField(
        help_text="The won or lost stage of the deal's pipeline, by its id or "
        "its name in any case."
    )


class HandoffSerializer(serializers.ModelSerializer):
    milestones = MilestoneSerializer(many=True, read_only=True)
    participants = HandoffParticipantSerializer(many=True, read_only=True)
    tasks = HandoffTaskSerializer(many=True, read_only=True)
    rating = HandoffRatingSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Handoff
        fields = [
            "id",
            "kind",
            "state",
            "lead",
            "deal",
            "account",
            "sending_team",
            "sender",
            "receiving_team",
            "receiver",
            "packet",
            "involvement",
            "annual_value_eur",
            "rejection_reason",
            "opened_at",
            "accepted_at",
            "closed_at",
            "updated_at",
            "milestones",
            "participants",
            "tasks",
            "rating",
        ]
        read_only_fields = fields


class PacketItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = PacketItem
        fields = [
            "key",
            "section",
            "label",
            "help_text",
            "kind",
            "parts",
            "is_required",
            "position",
        ]
        read_only_fields = fields


class PacketTemplateSerializer(serializers.ModelSerializer):
    items = PacketItemSerializer(many=True, read_only=True)

    class Meta:
        model = PacketTemplate
        fields = ["id", "handoff_kind", "name", "updated_at", "items"]
        read_only_fields = fields
