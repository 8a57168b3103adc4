"""The expansion reports: time between linked deals, win rate by expansion
type, expansion's share of new ARR, and net revenue retention.

`expansion_report(period)` reads the closed deals once and hands them, as
plain `DealFact`s, to pure functions that need no database in their tests.
The period runs from `starts_on` to `ends_on`, both days included; a deal is
in it when it closed in it. Imported history counts like every other deal.

Net revenue retention is also summed in SQL (`retention_in_sql`), for the
dashboard, which reads it for any period, team and segment without loading
deals. Both follow the definition below, with the same deals (`COUNTED`),
ARR (`bowtie.exchange`) and terms (`bowtie.terms`); the tests hold them equal.

Definitions (the page repeats them for its readers):

ARR
    A won deal's amount per year in EUR (`handoffs.involvement.
    annual_value_in_euros`: amount × 12 / term months, at the rate the deal
    stored when it was created). A deal stored without a rate has no ARR;
    each figure counts such deals apart and leaves them out.
Term
    A sale's term starts the day it closes; a renewal's the day after the
    term it renews ends (its expected close). It lasts `term_months`, ended
    as `bowtie.terms` ends terms.
Time between linked deals
    Days from the close of the deal grown from to the close of the deal that
    grew from it, for won deals that closed in the period: expansions by the
    type of their pipeline and sales linked by lineage (`Deal.expands`), and
    renewals (`Deal.renews`). Median, and p90 by nearest rank.
Win rate by expansion type
    Won over won and lost, of the expansion deals that closed in the period.
    Targets (issue 6): upsell above 40 %, a new buying group above 20 %; the
    warm cross-sell has none.
Expansion share of new ARR
    ARR of the deals won in the period in the expansion pipelines, over the
    ARR of every deal won in the period outside the Renewals pipeline.
Net revenue retention
    The cohort is the accounts with ARR at the start: a term of a deal won
    before the first day of the period in force on that day. Then
    NRR = (start ARR + expansion − contraction − churn) / start ARR, where,
    for the cohort's accounts and the deals that closed in the period:
    expansion is the ARR of every deal won other than a renewal (an
    expansion, or another sale to an existing customer), plus what a won
    renewal adds over the term it renews; contraction is what a won renewal
    is below the term it renews; churn is the ARR of the term a lost
    (churned) renewal renewed. A renewal counts only when the term it renews
    was in force at the start. A term that ends in the period with its
    renewal still open is neither kept nor lost yet: it counts at its start
    value until the renewal closes.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import reduce
from operator import or_
from statistics import median

from django.db.models import Case, Count, Q, Sum, When
from django.db.models.functions import TruncWeek
from django.db.models.lookups import GreaterThan, LessThan

from bowtie.exchange import annual_value_in_base_sql
from bowtie.models import Deal, Pipeline, Stage
from bowtie.terms import first_start_in_force, term_ends_on
from handoffs import involvement
from handoffs.metrics import percentile
from handoffs.renewals import term_starts_on

WON, LOST = Stage.Outcome.WON, Stage.Outcome.LOST
ExpansionType = Pipeline.ExpansionType

# Issue 6: "upsell target above 40 %, new buying group above 20 %".
WIN_RATE_TARGETS = {
    ExpansionType.UPSELL: 0.40,
    ExpansionType.NEW_BUYING_GROUP: 0.20,
}
REPEAT_SALE = "repeat_sale"
RENEWAL = "renewal"
UNTYPED_EXPANSION = "expansion"
GAP_GROUPS = [
    *ExpansionType.choices,
    (REPEAT_SALE, "Repeat sale (lineage)"),
    (RENEWAL, "Renewal"),
]
NEW_BUSINESS = "new_business"
ZERO = Decimal(0)
ONE_DAY = timedelta(days=1)
# The deals the reports read: every deal won, and every expansion and renewal
# lost (a lost renewal is churn).
COUNTED = Q(stage__outcome=WON) | Q(
    stage__outcome=LOST,
    pipeline__kind__in=[Pipeline.Kind.EXPANSION, Pipeline.Kind.RENEWALS],
)


@dataclass(frozen=True)
class Period:
    starts_on: date
    ends_on: date

    def holds(self, day: date | None) -> bool:
        return day is not None and self.starts_on <= day <= self.ends_on


@dataclass(frozen=True)
class DealFact:
    """What the reports need of one closed deal."""

    pk: int
    account_id: int | None
    kind: str
    expansion_type: str
    outcome: str
    closed_on: date
    term_starts_on: date | None
    term_ends_on: date | None
    arr: Decimal | None
    expands_id: int | None = None
    renews_id: int | None = None

    @property
    def is_won(self) -> bool:
        return self.outcome == WON

    def is_in_force_on(self, day: date) -> bool:
        if self.term_starts_on is None or self.term_ends_on is None:
            return False
        return self.term_starts_on <= day <= self.term_ends_on


def annual_value(deal: Deal) -> Decimal | None:
    # At the rate the deal stored when it was created, so a later rate moves
    # no report, and the report reads no rate table.
    return involvement.annual_value_in_euros(deal)


def fact_of(deal: Deal) -> DealFact:
    starts_on = term_starts_on(deal)
    ends_on = (
        term_ends_on(starts_on, deal.term_months)
        if starts_on is not None and deal.term_months
        else None
    )
    return DealFact(
        pk=deal.pk,
        account_id=deal.account_id,
        kind=deal.pipeline.kind,
        expansion_type=deal.pipeline.expansion_type,
        outcome=deal.stage.outcome,
        closed_on=deal.closed_on,
        term_starts_on=starts_on,
        term_ends_on=ends_on,
        arr=annual_value(deal) if deal.stage.outcome == WON else None,
        expands_id=deal.expands_id,
        renews_id=deal.renews_id,
    )


def load_facts(ends_on: date) -> list[DealFact]:
    """Every deal won, and every expansion and renewal lost, by `ends_on`."""
    deals = (
        Deal.objects.filter(COUNTED, closed_on__isnull=False, closed_on__lte=ends_on)
        .select_related("pipeline", "stage")
        .defer("packet")
        .order_by("closed_on", "pk")
    )
    return [fact_of(deal) for deal in deals]


# Time between linked deals ----------------------------------------------------


@dataclass(frozen=True)
class GapRow:
    key: str
    label: str
    days: list[int]

    @property
    def deal_count(self) -> int:
        return len(self.days)

    @property
    def median_days(self) -> float | None:
        return median(self.days) if self.days else None

    @property
    def p90_days(self) -> float | None:
        return percentile(self.days, 0.9)


def gap_group(fact: DealFact) -> str | None:
    if fact.kind == Pipeline.Kind.RENEWALS:
        return RENEWAL if fact.renews_id else None
    if fact.kind == Pipeline.Kind.EXPANSION:
        return fact.expansion_type or UNTYPED_EXPANSION
    return REPEAT_SALE if fact.expands_id else None


def time_between_deals(facts: list[DealFact], period: Period) -> list[GapRow]:
    """Days from the deal grown from to the deal grown, by kind of growth."""
    by_pk = {fact.pk: fact for fact in facts}
    days = defaultdict(list)
    for fact in facts:
        if not (fact.is_won and period.holds(fact.closed_on)):
            continue
        group = gap_group(fact)
        if group is None:
            continue
        parent = by_pk.get(fact.renews_id if group == RENEWAL else fact.expands_id)
        if parent is None:
            continue
        days[group].append((fact.closed_on - parent.closed_on).days)

    groups = list(GAP_GROUPS)
    if UNTYPED_EXPANSION in days:
        groups.insert(3, (UNTYPED_EXPANSION, "Expansion, type not set"))
    return [GapRow(key, str(label), sorted(days[key])) for key, label in groups]


# Win rate by expansion type ---------------------------------------------------


@dataclass(frozen=True)
class WinRateRow:
    key: str
    label: str
    won_count: int
    lost_count: int
    target: float | None

    @property
    def closed_count(self) -> int:
        return self.won_count + self.lost_count

    @property
    def win_rate(self) -> float | None:
        return self.won_count / self.closed_count if self.closed_count else None

    @property
    def is_on_target(self) -> bool | None:
        if self.target is None or self.win_rate is None:
            return None
        return self.win_rate > self.target


def win_rates(facts: list[DealFact], period: Period) -> list[WinRateRow]:
    counts = Counter()
    for fact in facts:
        if fact.kind == Pipeline.Kind.EXPANSION and period.holds(fact.closed_on):
            counts[(fact.expansion_type, fact.outcome)] += 1
    return [
        WinRateRow(
            key,
            str(label),
            counts[(key, WON)],
            counts[(key, LOST)],
            WIN_RATE_TARGETS.get(key),
        )
        for key, label in ExpansionType.choices
    ]


# Expansion share of new ARR ---------------------------------------------------


@dataclass(frozen=True)
class ArrRow:
    key: str
    label: str
    deal_count: int
    arr: Decimal


@dataclass(frozen=True)
class NewArr:
    rows: list[ArrRow]
    unconverted_count: int

    @property
    def total_count(self) -> int:
        return sum(row.deal_count for row in self.rows)

    @property
    def total_arr(self) -> Decimal:
        return sum((row.arr for row in self.rows), ZERO)

    @property
    def expansion_arr(self) -> Decimal:
        return sum((row.arr for row in self.rows if row.key != NEW_BUSINESS), ZERO)

    @property
    def expansion_share(self) -> Decimal | None:
        return self.expansion_arr / self.total_arr if self.total_arr else None


def new_arr(facts: list[DealFact], period: Period) -> NewArr:
    arr, counts, unconverted = defaultdict(lambda: ZERO), Counter(), 0
    for fact in facts:
        is_new = fact.kind in (Pipeline.Kind.NEW_BUSINESS, Pipeline.Kind.EXPANSION)
        if not (fact.is_won and is_new and period.holds(fact.closed_on)):
            continue
        if fact.arr is None:
            unconverted += 1
            continue
        key = NEW_BUSINESS if fact.kind == Pipeline.Kind.NEW_BUSINESS else None
        key = key or fact.expansion_type or UNTYPED_EXPANSION
        arr[key] += fact.arr
        counts[key] += 1

    groups = [(NEW_BUSINESS, "New business"), *ExpansionType.choices]
    if UNTYPED_EXPANSION in counts:
        groups.append((UNTYPED_EXPANSION, "Expansion, type not set"))
    rows = [ArrRow(key, str(label), counts[key], arr[key]) for key, label in groups]
    return NewArr(rows, unconverted)


# Net revenue retention --------------------------------------------------------


@dataclass
class Retention:
    start_arr: Decimal = ZERO
    expansion_arr: Decimal = ZERO
    contraction_arr: Decimal = ZERO
    churn_arr: Decimal = ZERO
    cohort_account_count: int = 0
    unconverted_count: int = 0

    @property
    def end_arr(self) -> Decimal:
        return (
            self.start_arr + self.expansion_arr - self.contraction_arr - self.churn_arr
        )

    @property
    def rate(self) -> Decimal | None:
        return self.end_arr / self.start_arr if self.start_arr else None


def net_revenue_retention(facts: list[DealFact], period: Period) -> Retention:
    """The cohort's ARR at the start, moved by what closed in the period."""
    retention = Retention()
    start = period.starts_on
    in_force = {}
    for fact in facts:
        counted = fact.is_won and fact.account_id is not None
        if counted and fact.closed_on < start and fact.is_in_force_on(start):
            if fact.arr is None:
                retention.unconverted_count += 1
                continue
            in_force[fact.pk] = fact
    retention.start_arr = sum((fact.arr for fact in in_force.values()), ZERO)
    cohort = {fact.account_id for fact in in_force.values()}
    retention.cohort_account_count = len(cohort)

    for fact in facts:
        if fact.account_id not in cohort or not period.holds(fact.closed_on):
            continue
        if fact.kind != Pipeline.Kind.RENEWALS:
            if fact.is_won:
                add_expansion(retention, fact)
            continue
        renewed = in_force.get(fact.renews_id)
        if renewed is not None:
            move_by_renewal(retention, fact, renewed)
    return retention


def add_expansion(retention: Retention, fact: DealFact) -> None:
    if fact.arr is None:
        retention.unconverted_count += 1
        return
    retention.expansion_arr += fact.arr


def move_by_renewal(retention: Retention, renewal: DealFact, renewed: DealFact):
    if renewal.outcome == LOST:
        retention.churn_arr += renewed.arr
        return
    if renewal.arr is None:
        retention.unconverted_count += 1
        return
    change = renewal.arr - renewed.arr
    if change > 0:
        retention.expansion_arr += change
    else:
        retention.contraction_arr -= change


# Net revenue retention in SQL -------------------------------------------------

# A deal has ARR when it has an amount and kept a rate (`annual_value_in_base`).
CONVERTED = Q(amount__isnull=False, base_rate__isnull=False)
ARR = annual_value_in_base_sql()
RENEWED_ARR = annual_value_in_base_sql("renews")
IS_RENEWAL = Q(pipeline__kind=Pipeline.Kind.RENEWALS)
SALE_WON = ~IS_RENEWAL & Q(stage__outcome=WON)
RENEWAL_WON = IS_RENEWAL & Q(stage__outcome=WON)
RENEWAL_LOST = IS_RENEWAL & Q(stage__outcome=LOST)
EVERY_DEAL = Q()


def in_force_on(day: date) -> Q:
    """Deals won before `day` whose term is in force on it, with an account.

    As `DealFact.is_in_force_on`: a sale's term starts the day it closed, a
    renewal's the day after its expected close; a term of m months is in
    force from its start until it renews (`bowtie.terms`). For each term
    length in use (one query reads them) that is a start from
    `first_start_in_force` on, so SQL needs no month arithmetic of its own.
    """
    won_before = Q(stage__outcome=WON, account__isnull=False, closed_on__lt=day)
    lengths = (
        Deal.objects.filter(won_before, term_months__gte=1)
        .order_by()
        .values_list("term_months", flat=True)
        .distinct()
    )
    terms = []
    for months in sorted(lengths):
        first = first_start_in_force(day, months)
        sale = Q(renews__isnull=True, closed_on__gte=first)
        renewal = Q(
            renews__isnull=False,
            expected_close_on__gte=first - ONE_DAY,
            expected_close_on__lt=day,
        )
        terms.append(Q(term_months=months) & (sale | renewal))
    if not terms:
        return Q(pk__in=[])
    return won_before & reduce(or_, terms)


@dataclass(frozen=True)
class RetentionWeek:
    """What the deals that closed in one week (from its Monday) moved."""

    monday: date
    expansion_arr: Decimal
    contraction_arr: Decimal
    churn_arr: Decimal
    deal_count: int


@dataclass(frozen=True)
class RetentionInSql:
    retention: Retention
    # Terms in force at the start, with a rate or without.
    term_count: int
    weeks: list[RetentionWeek]

    @property
    def deal_count(self) -> int:
        """The terms at the start and the deals that moved them."""
        return self.term_count + sum(week.deal_count for week in self.weeks)


def retention_terms(period: Period, terms: Q = EVERY_DEAL):
    """The terms in force on the period's first day that `terms` selects."""
    return Deal.objects.filter(in_force_on(period.starts_on), terms)


def retention_moves(period: Period, cohort_terms, sales: Q = EVERY_DEAL):
    """The cohort's deals that closed in the period and move its ARR.

    Sales and expansions won that `sales` selects; renewals, won or lost, of
    a term of the cohort with a rate (they move that term, whoever owns them).
    """
    converted = cohort_terms.filter(CONVERTED)
    # DISTINCT: the planner then hashes the cohort's few accounts once,
    # instead of probing each account's deals for every deal that closed.
    return Deal.objects.filter(
        (SALE_WON & sales)
        | Q(
            IS_RENEWAL,
            stage__outcome__in=[WON, LOST],
            renews__in=converted.values("pk"),
        ),
        account__in=converted.values("account").distinct(),
        closed_on__gte=period.starts_on,
        closed_on__lte=period.ends_on,
    )


def retention_in_sql(period: Period, terms: Q = EVERY_DEAL, sales: Q = EVERY_DEAL):
    """`net_revenue_retention` of the deals `terms` and `sales` select, in SQL.

    `terms` picks the terms in force at the start that make the cohort,
    `sales` the sales and expansions won that count (a team's, a segment's);
    both empty, the figures are the report's. Three queries: the term
    lengths, the start, and the moves summed by the week they closed in,
    which come back beside the totals for the dashboard's chart.
    """
    in_force = retention_terms(period, terms)
    start = in_force.aggregate(
        start_arr=Sum(ARR),
        account_count=Count("account", distinct=True, filter=CONVERTED),
        term_count=Count("pk"),
        unconverted_count=Count("pk", filter=~CONVERTED),
    )
    change = ARR - RENEWED_ARR
    weekly = (
        retention_moves(period, in_force, sales)
        .annotate(monday=TruncWeek("closed_on"))
        .values("monday")
        .annotate(
            sold=Sum(ARR, filter=SALE_WON),
            rise=Sum(
                Case(When(GreaterThan(change, 0), then=change)), filter=RENEWAL_WON
            ),
            fall=Sum(Case(When(LessThan(change, 0), then=-change)), filter=RENEWAL_WON),
            churn=Sum(RENEWED_ARR, filter=RENEWAL_LOST),
            unconverted_count=Count("pk", filter=(SALE_WON | RENEWAL_WON) & ~CONVERTED),
            deal_count=Count("pk"),
        )
        .order_by("monday")
    )
    retention = Retention(
        start_arr=start["start_arr"] or ZERO,
        cohort_account_count=start["account_count"],
        unconverted_count=start["unconverted_count"],
    )
    weeks = []
    for row in weekly:
        week = RetentionWeek(
            monday=row["monday"],
            expansion_arr=(row["sold"] or ZERO) + (row["rise"] or ZERO),
            contraction_arr=row["fall"] or ZERO,
            churn_arr=row["churn"] or ZERO,
            deal_count=row["deal_count"],
        )
        retention.expansion_arr += week.expansion_arr
        retention.contraction_arr += week.contraction_arr
        retention.churn_arr += week.churn_arr
        retention.unconverted_count += row["unconverted_count"]
        weeks.append(week)
    return RetentionInSql(retention, start["term_count"], weeks)


# The whole report -------------------------------------------------------------


@dataclass(frozen=True)
class ExpansionReport:
    period: Period
    gaps: list[GapRow]
    win_rates: list[WinRateRow]
    new_arr: NewArr
    retention: Retention


def expansion_report(period: Period) -> ExpansionReport:
    """Every figure of the expansion page for `period`, from one read."""
    facts = load_facts(period.ends_on)
    return ExpansionReport(
        period,
        time_between_deals(facts, period),
        win_rates(facts, period),
        new_arr(facts, period),
        net_revenue_retention(facts, period),
    )
