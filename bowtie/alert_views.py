"""Alerts and the indicators behind them: /alerts/ and /settings/indicators/.

Everyone sees the alerts of the teams whose figures they see, and company
alerts when their dashboard covers the whole company. RevOps admins edit
the indicators through `update_indicator`; everyone else reads them.
"""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from bowtie import measurement
from bowtie.access import person_required
from bowtie.indicators import (
    AlertRow,
    IndicatorRefused,
    alert_chart,
    alerts_visible_to,
    message_of,
    unit_suffix,
    update_indicator,
)
from bowtie.models import Indicator, JobHeartbeat, Person

RESOLVED_SHOWN = 50
CHANGES_SHOWN = 20
EDITED_FIELDS = ("threshold", "window_days", "minimum_count")


@person_required()
def alert_list(request, person):
    """Open alerts first, newest first; then the latest resolved ones."""
    alerts = alerts_visible_to(person)
    return render(
        request,
        "bowtie/alert_list.html",
        {
            "open_rows": [
                AlertRow(alert)
                for alert in alerts.filter(resolved_at__isnull=True).order_by(
                    "-opened_at", "-pk"
                )
            ],
            "resolved_rows": [
                AlertRow(alert)
                for alert in alerts.filter(resolved_at__isnull=False).order_by(
                    "-resolved_at", "-pk"
                )[:RESOLVED_SHOWN]
            ],
            "may_edit": person.role == Person.Role.REVOPS_ADMIN,
            "last_evaluated_at": JobHeartbeat.objects.filter(name="evaluate-indicators")
            .values_list("last_succeeded_at", flat=True)
            .first(),
        },
    )


@person_required()
def alert_detail(request, person, pk):
    alert = get_object_or_404(alerts_visible_to(person), pk=pk)
    evidence = alert.evidence
    return render(
        request,
        "bowtie/alert_detail.html",
        {
            "alert": alert,
            "row": AlertRow(alert),
            "evidence": evidence,
            "suffix": unit_suffix(alert),
            "chart": alert_chart(alert),
            "opened_body": message_of(alert, "opened")[1],
            "resolved_body": message_of(alert, "resolved")[1]
            if alert.resolved_at
            else "",
        },
    )


def threshold_text(indicator: Indicator) -> str:
    return f"{indicator.threshold.normalize():f}"


def posted_values(request, indicator: Indicator) -> dict:
    values = {
        field: request.POST.get(f"{indicator.key}-{field}", "").strip()
        for field in EDITED_FIELDS
    }
    values["is_enabled"] = f"{indicator.key}-is_enabled" in request.POST
    return values


def current_values(indicator: Indicator) -> dict:
    return {
        "threshold": threshold_text(indicator),
        "window_days": str(indicator.window_days),
        "minimum_count": str(indicator.minimum_count),
        "is_enabled": indicator.is_enabled,
    }


@person_required()
def indicator_settings(request, person):
    """Every indicator's threshold, window and switch; RevOps admins edit them."""
    may_edit = person.role == Person.Role.REVOPS_ADMIN
    indicators = list(Indicator.objects.all())
    errors: dict[str, dict[str, str]] = {}
    posted: dict[str, dict] = {}
    if request.method == "POST":
        if not may_edit:
            messages.error(request, "Only RevOps admins change indicators.")
            return redirect("indicator-settings")
        changed = 0
        for indicator in indicators:
            values = posted_values(request, indicator)
            if values == current_values(indicator):
                continue
            try:
                update_indicator(indicator.key, person, timezone.now(), **values)
                changed += 1
            except IndicatorRefused as refusal:
                errors[indicator.key] = refusal.errors
                posted[indicator.key] = values
        if not errors:
            messages.success(
                request, f"{changed} indicator{'s' if changed != 1 else ''} saved."
            )
            return redirect("indicator-settings")
        messages.error(
            request, "Some indicators were not saved; see the reasons below."
        )
        indicators = list(Indicator.objects.all())

    rows = []
    for indicator in indicators:
        metric = measurement.REGISTRY.get(indicator.metric_key)
        rows.append(
            {
                "indicator": indicator,
                "metric": metric,
                "suffix": measurement.Unit.suffixes[metric.unit].strip()
                if metric
                else "",
                "values": posted.get(indicator.key, current_values(indicator)),
                "errors": errors.get(indicator.key, {}),
            }
        )
    changes = (
        Indicator.history.filter(history_type="~")
        .select_related("updated_by")
        .order_by("-history_date", "-history_id")[:CHANGES_SHOWN]
    )
    return render(
        request,
        "bowtie/indicator_settings.html",
        {"rows": rows, "may_edit": may_edit, "changes": changes},
    )
