"""The admin's engagement pages: to read, never to edit.

Engagements change only through `partners.services` (assignment on the
handoff page, milestones and readiness in the partner area, the vendor's
engagement page or the partner API), so the go-live gate and the partner
boundary hold on every path. Here RevOps reads an engagement with its
milestones, readiness, thread and sessions, and its history.
"""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from partners.models import (
    CustomerSession,
    Engagement,
    EngagementComment,
    ImplementationMilestone,
    ReadinessCondition,
)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class MilestoneInline(ReadOnlyInline):
    model = ImplementationMilestone
    fields = ["kind", "planned_on", "actual_on", "notes", "logged_by", "logged_at"]
    readonly_fields = fields


class ReadinessInline(ReadOnlyInline):
    model = ReadinessCondition
    fields = ["key", "owner_name", "evidence", "is_met", "confirmed_by", "confirmed_at"]
    readonly_fields = fields


class CommentInline(ReadOnlyInline):
    model = EngagementComment
    fields = ["created_at", "author_name", "is_from_partner", "body"]
    readonly_fields = fields


class SessionInline(ReadOnlyInline):
    model = CustomerSession
    fields = ["held_on", "kind", "title", "logged_by"]
    readonly_fields = fields


@admin.register(Engagement)
class EngagementAdmin(SimpleHistoryAdmin):
    list_display = [
        "deal",
        "account",
        "delivered_by",
        "status",
        "ae",
        "implementation_lead",
        "assigned_at",
        "hypercare_ends_on",
    ]
    list_filter = ["status", "partner"]
    search_fields = ["deal__name", "account__name", "partner__name"]
    list_select_related = ["deal", "account", "partner", "ae", "implementation_lead"]
    date_hierarchy = "assigned_at"
    inlines = [MilestoneInline, ReadinessInline, CommentInline, SessionInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
