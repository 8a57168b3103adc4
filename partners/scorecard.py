"""The partner scorecard: how each partner, and our own team, delivers.

Four figures per partner (DESIGN.md §7), with "In-house" as a row of its own
for the engagements the vendor's implementation team delivers:

- Time to kickoff: the median of whole days from the day the engagement was
  assigned (in the time zone of the person who assigned it) to the kickoff's
  actual day, over the engagements with a kickoff done. It counts from the
  assignment, not from the deal's close, because the partner can only start
  once it has the engagement; a reassignment restarts it, so an engagement
  whose kickoff came before its latest assignment (the previous partner's)
  is left out.
- Milestones on time: of the milestones with both a planned and an actual
  day, the share done on or before the planned day.
- Go-live rate: of the engagements whose go-live was due (planned on or
  before today) or that went live, the share that went live.
- Average handoff rating: the mean of the average marks CS gave the
  Implementation -> CS handoffs of the partner's engagements, i.e. how CS
  rated what the partner handed over.

`score_partners` is pure: it takes `EngagementFacts` rows and a day, so the
figures are tested without a database; `engagement_facts` reads the rows.
"""

import statistics
from dataclasses import dataclass, field
from datetime import UTC, date
from zoneinfo import ZoneInfo

import pygal

from handoffs.charts import (
    ALERT_COLOUR,
    CHART_WIDTH,
    MEDIAN_COLOUR,
    STYLE,
    axis_ticks,
    chart_height,
    render,
)
from partners.models import Engagement, ImplementationMilestone

Kind = ImplementationMilestone.Kind
Status = Engagement.Status

IN_HOUSE = "In-house"
OVERALL = "All engagements"

# Leading indicator: time to kickoff above two weeks raises the alarm
# (DESIGN.md §7).
KICKOFF_ALERT_DAYS = 14


@dataclass(frozen=True)
class EngagementFacts:
    """What the scorecard needs of one engagement, as plain values."""

    partner_id: int | None
    status: str
    assigned_on: date
    kickoff_on: date | None = None
    go_live_planned_on: date | None = None
    go_live_on: date | None = None
    # (planned_on, actual_on) of each milestone.
    milestone_dates: tuple[tuple[date | None, date | None], ...] = ()
    # The CS handoff's average mark, 1-5; None while unrated.
    handoff_rating: float | None = None


@dataclass
class PartnerScore:
    label: str
    partner_id: int | None
    engagement_count: int = 0
    kickoff_pending_count: int = 0
    implementing_count: int = 0
    hypercare_count: int = 0
    handed_to_cs_count: int = 0
    days_to_kickoff: list[int] = field(default_factory=list)
    dated_milestone_count: int = 0
    on_time_count: int = 0
    go_live_due_count: int = 0
    gone_live_count: int = 0
    ratings: list[float] = field(default_factory=list)

    @property
    def kickoff_count(self) -> int:
        return len(self.days_to_kickoff)

    @property
    def median_days_to_kickoff(self) -> float | None:
        if not self.days_to_kickoff:
            return None
        return statistics.median(self.days_to_kickoff)

    @property
    def on_time_rate(self) -> float | None:
        if not self.dated_milestone_count:
            return None
        return self.on_time_count / self.dated_milestone_count

    @property
    def go_live_rate(self) -> float | None:
        if not self.go_live_due_count:
            return None
        return self.gone_live_count / self.go_live_due_count

    @property
    def rated_count(self) -> int:
        return len(self.ratings)

    @property
    def mean_rating(self) -> float | None:
        if not self.ratings:
            return None
        return statistics.fmean(self.ratings)

    @property
    def is_kickoff_alert(self) -> bool:
        median = self.median_days_to_kickoff
        return median is not None and median > KICKOFF_ALERT_DAYS


@dataclass
class Scorecard:
    rows: list[PartnerScore]
    overall: PartnerScore


def days_to_kickoff(facts: EngagementFacts) -> int | None:
    """Whole days from assignment to kickoff; None without a kickoff, or when
    the kickoff came before the latest assignment."""
    if facts.kickoff_on is None:
        return None
    days = (facts.kickoff_on - facts.assigned_on).days
    return days if days >= 0 else None


def is_go_live_due(facts: EngagementFacts, today: date) -> bool:
    if facts.go_live_on is not None:
        return True
    return facts.go_live_planned_on is not None and facts.go_live_planned_on <= today


STATUS_COUNTS = {
    Status.KICKOFF_PENDING: "kickoff_pending_count",
    Status.IMPLEMENTING: "implementing_count",
    Status.HYPERCARE: "hypercare_count",
    Status.HANDED_TO_CS: "handed_to_cs_count",
}


def add_engagement(score: PartnerScore, facts: EngagementFacts, today: date) -> None:
    score.engagement_count += 1
    counter = STATUS_COUNTS.get(facts.status)
    if counter is not None:
        setattr(score, counter, getattr(score, counter) + 1)

    days = days_to_kickoff(facts)
    if days is not None:
        score.days_to_kickoff.append(days)

    for planned_on, actual_on in facts.milestone_dates:
        if planned_on is None or actual_on is None:
            continue
        score.dated_milestone_count += 1
        score.on_time_count += actual_on <= planned_on

    if is_go_live_due(facts, today):
        score.go_live_due_count += 1
        score.gone_live_count += facts.go_live_on is not None

    if facts.handoff_rating is not None:
        score.ratings.append(facts.handoff_rating)


def score_partners(
    partners: list[tuple[int, str]], facts: list[EngagementFacts], today: date
) -> Scorecard:
    """One row per partner in the order given, then In-house, then the total.

    A partner given with no engagement gets a row of zeros; an engagement of
    a partner not given gets a row named by its id, so nothing is dropped.
    """
    rows = {pk: PartnerScore(label, pk) for pk, label in partners}
    in_house = PartnerScore(IN_HOUSE, None)
    overall = PartnerScore(OVERALL, None)
    for engagement in facts:
        if engagement.partner_id is None:
            row = in_house
        else:
            row = rows.setdefault(
                engagement.partner_id,
                PartnerScore(f"Partner {engagement.partner_id}", engagement.partner_id),
            )
        add_engagement(row, engagement, today)
        add_engagement(overall, engagement, today)
    return Scorecard(rows=[*rows.values(), in_house], overall=overall)


def assigned_on(engagement: Engagement) -> date:
    assigner = engagement.assigned_by
    zone = ZoneInfo(assigner.time_zone) if assigner is not None else UTC
    return engagement.assigned_at.astimezone(zone).date()


def facts_of(engagement: Engagement) -> EngagementFacts:
    """Read one engagement; its milestones and CS rating must be loaded."""
    milestones = {
        milestone.kind: milestone for milestone in engagement.milestones.all()
    }
    kickoff = milestones.get(Kind.KICKOFF)
    go_live = milestones.get(Kind.GO_LIVE)
    handoff = engagement.cs_handoff
    rating = getattr(handoff, "rating", None) if handoff is not None else None
    return EngagementFacts(
        partner_id=engagement.partner_id,
        status=engagement.status,
        assigned_on=assigned_on(engagement),
        kickoff_on=kickoff.actual_on if kickoff else None,
        go_live_planned_on=go_live.planned_on if go_live else None,
        go_live_on=go_live.actual_on if go_live else None,
        milestone_dates=tuple(
            (milestone.planned_on, milestone.actual_on)
            for milestone in milestones.values()
        ),
        handoff_rating=rating.average if rating is not None else None,
    )


def engagement_facts(engagements) -> list[EngagementFacts]:
    """Facts of each engagement of a queryset, in three queries."""
    engagements = engagements.select_related(
        "assigned_by", "cs_handoff__rating"
    ).prefetch_related("milestones")
    return [facts_of(engagement) for engagement in engagements]


def partner_scorecard(engagements, partners, today: date) -> Scorecard:
    """The scorecard over `engagements` for `partners` (active ones, and any
    with an engagement), on the day `today`."""
    facts = engagement_facts(engagements)
    with_engagements = {row.partner_id for row in facts} - {None}
    shown = [
        (partner.pk, partner.name)
        for partner in partners
        if partner.is_active or partner.pk in with_engagements
    ]
    return score_partners(shown, facts, today)


# Charts, in the dashboards' style (handoffs.charts): bars top-down.


def value_chart(
    rows: list[PartnerScore],
    attribute: str,
    *,
    unit: str,
    top: float | None = None,
    alert_above: float | None = None,
    ticks: list[float] | None = None,
    formatter=None,
) -> str:
    """One bar per partner for a figure that is not a share; rows without
    the figure are left out. Bars above `alert_above` are drawn in red."""
    rows = [row for row in rows if getattr(row, attribute) is not None][::-1]
    longest = max((getattr(row, attribute) for row in rows), default=0)
    top = top if top is not None else max(longest, 1)
    chart = pygal.HorizontalBar(
        style=STYLE,
        width=CHART_WIDTH,
        height=chart_height(len(rows)),
        js=[],
        range=(0, top),
        show_legend=False,
        print_values=True,
        print_values_position="top",
        truncate_label=-1,
        value_formatter=lambda value: f"{value:g}",
        formatter=formatter or (lambda value: f"{value:g} {unit}"),
        y_labels=ticks or axis_ticks(top),
        x_title=unit,
        no_data_text="Nothing to show yet",
        margin_right=60,
    )
    chart.x_labels = [row.label for row in rows]
    values = []
    for row in rows:
        value = getattr(row, attribute)
        is_alert = alert_above is not None and value > alert_above
        values.append(
            {
                "value": round(value, 1),
                "color": ALERT_COLOUR if is_alert else MEDIAN_COLOUR,
            }
        )
    chart.add(attribute.replace("_", " "), values)
    return render(chart)


def kickoff_chart(rows: list[PartnerScore]) -> str:
    return value_chart(
        rows,
        "median_days_to_kickoff",
        unit="days",
        alert_above=KICKOFF_ALERT_DAYS,
    )


def rating_chart(rows: list[PartnerScore]) -> str:
    return value_chart(
        rows,
        "mean_rating",
        unit="of 5",
        top=5,
        ticks=[0, 1, 2, 3, 4, 5],
        formatter=lambda value: f"{value:.1f}",
    )
