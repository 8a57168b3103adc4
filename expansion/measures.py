"""The Customer success → Sales metrics of the bow-tie dashboard (DESIGN.md §7).

Every figure is an aggregate in the database: the open expansion pipeline
customer success handed to sales and how it grew, the hours its owner took to
accept such a handoff, the win rate of expansion deals by type, and net
revenue retention as the expansion report defines it (`expansion.reports`).
Money is ARR in the base currency at the rate each deal kept when it was
created (`bowtie.exchange`), so a later rate moves no figure.

Team is the team of the deal's owner; segment is the head count of the deal's
account.
"""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Floor, TruncDate, TruncWeek
from django.db.models.lookups import GreaterThan, LessThanOrEqual
from django.urls import reverse

from bowtie import measurement
from bowtie.aggregates import DaysBetween, Median, Percentile, SecondsBetween
from bowtie.exchange import base_currency
from bowtie.measurement import (
    Column,
    Definition,
    Metric,
    Point,
    Reading,
    Records,
    Scope,
    SeriesKind,
    Target,
    Unit,
    percent,
    weekly_points,
)
from bowtie.models import Deal, Pipeline, Stage
from expansion import reports
from handoffs.models import Handoff

KIND = Handoff.Kind.CS_TO_SALES
ExpansionType = Pipeline.ExpansionType
ONE_DAY = timedelta(days=1)
CENT = Decimal("0.01")
ZERO = Decimal(0)
TEAM_TEXT = "The team of the deal's owner."
SEGMENT_TEXT = "The head count of the deal's account."
MONEY_TEXT = (
    "ARR in the base currency: amount × 12 / term months, at the rate the deal "
    "kept when it was created; a deal kept without a rate has none and is "
    "counted apart"
)


def deal_filter(scope: Scope, deal: str = "") -> Q:
    """The scope's teams and segment, for deals at the path `deal`."""
    prefix = f"{deal}__" if deal else ""
    return scope.team_filter(f"{prefix}owner__team") & scope.segment_filter(
        f"{prefix}account__employee_count"
    )


def cents(value: Decimal | None) -> Decimal | None:
    # SQLite hands back 16000 where PostgreSQL says 16000.00.
    return None if value is None else value.quantize(CENT)


def utc_text(moment: datetime | None) -> str:
    return "" if moment is None else f"{moment:%Y-%m-%d %H:%M}"


def day_text(day: date | None) -> str | None:
    # As text: the page would write a date in words, the CSV as ISO.
    return None if day is None else f"{day:%Y-%m-%d}"


def deal_url(deal: Deal) -> str:
    """The expansion page of a deal CS handed over, else the deal's page."""
    if getattr(deal, "handoff_id", None) is not None:
        return reverse("expansion-detail", args=[deal.handoff_id])
    return reverse("deal-detail", args=[deal.pk])


def cs_handoff_of_deal():
    return Subquery(
        Handoff.objects.filter(deal=OuterRef("pk"), kind=KIND).values("pk")[:1]
    )


def expansion_type(deal: Deal) -> str:
    return deal.pipeline.get_expansion_type_display() or "Type not set"


def owner_team(deal: Deal):
    return deal.owner.team if deal.owner is not None else None


# Expansion pipeline from CS ---------------------------------------------------


def cs_pipeline(scope: Scope):
    """Expansion-pipeline deals that came through a CS → Sales handoff."""
    return Deal.objects.filter(
        Exists(Handoff.objects.filter(deal=OuterRef("pk"), kind=KIND)),
        deal_filter(scope),
        pipeline__kind=Pipeline.Kind.EXPANSION,
    )


def end_of(day: date) -> datetime:
    # Scopes are UTC days, like `created_at`.
    return datetime.combine(day + ONE_DAY, time.min, tzinfo=UTC)


def is_created_by(day: date) -> Q:
    return Q(created_at__lt=end_of(day))


def is_closed_by(day: date) -> Q:
    # A closed deal without its close day (imported so) is no pipeline at all.
    return ~Q(stage__outcome=Stage.Outcome.OPEN) & (
        Q(closed_on__isnull=True) | Q(closed_on__lte=day)
    )


# TODO(measurement): a deal's stage on a past day is not read back from its
# history, so a lost deal reopened later counts as open all along. Fine while
# reopening expansions is rare; read the audit history once the pipeline's
# past has to be exact (a pipeline-by-stage chart would need it too).
def is_open_on(day: date) -> Q:
    """Created on or before `day` (UTC) and not closed by its end."""
    return is_created_by(day) & ~is_closed_by(day)


def pipeline_moments(scope: Scope) -> list[date]:
    """The day before the period, then the last day of each of its weeks.

    The last week ends on the period's last day, so its point is the value.
    """
    week_ends = [
        min(monday + timedelta(days=6), scope.ends_on) for monday in scope.weeks()
    ]
    return [scope.starts_on - ONE_DAY, *week_ends]


def moment_of(day, scope: Scope, moments: list[date]):
    """The first moment whose end a day expression is on or before; NULL after.

    0 up to the day before the period, then the number of the day's week:
    arithmetic on the day, so the SQL stays small for a year of weeks.
    """
    week_number = Floor(DaysBetween(day, Value(scope.weeks()[0])) / Value(7))
    return Case(
        When(LessThanOrEqual(day, Value(moments[0])), then=Value(0)),
        When(GreaterThan(day, Value(moments[-1])), then=None),
        default=Cast(week_number + Value(1), IntegerField()),
        output_field=IntegerField(),
    )


def pipeline_cells(scope: Scope, moments: list[date]) -> list[dict]:
    """The deals that may be open at a moment, summed by the first moment
    each was created by and the first it was closed by.

    So each deal's ARR is computed once, not once per moment: the pipeline at
    a moment is the sum of the cells open then, a few hundred rows at most.
    """
    may_be_open = cs_pipeline(scope).filter(
        ~is_closed_by(moments[0]), is_created_by(moments[-1])
    )
    closed = Case(
        When(stage__outcome=Stage.Outcome.OPEN, then=None),
        default=moment_of(F("closed_on"), scope, moments),
        output_field=IntegerField(),
    )
    return list(
        may_be_open.annotate(
            opened=moment_of(TruncDate("created_at", tzinfo=UTC), scope, moments),
            closed=closed,
        )
        .values("opened", "closed")
        .annotate(
            arr=Sum(reports.ARR),
            deal_count=Count("pk"),
            unconverted_count=Count("pk", filter=~reports.CONVERTED),
        )
        .order_by()
    )


def is_open_at(cell: dict, index: int) -> bool:
    closed = cell["closed"]
    return cell["opened"] <= index and (closed is None or closed > index)


def measure_pipeline_growth(scope: Scope, now) -> Reading:
    moments = pipeline_moments(scope)
    cells = pipeline_cells(scope, moments)

    arr, counts = [], []
    for index in range(len(moments)):
        open_cells = [cell for cell in cells if is_open_at(cell, index)]
        arr.append(sum((cell["arr"] or ZERO for cell in open_cells), ZERO))
        counts.append(sum(cell["deal_count"] for cell in open_cells))
    last = len(moments) - 1
    at_either_end = [
        cell for cell in cells if is_open_at(cell, 0) or is_open_at(cell, last)
    ]
    unconverted_count = sum(
        cell["unconverted_count"] for cell in cells if is_open_at(cell, last)
    )
    start, end = arr[0], arr[-1]
    series = tuple(
        Point(f"{monday:%d %b}", percent(value - start, start), count)
        for monday, value, count in zip(scope.weeks(), arr[1:], counts[1:], strict=True)
    )
    currency = base_currency()
    return Reading(
        value=percent(end - start, start),
        count=sum(cell["deal_count"] for cell in at_either_end),
        series=series,
        details=(
            (f"{currency} at the start", float(start)),
            (f"{currency} at the end", float(end)),
            ("without a rate", unconverted_count),
        ),
    )


def yes_or_no(value: bool) -> str:
    return "yes" if value else "no"


def pipeline_records(scope: Scope, now) -> Records:
    moments = pipeline_moments(scope)
    was_open, is_open = is_open_on(moments[0]), is_open_on(moments[-1])
    rows = (
        cs_pipeline(scope)
        .filter(was_open | is_open)
        .select_related("account", "owner__team", "pipeline", "stage")
        .defer("packet")
        .annotate(
            arr=reports.ARR,
            was_open=ExpressionWrapper(was_open, output_field=BooleanField()),
            is_open=ExpressionWrapper(is_open, output_field=BooleanField()),
            handoff_id=cs_handoff_of_deal(),
        )
        .order_by("created_at", "pk")
    )
    currency = base_currency()
    return Records(
        rows=rows,
        columns=(
            Column("Deal", lambda deal: deal.name),
            Column("Account", lambda deal: deal.account),
            Column("Type", expansion_type),
            Column("Owner", lambda deal: deal.owner),
            Column("Team", owner_team),
            Column("Created", lambda deal: f"{deal.created_at:%Y-%m-%d}"),
            Column("Stage", lambda deal: deal.stage.name),
            Column("Closed", lambda deal: day_text(deal.closed_on)),
            Column(f"ARR ({currency})", lambda deal: cents(deal.arr)),
            Column("Open at the start", lambda deal: yes_or_no(deal.was_open)),
            Column("Open at the end", lambda deal: yes_or_no(deal.is_open)),
        ),
        url_of=deal_url,
    )


PIPELINE_GROWTH = Metric(
    key="expansion_pipeline_growth",
    handoff=measurement.Handoff.CS_TO_SALES,
    label="Expansion pipeline from CS",
    unit=Unit.PERCENT,
    # Growing quarter on quarter: any growth at all, to the hundredth.
    target=Target(minimum=Decimal("0.01")),
    definition=Definition(
        records="Deals in the expansion pipelines that came through a CS → Sales "
        "handoff (a signal converted by customer success), open at the end of "
        "the day before the period or at the end of its last day. A cross-sell "
        "converted as a new logo goes to the new-business pipeline and is not "
        "in it.",
        clock="None: the change, in percent, of the open pipeline's value from "
        "the end of the day before the period to the end of its last day; none "
        f"when nothing was open at the start. The value: {MONEY_TEXT}. A deal "
        "is open at the end of a day when it was created by then (UTC) and is "
        "still open or closed later. The stage a deal was in on that day is "
        "not read back: a lost deal reopened counts as open since its creation.",
        period="The period's length just before it, against the period: the "
        "pipeline at the end of each; with 13 weeks, quarter on quarter. The "
        "chart: the change from the same start to the end of each week.",
        team=TEAM_TEXT,
        segment=SEGMENT_TEXT,
    ),
    measure=measure_pipeline_growth,
    records=pipeline_records,
    position=10,
)


# CS → Sales handoff time ------------------------------------------------------

SECONDS_TO_ACCEPT = SecondsBetween("accepted_at", "opened_at")
HOUR = 3600


def opened_handoffs(scope: Scope):
    """CS → Sales handoffs opened in the period that changed hands.

    One the converting CSM kept (the ownership band gave them the deal) was
    accepted the moment it opened: no handoff took place, so it is left out.
    """
    return Handoff.objects.filter(
        deal_filter(scope, "deal"),
        kind=KIND,
        opened_at__gte=scope.since,
        opened_at__lt=scope.until,
    ).exclude(sender__isnull=False, sender=F("receiver"))


def hours(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / HOUR


def measure_handoff_time(scope: Scope, now) -> Reading:
    handoffs = opened_handoffs(scope)
    # Percentiles pass over the NULL of a handoff not accepted yet.
    totals = handoffs.aggregate(
        median=Median(SECONDS_TO_ACCEPT),
        p90=Percentile(SECONDS_TO_ACCEPT, 0.9),
        count=Count("pk"),
        waiting=Count("pk", filter=Q(accepted_at__isnull=True)),
    )
    weeks = (
        handoffs.annotate(week=TruncWeek("opened_at", tzinfo=UTC))
        .values("week")
        .annotate(median=Median(SECONDS_TO_ACCEPT), count=Count("pk"))
        .values_list("week", "median", "count")
        .order_by("week")
    )
    return Reading(
        value=hours(totals["median"]),
        count=totals["count"],
        series=weekly_points(scope, weeks, value_unit=HOUR),
        details=(
            ("p90", hours(totals["p90"])),
            ("not yet accepted", totals["waiting"]),
        ),
    )


def handoff_time_records(scope: Scope, now) -> Records:
    rows = (
        opened_handoffs(scope)
        .select_related("deal__account", "deal__owner__team", "sender", "receiver")
        .defer("packet", "deal__packet")
        .annotate(seconds=SECONDS_TO_ACCEPT)
        .order_by("-opened_at", "pk")
    )
    return Records(
        rows=rows,
        columns=(
            Column("Deal", lambda handoff: handoff.deal.name),
            Column("Account", lambda handoff: handoff.deal.account),
            Column("From (CSM)", lambda handoff: handoff.sender),
            Column("Owner", lambda handoff: handoff.receiver),
            Column("Team", lambda handoff: owner_team(handoff.deal)),
            Column("Opened (UTC)", lambda handoff: utc_text(handoff.opened_at)),
            Column("Accepted (UTC)", lambda handoff: utc_text(handoff.accepted_at)),
            Column("Hours", lambda handoff: hours(handoff.seconds)),
            Column("State", lambda handoff: handoff.get_state_display()),
        ),
        url_of=lambda handoff: reverse("expansion-detail", args=[handoff.pk]),
    )


HANDOFF_TIME = Metric(
    key="cs_to_sales_handoff_time",
    handoff=measurement.Handoff.CS_TO_SALES,
    label="CS → Sales handoff time",
    unit=Unit.HOURS,
    target=Target(maximum=48),
    definition=Definition(
        records="CS → Sales handoffs opened in the period, new-logo cross-sells "
        "included. Left out: those the converting CSM kept because the "
        "ownership band gave them the deal, which nobody had to accept.",
        clock="Elapsed hours from the handoff opening to its owner accepting "
        "it; one sent back and sent again keeps its first opening. Median of "
        "those accepted; beside it the p90 (nearest rank) and how many are not "
        "accepted yet (still open, or sent back before acceptance).",
        period="By the time each handoff opened, UTC days; the weeks of the chart too.",
        team=TEAM_TEXT,
        segment=SEGMENT_TEXT,
    ),
    measure=measure_handoff_time,
    records=handoff_time_records,
    higher_is_better=False,
    position=20,
)


# Win rate by expansion type ---------------------------------------------------

WON = Count("pk", filter=Q(stage__outcome=Stage.Outcome.WON))
CLOSED = Count("pk")


def closed_expansions(scope: Scope):
    return Deal.objects.filter(
        deal_filter(scope),
        pipeline__kind=Pipeline.Kind.EXPANSION,
        stage__outcome__in=[Stage.Outcome.WON, Stage.Outcome.LOST],
        closed_on__gte=scope.starts_on,
        closed_on__lte=scope.ends_on,
    )


def measure_win_rate(scope: Scope, now) -> Reading:
    by_type = {
        kind: (won, closed)
        for kind, won, closed in closed_expansions(scope)
        .values("pipeline__expansion_type")
        .annotate(won=WON, closed=CLOSED)
        .values_list("pipeline__expansion_type", "won", "closed")
        .order_by()
    }
    groups = list(ExpansionType.choices)
    # An expansion pipeline RevOps made without a type gets a bar of its own.
    if "" in by_type:
        groups.append(("", "Type not set"))
    series = []
    for kind, label in groups:
        won, closed = by_type.get(kind, (0, 0))
        series.append(Point(str(label), percent(won, closed), closed))

    won = sum(won for won, _ in by_type.values())
    closed = sum(closed for _, closed in by_type.values())
    return Reading(
        value=percent(won, closed),
        count=closed,
        series=tuple(series),
        details=(("won", won), ("lost", closed - won)),
    )


def win_rate_records(scope: Scope, now) -> Records:
    rows = (
        closed_expansions(scope)
        .select_related("account", "owner__team", "pipeline", "stage")
        .defer("packet")
        .annotate(arr=reports.ARR, handoff_id=cs_handoff_of_deal())
        .order_by("-closed_on", "pk")
    )
    currency = base_currency()
    return Records(
        rows=rows,
        columns=(
            Column("Deal", lambda deal: deal.name),
            Column("Account", lambda deal: deal.account),
            Column("Type", expansion_type),
            Column("Owner", lambda deal: deal.owner),
            Column("Team", owner_team),
            Column("Closed", lambda deal: day_text(deal.closed_on)),
            Column("Outcome", lambda deal: deal.stage.get_outcome_display()),
            Column(f"ARR ({currency})", lambda deal: cents(deal.arr)),
        ),
        url_of=deal_url,
    )


# The expansion report's targets are "above"; the dashboard's bounds include
# themselves, and one target stands for every type: the lowest.
LOWEST_WIN_RATE_TARGET = min(reports.WIN_RATE_TARGETS.values())

WIN_RATE = Metric(
    key="expansion_win_rate",
    handoff=measurement.Handoff.CS_TO_SALES,
    label="Expansion win rate",
    unit=Unit.PERCENT,
    target=Target(minimum=Decimal(str(LOWEST_WIN_RATE_TARGET)) * 100),
    definition=Definition(
        records="Deals in the expansion pipelines that closed won or lost in "
        "the period, however they were raised.",
        clock="None: won over won and lost, in percent, over every type; the "
        "chart has a bar per expansion type. The target is the lowest of the "
        "expansion report's per-type targets (a new buying group above 20 %; "
        "upsell's is above 40 %, the warm cross-sell has none).",
        period="By the day each deal closed.",
        team=TEAM_TEXT,
        segment=SEGMENT_TEXT,
    ),
    measure=measure_win_rate,
    records=win_rate_records,
    series_kind=SeriesKind.GROUPS,
    position=30,
)


# Net revenue retention --------------------------------------------------------


def measure_retention(scope: Scope, now) -> Reading:
    found = reports.retention_in_sql(
        reports.Period(scope.starts_on, scope.ends_on),
        terms=deal_filter(scope),
        sales=deal_filter(scope),
    )
    retention = found.retention
    start = retention.start_arr
    by_week = {week.monday: week for week in found.weeks}
    series, moved = [], Decimal(0)
    for monday in scope.weeks():
        week = by_week.get(monday)
        if week is not None:
            moved += week.expansion_arr - week.contraction_arr - week.churn_arr
        count = week.deal_count if week is not None else 0
        series.append(Point(f"{monday:%d %b}", percent(start + moved, start), count))
    currency = base_currency()
    return Reading(
        value=percent(retention.end_arr, start),
        count=found.deal_count,
        series=tuple(series),
        details=(
            ("accounts in the cohort", retention.cohort_account_count),
            (f"{currency} at the start", float(start)),
            (f"{currency} expansion", float(retention.expansion_arr)),
            (f"{currency} contraction", float(retention.contraction_arr)),
            (f"{currency} churn", float(retention.churn_arr)),
            ("without a rate", retention.unconverted_count),
        ),
    )


def retention_part(deal: Deal, starts_on: date) -> str:
    if deal.closed_on < starts_on:
        return "In force at the start"
    if deal.pipeline.kind != Pipeline.Kind.RENEWALS:
        return "Won"
    if deal.stage.outcome == Stage.Outcome.LOST:
        return "Renewal lost (churn)"
    return "Renewal won"


def retention_move(deal: Deal, starts_on: date) -> Decimal | None:
    """How far the deal moved the cohort's ARR; its ARR for a term at the start."""
    part = retention_part(deal, starts_on)
    if part == "Renewal lost (churn)":
        return cents(-deal.renewed_arr)
    if part == "Renewal won":
        return None if deal.arr is None else cents(deal.arr - deal.renewed_arr)
    return cents(deal.arr)


def retention_records(scope: Scope, now) -> Records:
    period = reports.Period(scope.starts_on, scope.ends_on)
    terms = reports.retention_terms(period, deal_filter(scope))
    moves = reports.retention_moves(period, terms, deal_filter(scope))
    rows = (
        Deal.objects.filter(Q(pk__in=terms.values("pk")) | Q(pk__in=moves.values("pk")))
        .select_related("account", "owner__team", "pipeline", "stage")
        .defer("packet")
        .annotate(arr=reports.ARR, renewed_arr=reports.RENEWED_ARR)
        .order_by("closed_on", "pk")
    )
    currency = base_currency()
    starts_on = scope.starts_on
    return Records(
        rows=rows,
        columns=(
            Column("Deal", lambda deal: deal.name),
            Column("Account", lambda deal: deal.account),
            Column("Pipeline", lambda deal: deal.pipeline.name),
            Column("Owner", lambda deal: deal.owner),
            Column("Team", owner_team),
            Column("Closed", lambda deal: day_text(deal.closed_on)),
            Column("Part", lambda deal: retention_part(deal, starts_on)),
            Column(f"ARR ({currency})", lambda deal: cents(deal.arr)),
            Column(
                f"Moves ARR by ({currency})",
                lambda deal: retention_move(deal, starts_on),
            ),
        ),
        url_of=lambda deal: reverse("deal-detail", args=[deal.pk]),
    )


RETENTION = Metric(
    key="net_revenue_retention",
    handoff=measurement.Handoff.CS_TO_SALES,
    label="Net revenue retention",
    unit=Unit.PERCENT,
    target=Target(minimum=110, maximum=130),
    definition=Definition(
        records="The terms in force on the period's first day (of deals won "
        "before it, each account's), and the deals of those accounts that "
        "closed in the period: sales and expansions won, renewals won or lost "
        "of those terms.",
        clock="None: (ARR at the start + expansion − contraction − churn) / ARR "
        "at the start, in percent, as the expansion report defines it. "
        "Expansion: each deal won other than a renewal, plus what a won "
        "renewal adds over the term it renews; contraction: what a won renewal "
        "is below it; churn: the term whose renewal was lost. A term ending in "
        "the period with its renewal still open counts at its start value. "
        f"{MONEY_TEXT}. The chart: the retention to the end of each week.",
        period="The cohort on the period's first day; the deals that moved it "
        "by the day they closed in the period.",
        team="The team of the deal's owner: the terms at the start, and the "
        "sales and expansions won, count for their owner's team; a renewal "
        "moves the term it renews, so it counts with that term.",
        segment=SEGMENT_TEXT,
    ),
    measure=measure_retention,
    records=retention_records,
    position=40,
)


def register() -> None:
    measurement.register(PIPELINE_GROWTH, HANDOFF_TIME, WIN_RATE, RETENTION)
