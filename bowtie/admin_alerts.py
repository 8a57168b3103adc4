"""Admin pages of the leading indicators and the alerts they raise.

An indicator's threshold, window, minimum and switch change here only
through `update_indicator`, as on the settings page, so the same rules and
history hold; alerts are written by the evaluation alone and only read here.
"""

from django import forms
from django.contrib import admin
from django.utils import timezone
from simple_history.admin import SimpleHistoryAdmin

from bowtie.indicators import (
    IndicatorRefused,
    check_indicator_values,
    may_edit_indicators,
    update_indicator,
)
from bowtie.models import Alert, Indicator

EDITED = ["threshold", "window_days", "minimum_count", "is_enabled"]


class IndicatorForm(forms.ModelForm):
    class Meta:
        model = Indicator
        fields = EDITED

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            check_indicator_values(
                self.instance, **{name: cleaned[name] for name in EDITED}
            )
        except IndicatorRefused as refusal:
            for field, text in refusal.errors.items():
                self.add_error(field if field in self.fields else None, text)
        return cleaned


@admin.register(Indicator)
class IndicatorAdmin(SimpleHistoryAdmin):
    form = IndicatorForm
    list_display = [
        "label",
        "metric_key",
        "kind",
        "threshold",
        "window_days",
        "minimum_count",
        "is_enabled",
        "updated_by",
        "updated_at",
    ]
    list_filter = ["kind", "is_enabled"]
    readonly_fields = ["key", "label", "metric_key", "kind", "updated_by", "updated_at"]
    fields = ["key", "label", "metric_key", "kind", *EDITED, "updated_by", "updated_at"]

    def has_add_permission(self, request):
        # The indicators are the five of DESIGN.md §7, seeded by a migration.
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        person = getattr(request.user, "person", None)
        return super().has_change_permission(request, obj) and may_edit_indicators(
            person
        )

    def save_model(self, request, obj, form, change):
        update_indicator(
            obj.key,
            getattr(request.user, "person", None),
            timezone.now(),
            **{name: form.cleaned_data[name] for name in EDITED},
        )


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    """Read-only: the scheduled evaluation opens and resolves alerts."""

    list_display = [
        "indicator",
        "scope_key",
        "recipient",
        "opened_value",
        "last_value",
        "opened_at",
        "resolved_at",
    ]
    list_filter = ["indicator", "resolved_at"]
    list_select_related = ["indicator", "recipient"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # A deleted open alert would open, and notify, again on the next run.
        return False
