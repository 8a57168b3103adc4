"""Admin for expansion: the signal rules RevOps tunes; signals are read-only.

Signals change only through `expansion.services` (raised, dismissed,
converted), so the admin shows them with their history and edits nothing.
"""

from django import forms
from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from expansion.models import Signal, SignalRule
from expansion.rules import CHECKS


@admin.register(Signal)
class SignalAdmin(SimpleHistoryAdmin):
    list_display = ["account", "kind", "source", "status", "raised_at", "deal"]
    list_filter = ["status", "source", "kind"]
    search_fields = ["account__name", "evidence"]
    list_select_related = ["account", "deal"]
    date_hierarchy = "raised_at"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class SignalRuleForm(forms.ModelForm):
    class Meta:
        model = SignalRule
        fields = ["kind", "is_active", "threshold", "window_days"]

    def clean_kind(self):
        kind = self.cleaned_data["kind"]
        if kind not in CHECKS:
            raise forms.ValidationError(
                "No rule over usage data raises this kind; CSMs and the API do."
            )
        return kind

    def clean_threshold(self):
        threshold = self.cleaned_data["threshold"]
        if threshold is None or threshold < 0:
            raise forms.ValidationError("A threshold is 0 or more.")
        return threshold

    def clean_window_days(self):
        days = self.cleaned_data["window_days"]
        if not days or days > 366:
            raise forms.ValidationError("Give a window from 1 to 366 days.")
        return days


@admin.register(SignalRule)
class SignalRuleAdmin(SimpleHistoryAdmin):
    """The rules of `expansion.rules`: the unit of each threshold is its kind's."""

    form = SignalRuleForm
    list_display = ["kind", "is_active", "threshold", "window_days"]
    list_editable = ["is_active", "threshold", "window_days"]

    def get_readonly_fields(self, request, obj=None):
        # A rule is for one kind: another kind is another rule.
        return ["kind"] if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        return False
