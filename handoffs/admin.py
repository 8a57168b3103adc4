"""Admin for handoff configuration; leads and handoffs are read-only here.

Leads change only through the services (intake, accept, touch, disposition),
so the admin shows them with their history but does not edit them.
"""

from django.contrib import admin
from django.utils import timezone
from simple_history.admin import SimpleHistoryAdmin

from handoffs.clocks import apply_policy_change
from handoffs.models import (
    EscalationRule,
    Handoff,
    ImportMapping,
    LadderStep,
    Lead,
    Milestone,
    RoutingDecision,
    RoutingRule,
    ScoringModel,
    SlaPolicy,
    Touch,
)


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
        "started_at",
        "due_at",
        "met_at",
        "breached_at",
    ]
    fields = readonly_fields

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
    inlines = [MilestoneInline]


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
        "target_seconds",
        "clock_type",
        "is_active",
    ]
    list_filter = ["handoff_kind", "clock_type", "is_active"]

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
