"""Admin for handoff configuration; leads and handoffs are read-only here.

Leads change only through the services (intake, accept, touch, disposition),
so the admin shows them with their history but does not edit them.
"""

from django import forms
from django.contrib import admin, messages
from django.utils import timezone
from simple_history.admin import SimpleHistoryAdmin

from bowtie.admin import DealAdmin
from bowtie.models import Deal, Pipeline, Stage
from bowtie.templatetags.bowtie_format import format_duration
from handoffs.clocks import apply_policy_change
from handoffs.closing import close_deal_won, packet_items
from handoffs.models import (
    EscalationRule,
    Handoff,
    HandoffParticipant,
    ImportMapping,
    LadderStep,
    Lead,
    Milestone,
    PacketItem,
    PacketTemplate,
    RoutingDecision,
    RoutingRule,
    ScoringModel,
    SlaPolicy,
    Touch,
)
from handoffs.packets import assess_packet
from handoffs.renewals import is_renewal_won, open_next_term


class ReadOnlyAdmin(SimpleHistoryAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class TouchInline(admin.TabularInline):
    model = Touch
    extra = 0
    can_delete = False
    readonly_fields = ["kind", "actor", "channel", "occurred_at", "notes"]
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):
        return False


class DecisionInline(TouchInline):
    model = RoutingDecision
    readonly_fields = ["decided_at", "step", "rule", "team", "person", "reason"]
    fields = readonly_fields


@admin.register(Lead)
class LeadAdmin(ReadOnlyAdmin):
    list_display = [
        "display_name",
        "email",
        "lead_type",
        "status",
        "owner",
        "team",
        "score",
        "received_at",
        "first_response_at",
    ]
    list_filter = ["status", "lead_type", "channel", "team", "is_historical"]
    search_fields = ["email", "first_name", "last_name", "company_name", "external_id"]
    list_select_related = ["owner", "team"]
    date_hierarchy = "received_at"
    inlines = [DecisionInline, TouchInline]


class MilestoneInline(admin.TabularInline):
    model = Milestone
    extra = 0
    can_delete = False
    readonly_fields = [
        "label",
        "clock_type",
        "owed_by",
        "started_at",
        "due_at",
        "met_at",
        "breached_at",
    ]
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):
        return False


class ParticipantInline(admin.TabularInline):
    model = HandoffParticipant
    extra = 0
    can_delete = False
    fields = ["person", "role", "joins_kickoff", "copy_ends_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Handoff)
class HandoffAdmin(ReadOnlyAdmin):
    list_display = [
        "__str__",
        "kind",
        "state",
        "receiving_team",
        "receiver",
        "opened_at",
    ]
    list_filter = ["kind", "state", "receiving_team"]
    list_select_related = ["receiving_team", "receiver"]
    inlines = [MilestoneInline, ParticipantInline]


@admin.register(RoutingRule)
class RoutingRuleAdmin(SimpleHistoryAdmin):
    list_display = ["priority", "name", "team", "is_active", "is_default"]
    list_display_links = ["name"]
    list_editable = ["is_active"]
    ordering = ["priority"]


class EscalationRuleInline(admin.TabularInline):
    """The policy's ladder.

    A changed timing reaches the rungs still waiting on running clocks; a
    rung switched off or deleted closes where it waits; a new rung applies to
    clocks started afterwards.
    """

    model = EscalationRule
    extra = 0
    fields = ["action", "anchor", "percent_of_target", "elapsed_seconds", "is_active"]


class LadderStepInline(admin.TabularInline):
    model = LadderStep
    extra = 0
    can_delete = False
    fields = ["action", "rule_text", "due_at", "taken_at", "outcome"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(SlaPolicy)
class SlaPolicyAdmin(SimpleHistoryAdmin):
    inlines = [EscalationRuleInline]
    list_display = [
        "handoff_kind",
        "milestone_key",
        "lead_type",
        "label",
        "target",
        "clock_type",
        "starts_when",
        "is_active",
    ]
    list_filter = ["handoff_kind", "clock_type", "starts_when", "is_active"]

    @admin.display(description="Target", ordering="target_seconds")
    def target(self, policy):
        return format_duration(policy.target_seconds)

    def save_related(self, request, form, formsets, change):
        # Target, clock type and ladder are saved by now, inside the admin's
        # transaction: the running clocks follow them in it.
        super().save_related(request, form, formsets, change)
        if change:
            apply_policy_change(form.instance, timezone.now())


@admin.register(ScoringModel)
class ScoringModelAdmin(SimpleHistoryAdmin):
    list_display = ["__str__", "updated_at"]

    def has_add_permission(self, request):
        return not ScoringModel.objects.exists()


@admin.register(ImportMapping)
class ImportMappingAdmin(SimpleHistoryAdmin):
    list_display = ["source", "description"]


@admin.register(Milestone)
class MilestoneAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "key", "due_at", "met_at", "breached_at"]
    list_filter = ["key", "clock_type"]
    inlines = [LadderStepInline]


class GatedDealForm(forms.ModelForm):
    """A deal's form that refuses Closed Won while the packet is incomplete.

    The stage itself is moved by `close_deal_won` on save, so the admin takes
    the same path as every other door.
    """

    def clean(self):
        cleaned = super().clean()
        stage = cleaned.get("stage")
        stored = Deal.objects.filter(pk=self.instance.pk).first()
        was_won = stored is not None and stored.stage.outcome == Stage.Outcome.WON
        reopens = stage is not None and stage.outcome != Stage.Outcome.WON
        if was_won and reopens and not stored.is_historical:
            raise forms.ValidationError(
                {"stage": "A won deal stays won: its handoff and renewal exist."}
            )
        if stage is None or stage.outcome != Stage.Outcome.WON or was_won:
            return cleaned
        if stored is not None and stored.is_historical:
            return cleaned
        if self.instance.pk is None:
            raise forms.ValidationError(
                {"stage": "Create the deal open, fill in its packet, then close it."}
            )
        if stage.pipeline.kind != Pipeline.Kind.NEW_BUSINESS:
            # A plain move; a renewal won opens its next term on save, which
            # starts the day after the renewed term ends.
            ends_on = cleaned.get("expected_close_on")
            if stage.pipeline.kind == Pipeline.Kind.RENEWALS and not ends_on:
                raise forms.ValidationError(
                    {"expected_close_on": "Give the day the renewed term ends."}
                )
            return cleaned
        if stored.stage.outcome == Stage.Outcome.LOST:
            raise forms.ValidationError(
                {"stage": "A lost deal cannot be closed won; reopen it first."}
            )
        errors = {}
        if not cleaned.get("owner"):
            errors["owner"] = "Give the deal an owner, the AE, before closing it."
        if (cleaned.get("term_months") or 0) < 1:
            errors["term_months"] = "A term lasts at least one month."
        packet = cleaned.get("packet") or {}
        assessment = assess_packet(packet_items(), packet)
        if not assessment.is_complete:
            errors["stage"] = [missing.text for missing in assessment.missing]
        if errors:
            raise forms.ValidationError(errors)
        return cleaned


class PacketItemInline(admin.TabularInline):
    model = PacketItem
    extra = 0
    fields = ["position", "section", "label", "key", "kind", "parts", "is_required"]


@admin.register(PacketTemplate)
class PacketTemplateAdmin(SimpleHistoryAdmin):
    """What must transfer at a handoff; required items gate Closed Won."""

    list_display = ["name", "handoff_kind", "updated_at"]
    inlines = [PacketItemInline]


class GatedDealAdmin(DealAdmin):
    form = GatedDealForm
    # Set by importers and the packet service only: a live deal ticked as
    # history would skip the gate, and a typed score would lie.
    readonly_fields = ["is_historical", "packet_completeness"]

    def get_readonly_fields(self, request, obj=None):
        # A won live deal stays as it was closed, as on every other door.
        if obj is not None and obj.stage.outcome == Stage.Outcome.WON:
            if not obj.is_historical:
                return [field.name for field in Deal._meta.fields]
        return super().get_readonly_fields(request, obj)

    def save_model(self, request, obj, form, change):
        if "packet" in form.changed_data and obj.pk is not None:
            # The stored score follows the packet, as the deal page keeps it.
            obj.packet_completeness = assess_packet(
                packet_items(), obj.packet or {}
            ).completeness
        closing = (
            change
            and "stage" in form.changed_data
            and obj.stage.outcome == Stage.Outcome.WON
            and obj.pipeline.kind == Pipeline.Kind.NEW_BUSINESS
            and not Deal.objects.get(pk=obj.pk).is_historical
        )
        if not closing:
            super().save_model(request, obj, form, change)
            if change and "stage" in form.changed_data and is_renewal_won(obj):
                renewal = open_next_term(obj, timezone.now())
                messages.success(request, f"Next term's renewal {renewal.pk} opened.")
            return
        # Everything but the stage first; the close then moves the stage.
        won_stage = obj.stage
        obj.stage = Deal.objects.get(pk=obj.pk).stage
        super().save_model(request, obj, form, change)
        result = close_deal_won(obj, now=timezone.now())
        obj.stage = won_stage
        messages.success(
            request, f"Closed won: implementation handoff {result.handoff.pk} opened."
        )


admin.site.unregister(Deal)
admin.site.register(Deal, GatedDealAdmin)
