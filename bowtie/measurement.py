"""The measurement of the four handoffs: what a metric is, and where they live.

Each app measures its own handoffs and registers its metrics here when it
loads (`AppConfig.ready`), so the core can draw the dashboard, keep the
targets and evaluate the alerts without importing the apps (DESIGN.md §7).

A metric is computed for a `Scope` (a period of whole UTC days, the teams a
person may see or chose, a segment) as a `Reading`: the headline value in the
metric's unit, how many records it counts, and a series for its chart (the
weeks of the period, or groups such as expansion types). `records` gives the
records behind the number for the drill-down and its CSV.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import DateTimeField, Q, QuerySet
from django.db.models.functions import TruncWeek


class Handoff:
    """The four handoffs of the bow tie, in the order a customer meets them."""

    LEAD_TO_SALES = "lead_to_sales"
    SALES_TO_IMPLEMENTATION = "sales_to_implementation"
    IMPLEMENTATION_TO_CS = "implementation_to_cs"
    CS_TO_SALES = "cs_to_sales"

    choices = [
        (LEAD_TO_SALES, "Marketing → Sales"),
        (SALES_TO_IMPLEMENTATION, "Sales → Implementation"),
        (IMPLEMENTATION_TO_CS, "Implementation → Customer success"),
        (CS_TO_SALES, "Customer success → Sales"),
    ]
    labels = dict(choices)


class Unit:
    """How a metric's value reads: the unit it is computed and edited in."""

    MINUTES = "minutes"
    HOURS = "hours"
    DAYS = "days"
    PERCENT = "percent"
    SCORE = "score"

    suffixes = {
        MINUTES: " min",
        HOURS: " h",
        DAYS: " days",
        PERCENT: " %",
        SCORE: " of 5",
    }


class Segment:
    """Customer segments by head count, as `Account.size` draws them."""

    SMALL = "small"
    MID = "mid"
    ENTERPRISE = "enterprise"

    choices = [
        (SMALL, "Small (1-199)"),
        (MID, "Mid-market (200-999)"),
        (ENTERPRISE, "Enterprise (1000+)"),
    ]
    # Employee counts from (inclusive) and to (exclusive).
    bounds = {SMALL: (None, 200), MID: (200, 1000), ENTERPRISE: (1000, None)}


def segment_filter(segment: str, employee_count: str) -> Q:
    """Rows whose `employee_count` path falls in `segment`; all rows for ""."""
    if not segment:
        return Q()
    low, high = Segment.bounds[segment]
    condition = Q(**{f"{employee_count}__isnull": False})
    if low is not None:
        condition &= Q(**{f"{employee_count}__gte": low})
    if high is not None:
        condition &= Q(**{f"{employee_count}__lt": high})
    return condition


@dataclass(frozen=True)
class Scope:
    """What a dashboard measures: days, teams and a segment.

    `team_ids` is None for the whole company (records without a team
    included); otherwise only records of those teams count. Days are UTC
    days, `starts_on` and `ends_on` both included.
    """

    starts_on: date
    ends_on: date
    team_ids: frozenset[int] | None = None
    segment: str = ""

    @property
    def since(self) -> datetime:
        return datetime.combine(self.starts_on, time.min, tzinfo=UTC)

    @property
    def until(self) -> datetime:
        return datetime.combine(self.ends_on + timedelta(days=1), time.min, tzinfo=UTC)

    @property
    def day_count(self) -> int:
        return (self.ends_on - self.starts_on).days + 1

    def team_filter(self, team: str) -> Q:
        """Rows whose `team` path is one of the scope's teams."""
        if self.team_ids is None:
            return Q()
        return Q(**{f"{team}__in": sorted(self.team_ids)})

    def segment_filter(self, employee_count: str) -> Q:
        return segment_filter(self.segment, employee_count)

    def weeks(self) -> list[date]:
        """The Mondays of the weeks the period touches, for weekly series."""
        first = self.starts_on - timedelta(days=self.starts_on.weekday())
        return [
            first + timedelta(weeks=index)
            for index in range((self.ends_on - first).days // 7 + 1)
        ]

    def before(self) -> "Scope":
        """The same number of days just before, for trends."""
        return Scope(
            self.starts_on - timedelta(days=self.day_count),
            self.starts_on - timedelta(days=1),
            self.team_ids,
            self.segment,
        )


@dataclass(frozen=True)
class Target:
    """On target when the value is at least `minimum` and at most `maximum`."""

    minimum: Decimal | None = None
    maximum: Decimal | None = None

    def __post_init__(self):
        # Defaults are written as plain numbers; edited ones come as Decimals.
        for name in ("minimum", "maximum"):
            bound = getattr(self, name)
            if bound is not None and not isinstance(bound, Decimal):
                object.__setattr__(self, name, Decimal(str(bound)))

    def holds(self, value) -> bool | None:
        if value is None:
            return None
        if self.minimum is not None and Decimal(str(value)) < self.minimum:
            return False
        if self.maximum is not None and Decimal(str(value)) > self.maximum:
            return False
        return True

    def describe(self, unit: str) -> str:
        suffix = Unit.suffixes[unit]
        low = f"{self.minimum.normalize():f}" if self.minimum is not None else None
        high = f"{self.maximum.normalize():f}" if self.maximum is not None else None
        if low is not None and high is not None:
            return f"{low}-{high}{suffix}"
        if high is not None:
            return f"at most {high}{suffix}"
        if low is not None:
            return f"at least {low}{suffix}"
        return "none set"


@dataclass(frozen=True)
class Point:
    """One value of a chart: a week (from its Monday) or a named group."""

    label: str
    value: float | None
    count: int = 0


@dataclass(frozen=True)
class Reading:
    """A metric's value for a scope, in its unit; None when nothing counts.

    `details` are further figures shown beside the value, each a label and a
    value in the metric's unit (the p90 beside a median, say).
    """

    value: float | None
    count: int
    series: tuple[Point, ...] = ()
    details: tuple[tuple[str, float | None], ...] = ()


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[object], object]


@dataclass(frozen=True)
class Records:
    """The records behind a reading: rows to page through and export."""

    rows: QuerySet
    columns: tuple[Column, ...]
    url_of: Callable[[object], str | None] = lambda row: None


@dataclass(frozen=True)
class Definition:
    """How a number is computed, in the words the definitions page prints."""

    records: str
    clock: str
    period: str
    team: str
    segment: str


class SeriesKind:
    WEEKS = "weeks"
    GROUPS = "groups"


@dataclass(frozen=True)
class Metric:
    key: str
    handoff: str
    label: str
    unit: str
    target: Target
    definition: Definition
    measure: Callable[[Scope, datetime], Reading]
    records: Callable[[Scope, datetime], Records]
    series_kind: str = SeriesKind.WEEKS
    # Whether a higher value is better, for the chart's colours and alerts.
    higher_is_better: bool = True
    position: int = field(default=0, compare=False)


REGISTRY: dict[str, Metric] = {}


def register(*metrics: Metric) -> None:
    """Add metrics to the dashboard; a key is registered once."""
    for metric in metrics:
        if metric.key in REGISTRY and REGISTRY[metric.key] != metric:
            raise ValueError(f"Metric {metric.key!r} is already registered.")
        REGISTRY[metric.key] = metric


def metric(key: str) -> Metric:
    return REGISTRY[key]


def metrics(handoff: str | None = None) -> list[Metric]:
    """Registered metrics in dashboard order: by handoff, then position."""
    order = [key for key, _ in Handoff.choices]
    chosen: Iterable[Metric] = REGISTRY.values()
    if handoff is not None:
        chosen = (item for item in chosen if item.handoff == handoff)
    return sorted(chosen, key=lambda item: (order.index(item.handoff), item.position))


def weekly_points(scope: Scope, rows: Iterable[tuple], value_unit=1.0):
    """A point per week of the scope, from `(monday, value, count)` rows.

    Weeks without a row get an empty point, so every chart of a period has
    the same weeks; `value_unit` divides the value (60 turns seconds into
    minutes).
    """
    found = {}
    for monday, value, count in rows:
        day = monday.date() if isinstance(monday, datetime) else monday
        found[day] = (None if value is None else value / value_unit, count)
    return tuple(
        Point(f"{monday:%d %b}", *found.get(monday, (None, 0)))
        for monday in scope.weeks()
    )


def percent(part, whole) -> float | None:
    """`part` of `whole` in percent; None when there is nothing to divide by."""
    return float(100 * part / whole) if whole else None


def by_week(rows: QuerySet, day: str, **figures):
    """`(monday, *figures)` rows in order, one per week of `day` with records.

    Moments are cut into UTC weeks, as the scope's days are, whatever zone
    the page is drawn in; a page in Samoa and the e-mail sent from UTC draw
    the same chart. Dates are weeks as they are.
    """
    is_moment = isinstance(rows.query.resolve_ref(day).output_field, DateTimeField)
    week = TruncWeek(day, tzinfo=UTC) if is_moment else TruncWeek(day)
    return (
        rows.annotate(week=week)
        .order_by()
        .values("week")
        .annotate(**figures)
        .values_list("week", *figures)
        .order_by("week")
    )
