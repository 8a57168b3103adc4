"""Speed-to-lead numbers, computed the one way the dashboard documents.

- Period: leads received from `since` (inclusive) to `until` (exclusive).
- Response time: first response (the first call, e-mail or meeting, or a
  disposition) minus receipt, in elapsed seconds, and in business seconds of
  the owner's calendar (the team's for a lead nobody owns). Median, and p90
  by nearest rank.
- Unworked rate: live leads with no response whose first-response deadline has
  passed, over live leads received.
- MQL → SQL conversion: live leads qualified (SQL), over live leads whose
  cycle closed (qualified, disqualified or back to nurture).
- Imported history is left out of every figure: its receipt time is the
  import's, not the submission's, and its outcome was the source system's.

Each figure is given for all leads of the period, per lead type and per team.
"""

from dataclasses import dataclass
from statistics import median

from bowtie.calendars import BusinessCalendar, business_seconds_between, calendar_for
from bowtie.models import Person, Team
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


@dataclass(frozen=True)
class LeadRow:
    lead_type: str
    team_id: int | None
    is_historical: bool
    status: str
    response_seconds: float | None
    business_response_seconds: float | None
    is_unworked: bool


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile: the smallest value with `share` at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))
    return ordered[int(rank) - 1]


def leads_in_period(since, until, team=None):
    leads = Lead.objects.filter(received_at__gte=since, received_at__lt=until)
    if team is not None:
        leads = leads.filter(team=team)
    return leads


def unworked_lead_ids(leads, now) -> set[int]:
    """Live leads without a response whose first-response deadline has passed."""
    return set(
        leads.filter(
            is_historical=False,
            first_response_at__isnull=True,
            handoffs__milestones__key=Milestone.Key.FIRST_RESPONSE,
            handoffs__milestones__due_at__lte=now,
        ).values_list("pk", flat=True)
    )


class CalendarCache:
    """One calendar per owner and team, read once for a whole report."""

    def __init__(self, owner_ids: set, team_ids: set):
        self.people = Person.objects.in_bulk(owner_ids - {None})
        self.teams = Team.objects.in_bulk(team_ids - {None})
        self.calendars: dict[tuple, BusinessCalendar] = {}

    def of(self, owner_id: int | None, team_id: int | None) -> BusinessCalendar:
        key = (owner_id, team_id)
        if key not in self.calendars:
            self.calendars[key] = calendar_for(
                person=self.people.get(owner_id), team=self.teams.get(team_id)
            )
        return self.calendars[key]


def lead_rows(leads, now) -> list[LeadRow]:
    # TODO(metrics): business time counts the owner's calendar as it is now;
    # a calendar edited since counts the old responses anew. Keep a calendar
    # version per lead when reports must not move with such edits.
    unworked = unworked_lead_ids(leads, now)
    fields = (
        "pk",
        "lead_type",
        "team",
        "owner",
        "is_historical",
        "status",
        "received_at",
        "first_response_at",
    )
    values = list(leads.values_list(*fields))
    calendars = CalendarCache(
        owner_ids={row[3] for row in values}, team_ids={row[2] for row in values}
    )
    rows = []
    for (
        pk,
        lead_type,
        team_id,
        owner_id,
        is_historical,
        status,
        received,
        responded,
    ) in values:
        measured = responded is not None and not is_historical
        rows.append(
            LeadRow(
                lead_type=lead_type,
                team_id=team_id,
                is_historical=is_historical,
                status=status,
                response_seconds=(responded - received).total_seconds()
                if measured
                else None,
                business_response_seconds=business_seconds_between(
                    calendars.of(owner_id, team_id), received, responded
                )
                if measured
                else None,
                is_unworked=pk in unworked,
            )
        )
    return rows


def group_stats(label: str, rows: list[LeadRow]) -> GroupStats:
    live = [row for row in rows if not row.is_historical]
    seconds = [row.response_seconds for row in live if row.response_seconds is not None]
    business = [
        row.business_response_seconds
        for row in live
        if row.business_response_seconds is not None
    ]
    closed = [row for row in live if row.status in CLOSED_STATUSES]
    return GroupStats(
        label=label,
        lead_count=len(live),
        responded_count=len(seconds),
        median_seconds=median(seconds) if seconds else None,
        p90_seconds=percentile(seconds, 0.9),
        unworked_count=sum(row.is_unworked for row in live),
        qualified_count=sum(row.status == Lead.Status.QUALIFIED for row in closed),
        closed_count=len(closed),
        business_median_seconds=median(business) if business else None,
        business_p90_seconds=percentile(business, 0.9),
    )


def grouped_stats(rows: list[LeadRow], key, labels: dict) -> list[GroupStats]:
    """One GroupStats per value of `key`, sorted by label."""
    groups: dict = {}
    for row in rows:
        groups.setdefault(key(row), []).append(row)
    named = [(str(labels.get(value, value or NO_TEAM)), value) for value in groups]
    named.sort(key=lambda pair: pair[0])
    return [group_stats(label, groups[value]) for label, value in named]


def speed_to_lead(leads, now) -> SpeedToLead:
    """Every figure of the dashboard for the leads of one period."""
    rows = lead_rows(leads, now)
    team_names = dict(
        leads.filter(team__isnull=False).values_list("team", "team__name")
    )
    return SpeedToLead(
        overall=group_stats("All leads", rows),
        by_lead_type=grouped_stats(
            rows, lambda row: row.lead_type, dict(LeadType.choices)
        ),
        by_team=grouped_stats(rows, lambda row: row.team_id, team_names),
    )
