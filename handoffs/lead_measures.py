"""The Marketing → Sales metrics of the bow-tie dashboard (DESIGN.md §7).

Every figure is an aggregate in the database over the leads received in the
period; imported history is left out, because its receipt time is the
import's and its outcome the source system's.
"""

from django.db.models import Count, Q
from django.db.models.functions import TruncWeek
from django.urls import reverse

from bowtie import measurement
from bowtie.measurement import (
    Column,
    Definition,
    Metric,
    Reading,
    Records,
    Scope,
    Target,
    Unit,
    weekly_points,
)
from handoffs.models import Lead

CLOSED_STATUSES = (Lead.Status.QUALIFIED, Lead.Status.DISQUALIFIED, Lead.Status.NURTURE)
SEGMENT_TEXT = "The lead's head count as given on the lead."
TEAM_TEXT = "The team the lead was routed to; leads no rule routed have none."


def received_leads(scope: Scope):
    return Lead.objects.filter(
        scope.team_filter("team"),
        scope.segment_filter("employee_count"),
        is_historical=False,
        received_at__gte=scope.since,
        received_at__lt=scope.until,
    )


def percent(part: int, whole: int) -> float | None:
    return 100 * part / whole if whole else None


# MQL → SQL conversion ---------------------------------------------------------

QUALIFIED = Count("pk", filter=Q(status=Lead.Status.QUALIFIED))
CLOSED = Count("pk")


def closed_leads(scope: Scope):
    return received_leads(scope).filter(status__in=CLOSED_STATUSES)


def measure_conversion(scope: Scope, now) -> Reading:
    leads = closed_leads(scope)
    totals = leads.aggregate(qualified=QUALIFIED, closed=CLOSED)
    weeks = (
        leads.annotate(week=TruncWeek("received_at"))
        .values("week")
        .annotate(qualified=QUALIFIED, closed=CLOSED)
        .values_list("week", "qualified", "closed")
        .order_by("week")
    )
    return Reading(
        value=percent(totals["qualified"], totals["closed"]),
        count=totals["closed"],
        series=weekly_points(
            scope,
            (
                (week, percent(qualified, closed), closed)
                for week, qualified, closed in weeks
            ),
        ),
        details=(("qualified", totals["qualified"]),),
    )


def lead_name(lead: Lead) -> str:
    name = f"{lead.first_name} {lead.last_name}".strip()
    return name or lead.email or f"Lead {lead.pk}"


def conversion_records(scope: Scope, now) -> Records:
    return Records(
        rows=closed_leads(scope).select_related("team").order_by("-received_at", "pk"),
        columns=(
            Column("Lead", lead_name),
            Column("Company", lambda lead: lead.company_name),
            Column("Team", lambda lead: lead.team),
            Column("Received", lambda lead: f"{lead.received_at:%Y-%m-%d %H:%M}"),
            Column("Outcome", lambda lead: lead.get_status_display()),
        ),
        url_of=lambda lead: reverse("lead-detail", args=[lead.pk]),
    )


CONVERSION = Metric(
    key="mql_to_sql_conversion",
    handoff=measurement.Handoff.LEAD_TO_SALES,
    label="MQL → SQL conversion",
    unit=Unit.PERCENT,
    target=Target(minimum=25, maximum=35),
    definition=Definition(
        records="Live leads received in the period whose cycle has closed: "
        "qualified, disqualified or sent back to nurture.",
        clock="None: the share of those leads that sales qualified (SQL).",
        period="By the day each lead was received; the weeks of the chart too.",
        team=TEAM_TEXT,
        segment=SEGMENT_TEXT,
    ),
    measure=measure_conversion,
    records=conversion_records,
    position=20,
)


def register() -> None:
    measurement.register(CONVERSION)
