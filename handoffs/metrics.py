"""Speed-to-lead numbers, computed the one way the dashboard documents.

- Period: leads received from `since` (inclusive) to `until` (exclusive).
- Response time: the seconds stamped on each lead with its first response
  (the first call, e-mail or meeting, or a disposition): elapsed, and
  business seconds of the owner's calendar as it stood at the response (the
  team's for a lead nobody owns). Median, and p90 by nearest rank.
- Unworked rate: live leads with no response whose first-response deadline has
  passed, over live leads received.
- MQL → SQL conversion: live leads qualified (SQL), over live leads whose
  cycle closed (qualified, disqualified or back to nurture).
- Imported history is left out of every figure: its receipt time is the
  import's, not the submission's, and its outcome was the source system's.

Each figure is given for all leads of the period, per lead type and per team,
each an SQL aggregate over the stamped columns: the page reads a million
leads in the time the database takes to count them.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Exists, OuterRef, Q

from bowtie.aggregates import Median, Percentile
from bowtie.calendars import BusinessCalendar, business_seconds_between
from handoffs.models import Lead, LeadType, Milestone

CLOSED_STATUSES = (Lead.Status.QUALIFIED, Lead.Status.DISQUALIFIED, Lead.Status.NURTURE)
NO_TEAM = "No team"


@dataclass(frozen=True)
class GroupStats:
    """The speed-to-lead figures of one group of leads."""

    label: str
    lead_count: int
    responded_count: int
    median_seconds: float | None
    p90_seconds: float | None
    unworked_count: int
    qualified_count: int
    closed_count: int
    # The same responses counted in the owner's working hours.
    business_median_seconds: float | None
    business_p90_seconds: float | None

    @property
    def unworked_rate(self) -> float | None:
        return share(self.unworked_count, self.lead_count)

    @property
    def conversion_rate(self) -> float | None:
        return share(self.qualified_count, self.closed_count)


@dataclass(frozen=True)
class SpeedToLead:
    overall: GroupStats
    by_lead_type: list[GroupStats]
    by_team: list[GroupStats]


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile: the smallest value with `share` at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))
    return ordered[int(rank) - 1]


def response_seconds(
    calendar: BusinessCalendar, received_at: datetime, responded_at: datetime
) -> tuple[int, int]:
    """Whole elapsed and business seconds from receipt to first response.

    A response stamped before the receipt (a door whose clock ran behind)
    counts as immediate rather than negative.
    """
    elapsed = max(0.0, (responded_at - received_at).total_seconds())
    business = business_seconds_between(calendar, received_at, responded_at)
    return round(elapsed), round(business)


def leads_in_period(since, until, team=None):
    leads = Lead.objects.filter(received_at__gte=since, received_at__lt=until)
    if team is not None:
        leads = leads.filter(team=team)
    return leads


def unworked_condition(now) -> Q:
    """Leads without a response whose first-response deadline has passed.

    For a WHERE clause, where PostgreSQL runs it as a semi-join on the
    unanswered leads alone. Inside an aggregate's FILTER it would be a
    subplan costed for every lead of the period, and that estimate alone
    sets off seconds of JIT compilation on a million leads.
    """
    overdue = Milestone.objects.filter(
        handoff__lead=OuterRef("pk"),
        key=Milestone.Key.FIRST_RESPONSE,
        due_at__lte=now,
    )
    return Q(first_response_at__isnull=True) & Q(Exists(overdue))


FIGURES = {
    "lead_count": Count("pk"),
    "responded_count": Count("response_seconds"),
    "median_seconds": Median("response_seconds"),
    "p90_seconds": Percentile("response_seconds", 0.9),
    "qualified_count": Count("pk", filter=Q(status=Lead.Status.QUALIFIED)),
    "closed_count": Count("pk", filter=Q(status__in=CLOSED_STATUSES)),
    "business_median_seconds": Median("business_response_seconds"),
    "business_p90_seconds": Percentile("business_response_seconds", 0.9),
}


def group_stats(label: str, leads, now) -> GroupStats:
    """The figures of the live leads among `leads`, as of `now`."""
    live = leads.filter(is_historical=False)
    return GroupStats(
        label=label,
        unworked_count=live.filter(unworked_condition(now)).count(),
        **live.aggregate(**FIGURES),
    )


def grouped_stats(leads, now, fields: tuple[str, ...], label) -> list[GroupStats]:
    """One GroupStats per value of `fields`, sorted by the `label` of each.

    `label` names a group from its row of `fields`. A group made of imported
    history alone does not appear.
    """
    live = leads.filter(is_historical=False).order_by()
    unworked = dict(
        live.filter(unworked_condition(now))
        .values(fields[0])
        .annotate(count=Count("pk"))
        .values_list(fields[0], "count")
    )
    groups = []
    for row in live.values(*fields).annotate(**FIGURES):
        name = label(row)
        key = row[fields[0]]
        for field in fields:
            del row[field]
        groups.append(
            GroupStats(label=name, unworked_count=unworked.get(key, 0), **row)
        )
    return sorted(groups, key=lambda group: group.label)


def lead_type_label(row: dict) -> str:
    return str(dict(LeadType.choices).get(row["lead_type"], row["lead_type"]))


def team_label(row: dict) -> str:
    return row["team__name"] or NO_TEAM


def speed_to_lead(leads, now) -> SpeedToLead:
    """Every figure of the dashboard for the leads of one period."""
    return SpeedToLead(
        overall=group_stats("All leads", leads, now),
        by_lead_type=grouped_stats(leads, now, ("lead_type",), lead_type_label),
        by_team=grouped_stats(leads, now, ("team", "team__name"), team_label),
    )
