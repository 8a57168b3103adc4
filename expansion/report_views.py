"""Pages of the expansion reports and of the renewal book.

- /reports/expansion/: the figures of `expansion.reports` for a period,
  charts first, then tables, and the same figures as CSV; managers and
  RevOps.
- /renewals/: the open renewals a person may open, with their actions.
- /renewals/<pk>/roi-report/: the customer's ROI report, as a page or a PDF.
- /renewal-actions/<pk>/done/: mark an action done.
"""

import copy
import csv
import math
from datetime import date, timedelta
from urllib.parse import urlencode

import pygal
from dateutil.relativedelta import relativedelta
from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Prefetch, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from pygal.style import Style

from bowtie.access import person_required
from bowtie.charts import (
    ALERT_COLOUR,
    CHART_WIDTH,
    MEDIAN_COLOUR,
    P90_COLOUR,
    RATE_COLOUR,
    STYLE,
)
from bowtie.charts import render as render_chart
from bowtie.models import Deal, Person, Pipeline
from expansion import reports
from expansion.models import RenewalAction
from expansion.renewal_actions import (
    build_roi_report,
    complete_renewal_action,
    plan_for,
    renewal_book,
    roi_report_pdf,
)
from handoffs.charts import axis_ticks, chart_height
from handoffs.queries import MANAGING_ROLES, visible_deals
from handoffs.services import ActionRefused
from handoffs.views import csv_number

TARGET_COLOUR = "#9aa5b1"
RENEWALS_PER_PAGE = 100


class PeriodForm(forms.Form):
    """The report's period, both days included; a year to today by default."""

    starts_on = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    ends_on = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    def default_period(self) -> reports.Period:
        return reports.Period(
            self.today - relativedelta(years=1) + timedelta(days=1), self.today
        )

    def clean(self):
        cleaned = super().clean()
        default = self.default_period()
        ends_on = cleaned.get("ends_on") or default.ends_on
        starts_on = cleaned.get("starts_on") or (
            ends_on - relativedelta(years=1) + timedelta(days=1)
        )
        if starts_on > ends_on:
            self.add_error("ends_on", "End the period on or after its first day.")
        cleaned["period"] = reports.Period(starts_on, ends_on)
        return cleaned

    def period(self) -> reports.Period:
        if self.is_valid():
            return self.cleaned_data["period"]
        return self.default_period()


# Charts -----------------------------------------------------------------------


def styled(*colours: str) -> Style:
    """The dashboards' style with the series in `colours`, so the legend
    shows the colours the bars are drawn in."""
    style = copy.copy(STYLE)
    style.colors = colours
    return style


def money_ticks(longest: float, most: int = 6) -> list[float]:
    """Round ticks from 0 past `longest`: steps of 1, 2 or 5 times a power of 10."""
    magnitude = 10 ** max(0, math.floor(math.log10(max(longest, 1) / (most - 1))))
    step = next(
        factor * magnitude
        for factor in (1, 2, 5, 10)
        if longest / (factor * magnitude) <= most - 1
    )
    return [step * index for index in range(int(longest // step) + 2)]


def short_money(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if value >= 1_000:
        return f"{value / 1_000:g}k"
    return f"{value:g}"


def horizontal_bar(row_count: int, style: Style = STYLE, **options):
    return pygal.HorizontalBar(
        style=style,
        width=CHART_WIDTH,
        height=chart_height(row_count),
        js=[],
        print_values=True,
        print_values_position="top",
        truncate_label=-1,
        truncate_legend=-1,
        no_data_text="Nothing to show yet",
        **options,
    )


def days_chart(rows: list[reports.GapRow]) -> str:
    """Median and p90 days between linked deals, a pair of bars per group."""
    rows = [row for row in rows if row.deal_count][::-1]
    longest = max((row.p90_days for row in rows), default=1)
    chart = horizontal_bar(
        2 * len(rows),
        legend_at_bottom=True,
        legend_at_bottom_columns=2,
        value_formatter=lambda value: f"{value:g}",
        formatter=lambda value: f"{value:g} days",
        y_labels=axis_ticks(max(longest, 1)),
        x_title="days",
        margin_right=80,
    )
    # pygal draws the first label at the bottom; reversed, they read top-down.
    chart.x_labels = [row.label for row in rows]
    chart.add("median", [row.median_days for row in rows])
    chart.add("p90", [row.p90_days for row in rows])
    return render_chart(chart)


def win_rate_chart(rows: list[reports.WinRateRow]) -> str:
    """Win rate by expansion type beside its target; below target in red."""
    rows = [row for row in rows if row.win_rate is not None][::-1]
    chart = horizontal_bar(
        2 * len(rows),
        style=styled(RATE_COLOUR, TARGET_COLOUR),
        range=(0, 100),
        legend_at_bottom=True,
        legend_at_bottom_columns=2,
        value_formatter=lambda percent: f"{percent:g}",
        formatter=lambda percent: f"{percent:g} %",
        y_labels=[0, 25, 50, 75, 100],
        x_title="%",
        margin_right=50,
    )
    chart.x_labels = [row.label for row in rows]
    chart.add(
        "win rate",
        [
            {
                "value": round(row.win_rate * 100, 1),
                "color": ALERT_COLOUR if row.is_on_target is False else RATE_COLOUR,
            }
            for row in rows
        ],
    )
    chart.add(
        "target",
        [
            {"value": round(row.target * 100, 1), "color": TARGET_COLOUR}
            if row.target is not None
            else None
            for row in rows
        ],
    )
    return render_chart(chart)


def euros(value) -> str:
    return f"EUR {value:,.0f}"


def euro_chart(bars: list[tuple[str, object, str]]) -> str:
    """One bar per (label, EUR value, colour), top-down."""
    bars = bars[::-1]
    longest = max((float(value) for _, value, _ in bars), default=0)
    ticks = money_ticks(longest)
    chart = horizontal_bar(
        len(bars),
        show_legend=False,
        range=(0, ticks[-1]),
        value_formatter=short_money,
        formatter=euros,
        y_labels=ticks,
        x_title="EUR a year",
        margin_right=110,
    )
    chart.x_labels = [label for label, _, _ in bars]
    chart.add(
        "EUR", [{"value": float(value), "color": colour} for _, value, colour in bars]
    )
    return render_chart(chart)


def new_arr_chart(new_arr: reports.NewArr) -> str:
    return euro_chart(
        [
            (
                row.label,
                row.arr,
                MEDIAN_COLOUR if row.key == reports.NEW_BUSINESS else RATE_COLOUR,
            )
            for row in new_arr.rows
        ]
    )


def retention_chart(retention: reports.Retention) -> str:
    """From the cohort's ARR at the start to its ARR at the end."""
    return euro_chart(
        [
            ("ARR at the start", retention.start_arr, MEDIAN_COLOUR),
            ("+ expansion", retention.expansion_arr, RATE_COLOUR),
            ("− contraction", retention.contraction_arr, P90_COLOUR),
            ("− churn", retention.churn_arr, ALERT_COLOUR),
            ("ARR at the end", retention.end_arr, MEDIAN_COLOUR),
        ]
    )


# The expansion report ---------------------------------------------------------


@person_required(*MANAGING_ROLES)
def expansion_report(request, person):
    # TODO(expansion-reports): the figures are the whole company's, for
    # managers too; enough while one sales organisation uses Bowtie. Filter
    # by the teams a manager heads when a second one asks for its own.
    form = PeriodForm(request.GET or None, today=timezone.localdate())
    period = form.period()
    report = reports.expansion_report(period)

    if request.GET.get("format") == "csv":
        return expansion_report_csv(report)

    query = {"starts_on": period.starts_on, "ends_on": period.ends_on}
    context = {
        "form": form,
        "period": period,
        "report": report,
        "retention": report.retention,
        "new_arr": report.new_arr,
        "gap_chart": days_chart(report.gaps),
        "win_rate_chart": win_rate_chart(report.win_rates),
        "new_arr_chart": new_arr_chart(report.new_arr),
        "retention_chart": retention_chart(report.retention),
        "export_query": urlencode({**query, "format": "csv"}),
    }
    return render(request, "expansion/reports/expansion.html", context)


CSV_COLUMNS = ["section", "group", "measure", "value"]


def expansion_report_csv(report: reports.ExpansionReport) -> HttpResponse:
    """Every figure, one per row; days, EUR and rates unformatted."""
    period = report.period
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"expansion-{period.starts_on:%Y-%m-%d}-to-{period.ends_on:%Y-%m-%d}"
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    for row in report.gaps:
        section = "time_between_deals"
        writer.writerow([section, row.label, "deals", row.deal_count])
        writer.writerow(
            [section, row.label, "median_days", csv_number(row.median_days, 1)]
        )
        writer.writerow([section, row.label, "p90_days", csv_number(row.p90_days, 1)])
    for row in report.win_rates:
        section = "win_rate"
        writer.writerow([section, row.label, "won", row.won_count])
        writer.writerow([section, row.label, "lost", row.lost_count])
        writer.writerow([section, row.label, "win_rate", csv_number(row.win_rate, 4)])
        writer.writerow([section, row.label, "target", csv_number(row.target, 4)])
    new_arr = report.new_arr
    for row in new_arr.rows:
        writer.writerow(["new_arr", row.label, "deals", row.deal_count])
        writer.writerow(["new_arr", row.label, "arr_eur", f"{row.arr:.2f}"])
    share = new_arr.expansion_share
    writer.writerow(["new_arr", "all", "arr_eur", f"{new_arr.total_arr:.2f}"])
    writer.writerow(["new_arr", "all", "expansion_share", csv_number(share, 4)])
    writer.writerow(["new_arr", "all", "without_rate", new_arr.unconverted_count])
    retention = report.retention
    for measure, value in [
        ("cohort_accounts", retention.cohort_account_count),
        ("start_arr_eur", f"{retention.start_arr:.2f}"),
        ("expansion_arr_eur", f"{retention.expansion_arr:.2f}"),
        ("contraction_arr_eur", f"{retention.contraction_arr:.2f}"),
        ("churn_arr_eur", f"{retention.churn_arr:.2f}"),
        ("end_arr_eur", f"{retention.end_arr:.2f}"),
        ("net_revenue_retention", csv_number(retention.rate, 4)),
        ("without_rate", retention.unconverted_count),
    ]:
        writer.writerow(["net_revenue_retention", "cohort", measure, value])
    return response


# The renewal book -------------------------------------------------------------


def visible_renewals(person: Person):
    """The book's renewals a person may open, or holds an action of."""
    return renewal_book().filter(
        Q(pk__in=visible_deals(person).values("pk"))
        | Q(pk__in=RenewalAction.objects.filter(owner=person).values("deal"))
    )


def action_rows(renewal: Deal, today: date) -> list[dict]:
    """The renewal's two actions as stored, or as planned until the sweep
    stores them."""
    stored = {action.kind: action for action in renewal.renewal_actions.all()}
    planned = plan_for(renewal.expected_close_on) if renewal.expected_close_on else []
    rows = []
    for plan in planned:
        action = stored.get(plan.kind)
        due_on = action.due_on if action is not None else plan.due_on
        rows.append(
            {
                "kind": plan.kind,
                "label": RenewalAction.Kind(plan.kind).label,
                "action": action,
                "due_on": due_on,
                "ends_on": plan.ends_on,
                "is_overdue": action is not None
                and action.done_at is None
                and due_on < today,
            }
        )
    return rows


@person_required()
def renewal_book_page(request, person):
    today = timezone.localdate()
    renewals = (
        visible_renewals(person)
        .select_related("account", "owner", "renews")
        .prefetch_related(
            Prefetch(
                "renewal_actions", queryset=RenewalAction.objects.order_by("due_on")
            )
        )
        .order_by("expected_close_on", "pk")
    )
    page = Paginator(renewals, RENEWALS_PER_PAGE).get_page(request.GET.get("page"))
    rows = [
        {"renewal": renewal, "actions": action_rows(renewal, today)} for renewal in page
    ]
    context = {"page": page, "rows": rows, "today": today}
    return render(request, "expansion/reports/renewal_book.html", context)


def get_visible_renewal(person: Person, pk: int) -> Deal:
    renewals = Deal.objects.filter(
        Q(pk__in=visible_deals(person).values("pk")) | Q(renewal_actions__owner=person),
        pipeline__kind=Pipeline.Kind.RENEWALS,
        renews__isnull=False,
        is_historical=False,
    ).distinct()
    return get_object_or_404(
        renewals.select_related("account__owner", "owner", "renews"), pk=pk
    )


@person_required()
def roi_report_page(request, person, pk):
    renewal = get_visible_renewal(person, pk)
    report = build_roi_report(renewal, timezone.localdate())

    if request.GET.get("format") == "pdf":
        response = HttpResponse(roi_report_pdf(report), content_type="application/pdf")
        response["Content-Disposition"] = (
            f'attachment; filename="roi-report-{renewal.pk}.pdf"'
        )
        return response
    context = {"renewal": renewal, "report": report}
    return render(request, "expansion/reports/roi_report.html", context)


@require_POST
@person_required()
def renewal_action_done(request, person, pk):
    # Only actions of renewals the person may open: any other id is a 404,
    # so the answer never names another renewal.
    action = get_object_or_404(
        RenewalAction, pk=pk, deal__in=visible_renewals(person).values("pk")
    )
    try:
        complete_renewal_action(action, person)
    except ActionRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, f"{action.get_kind_display()}: done.")
    return redirect(f"{reverse('renewal-book')}#renewal-{action.deal_id}")
