"""The Marketing → Sales metrics of the bow-tie dashboard (DESIGN.md §7).

Every figure is an aggregate in the database over live leads; imported
history is left out, because its receipt time is the import's and its
outcome the source system's. Response times are the seconds stamped on each
lead with its first response (`services.record_first_response`), so business
time is summed, not counted again lead by lead, at read time.
"""

from django.db.models import BooleanField, Count, ExpressionWrapper, Q
from django.urls import reverse

from bowtie import measurement
from bowtie.aggregates import Median, Percentile
from bowtie.measurement import (
    Column,
    Definition,
    Metric,
    Reading,
    Records,
    Scope,
    Target,
    Unit,
    by_week,
    percent,
    weekly_points,
)
from handoffs.metrics import CLOSED_STATUSES, unworked_condition
from handoffs.models import Lead, LeadType
from handoffs.services import DISPOSITIONS

# What sales rejects: the dispositions that reject the lead's handoff
# (disqualified), not those that complete it (qualified, back to nurture).
REJECTED_STATUSES = tuple(
    status for status, outcome in DISPOSITIONS.items() if outcome == "reject"
)
SEGMENT_TEXT = "The lead's head count as given on the lead."
TEAM_TEXT = "The team the lead was routed to; leads no rule routed have none."
MINUTE = 60


def received_leads(scope: Scope):
    return Lead.objects.filter(
        scope.team_filter("team"),
        scope.segment_filter("employee_count"),
        is_historical=False,
        received_at__gte=scope.since,
        received_at__lt=scope.until,
    )


def minutes(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / MINUTE


def weekly_counts(leads, clock: str, **counts) -> tuple[dict, list]:
    """Counts per week of `clock`, and their totals over the period.

    The weeks split the period's rows between them, so each total is the sum
    of its weeks' counts: one grouped query gives the value and the chart.
    """
    weeks = list(by_week(leads, clock, **counts))
    totals = {
        name: sum(week[place] for week in weeks)
        for place, name in enumerate(counts, start=1)
    }
    return totals, weeks


# The drill-down's columns -----------------------------------------------------


def lead_name(lead: Lead) -> str:
    name = f"{lead.first_name} {lead.last_name}".strip()
    return name or lead.email or f"Lead {lead.pk}"


def moment(value) -> str | None:
    return None if value is None else f"{value:%Y-%m-%d %H:%M}"


def response_minutes(lead: Lead) -> float | None:
    if lead.response_seconds is None:
        return None
    return round(lead.response_seconds / MINUTE, 1)


def business_minutes(lead: Lead) -> float | None:
    if lead.business_response_seconds is None:
        return None
    return round(lead.business_response_seconds / MINUTE, 1)


LEAD = Column("Lead", lead_name)
COMPANY = Column("Company", lambda lead: lead.company_name)
TEAM = Column("Team", lambda lead: lead.team.name if lead.team else None)
OWNER = Column("Owner", lambda lead: lead.owner.full_name if lead.owner else None)
RECEIVED = Column("Received (UTC)", lambda lead: moment(lead.received_at))
FIRST_RESPONSE = Column(
    "First response (UTC)", lambda lead: moment(lead.first_response_at)
)
MINUTES = Column("Minutes", response_minutes)
BUSINESS_MINUTES = Column("Business minutes", business_minutes)
STATUS = Column("Status", lambda lead: lead.get_status_display())


def lead_url(lead: Lead) -> str:
    return reverse("lead-detail", args=[lead.pk])


def lead_records(leads, columns: tuple[Column, ...], *ordering: str) -> Records:
    """Leads for the drill-down, newest first along an indexed time."""
    return Records(
        rows=leads.select_related("team", "owner").order_by(*ordering),
        columns=columns,
        url_of=lead_url,
    )


# Speed to lead ----------------------------------------------------------------

SPEED_FIGURES = {
    "median": Median("response_seconds"),
    "p90": Percentile("response_seconds", 0.9),
    "business_median": Median("business_response_seconds"),
    "business_p90": Percentile("business_response_seconds", 0.9),
    "responded": Count("pk"),
}


def responded_hand_raisers(scope: Scope):
    return received_leads(scope).filter(
        lead_type=LeadType.HAND_RAISER, response_seconds__isnull=False
    )


def measure_speed(scope: Scope, now) -> Reading:
    leads = responded_hand_raisers(scope)
    totals = leads.aggregate(**SPEED_FIGURES)
    weeks = by_week(
        leads, "received_at", median=SPEED_FIGURES["median"], responded=Count("pk")
    )
    return Reading(
        value=minutes(totals["median"]),
        count=totals["responded"],
        series=weekly_points(scope, weeks, value_unit=MINUTE),
        details=(
            ("p90", minutes(totals["p90"])),
            ("business median", minutes(totals["business_median"])),
            ("business p90", minutes(totals["business_p90"])),
        ),
    )


def speed_records(scope: Scope, now) -> Records:
    return lead_records(
        responded_hand_raisers(scope),
        (
            LEAD,
            COMPANY,
            TEAM,
            OWNER,
            RECEIVED,
            FIRST_RESPONSE,
            MINUTES,
            BUSINESS_MINUTES,
            STATUS,
        ),
        "-received_at",
        "-pk",
    )


SPEED = Metric(
    key="speed_to_lead",
    handoff=measurement.Handoff.LEAD_TO_SALES,
    label="Speed to lead (hand-raisers)",
    unit=Unit.MINUTES,
    # DESIGN.md §2: under 5 minutes for hand-raisers.
    target=Target(maximum=5),
    definition=Definition(
        records="Live hand-raiser leads (those who asked for sales: a demo, "
        "pricing, a quote, a trial or contact) received in the period that "
        "have a first response; those still waiting count in the unworked "
        "rate instead.",
        clock="From the lead's receipt to its first response: the first call, "
        "e-mail or meeting logged, or its disposition if that came first. The "
        "value is the median in elapsed minutes; beside it the p90 (nearest "
        "rank) and the median and p90 in business minutes of the owner's "
        "working hours as they stood at the response (the team's for a lead "
        "nobody owned).",
        period="By the day each lead was received; the weeks of the chart too.",
        team=TEAM_TEXT,
        segment=SEGMENT_TEXT,
    ),
    measure=measure_speed,
    records=speed_records,
    higher_is_better=False,
    position=10,
)


# Unworked rate ----------------------------------------------------------------


def measure_unworked(scope: Scope, now) -> Reading:
    leads = received_leads(scope)
    # Two queries, not one with a filtered count: see unworked_condition.
    received, weeks = weekly_counts(leads, "received_at", received=Count("pk"))
    unworked, unworked_weeks = weekly_counts(
        leads.filter(unworked_condition(now)), "received_at", unworked=Count("pk")
    )
    unworked_in = dict(unworked_weeks)
    return Reading(
        value=percent(unworked["unworked"], received["received"]),
        count=received["received"],
        series=weekly_points(
            scope,
            (
                (week, percent(unworked_in.get(week, 0), count), count)
                for week, count in weeks
            ),
        ),
        details=(("unworked", unworked["unworked"]),),
    )


def unworked_records(scope: Scope, now) -> Records:
    leads = received_leads(scope).annotate(
        is_unworked=ExpressionWrapper(
            unworked_condition(now), output_field=BooleanField()
        )
    )
    return lead_records(
        leads,
        (
            LEAD,
            COMPANY,
            TEAM,
            OWNER,
            RECEIVED,
            FIRST_RESPONSE,
            MINUTES,
            Column("Unworked", lambda lead: "yes" if lead.is_unworked else "no"),
            STATUS,
        ),
        "-received_at",
        "-pk",
    )


UNWORKED = Metric(
    key="unworked_rate",
    handoff=measurement.Handoff.LEAD_TO_SALES,
    label="Unworked rate",
    unit=Unit.PERCENT,
    target=Target(maximum=5),
    definition=Definition(
        records="Live leads received in the period, of every lead type; "
        "unworked are those without a first response whose first-response "
        "deadline has passed by now.",
        clock="The first-response clock of the lead's type (its SLA policy, "
        "in business or elapsed time): a lead counts as unworked from its due "
        "time until its first response, and not at all if it was answered.",
        period="By the day each lead was received; the weeks of the chart too. "
        "Unworked is judged as of now, whatever the period.",
        team=TEAM_TEXT,
        segment=SEGMENT_TEXT,
    ),
    measure=measure_unworked,
    records=unworked_records,
    higher_is_better=False,
    position=30,
)


# MQL → SQL conversion ---------------------------------------------------------

QUALIFIED = Count("pk", filter=Q(status=Lead.Status.QUALIFIED))
CLOSED = Count("pk")


def closed_leads(scope: Scope):
    return received_leads(scope).filter(status__in=CLOSED_STATUSES)


def measure_conversion(scope: Scope, now) -> Reading:
    totals, weeks = weekly_counts(
        closed_leads(scope), "received_at", qualified=QUALIFIED, closed=CLOSED
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


OUTCOME = Column("Outcome", lambda lead: lead.get_status_display())
CLOSED_AT = Column("Closed (UTC)", lambda lead: moment(lead.closed_at))


def conversion_records(scope: Scope, now) -> Records:
    return lead_records(
        closed_leads(scope),
        (LEAD, COMPANY, TEAM, OWNER, RECEIVED, FIRST_RESPONSE, MINUTES, OUTCOME),
        "-received_at",
        "-pk",
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


# MQL rejection rate -----------------------------------------------------------

REJECTED = Count("pk", filter=Q(status__in=REJECTED_STATUSES))


def worked_to_close(scope: Scope):
    """Live leads sales closed in the period, whenever they were received."""
    return Lead.objects.filter(
        scope.team_filter("team"),
        scope.segment_filter("employee_count"),
        is_historical=False,
        status__in=CLOSED_STATUSES,
        closed_at__gte=scope.since,
        closed_at__lt=scope.until,
    )


def measure_rejection(scope: Scope, now) -> Reading:
    totals, weeks = weekly_counts(
        worked_to_close(scope), "closed_at", rejected=REJECTED, closed=CLOSED
    )
    return Reading(
        value=percent(totals["rejected"], totals["closed"]),
        count=totals["closed"],
        series=weekly_points(
            scope,
            (
                (week, percent(rejected, closed), closed)
                for week, rejected, closed in weeks
            ),
        ),
        details=(("rejected", totals["rejected"]),),
    )


def rejection_records(scope: Scope, now) -> Records:
    return lead_records(
        worked_to_close(scope),
        (
            LEAD,
            COMPANY,
            TEAM,
            OWNER,
            RECEIVED,
            FIRST_RESPONSE,
            CLOSED_AT,
            OUTCOME,
            Column("Reason", lambda lead: lead.disqualification_reason),
        ),
        "-closed_at",
        "-pk",
    )


REJECTION = Metric(
    key="mql_rejection_rate",
    handoff=measurement.Handoff.LEAD_TO_SALES,
    label="MQL rejection rate",
    unit=Unit.PERCENT,
    # The design names no range: at most 20 % is a default for RevOps to
    # tune; the leading indicator watches its rise, not this bound.
    target=Target(maximum=20),
    definition=Definition(
        records="Live leads (MQLs) that sales worked to a close in the period: "
        "qualified, disqualified or sent back to nurture. Rejected are the "
        "disqualified ones, whose handoff sales rejected with a reason; back "
        "to nurture completes the handoff and is not a rejection. The default "
        "target, at most 20 %, is ours: the design sets none.",
        clock="None: the share of those closes that were rejections.",
        period="By the day each lead was closed, not received, so a window "
        "counts every close in it once and a recent one is not skewed toward "
        "the quick rejections; the weeks of the chart too.",
        team=TEAM_TEXT,
        segment=SEGMENT_TEXT,
    ),
    measure=measure_rejection,
    records=rejection_records,
    higher_is_better=False,
    position=40,
)


def register() -> None:
    measurement.register(SPEED, CONVERSION, UNWORKED, REJECTION)
