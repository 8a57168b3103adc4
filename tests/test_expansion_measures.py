"""The Customer success → Sales metrics, on a book made through the services.

The period is the 13 weeks from Monday 6 January to Sunday 6 April 2025.
Every step happens at 09:00 UTC on its day unless said; money is EUR a year
(12-month terms). Cleo (CSM, Customer Success) owns the three accounts and
converts every signal; the ownership bands give a deal under 10,000 to her, up
to 50,000 to Ann (AM, Account Management), above to Alex (AE, Enterprise AEs),
who also sold the first deals.

Sales and renewals (closed won through the services, so each left a renewal):

| deal | account         | EUR     | won        | its renewal                      |
|------|-----------------|---------|------------|----------------------------------|
| k0   | Hooli (mid)     | 10,000  | 2024-01-06 | lost 01-20; its term ended 01-05 |
| h0   | Hooli           | 60,000  | 2024-01-07 | won 01-08 at 45,000              |
| g0   | Globex (ent.)   | 100,000 | 2024-03-01 | won 02-20 at 120,000             |
| i0   | Initech (small) | 40,000  | 2024-06-10 | lost 03-10                       |
| u0   | Initech         | GBP     | 2024-09-02 | open; no GBP rate was kept       |

Signals converted by Cleo (CS → Sales handoffs):

| deal | account | type         | EUR    | owner | opened     | accepted  | closed     |
|------|---------|--------------|--------|-------|------------|-----------|------------|
| e6   | Globex  | upsell       | 16,000 | Ann   | 2024-11-04 | next day  | open       |
| e0   | Globex  | upsell       | 12,500 | Ann   | 2024-11-18 | next day  | won 12-16  |
| e1   | Globex  | upsell       | 24,000 | Ann   | 2024-12-02 | next day  | won 02-03  |
| e2   | Globex  | cross-sell   | 60,000 | Alex  | 2025-01-13 | +48 h     | open       |
| e8   | Globex  | new logo     | 20,000 | Ann   | 2025-01-20 | +24 h     | open       |
| e11  | Hooli   | upsell       |  9,000 | Cleo  | 2025-01-27 | kept      | lost 02-17 |
| e3   | Initech | upsell       | 12,000 | Ann   | 2025-02-03 | +6 h      | lost 03-03 |
| e4   | Initech | upsell       |  8,000 | Cleo  | 2025-02-10 | kept      | won 03-17  |
| e10  | Hooli   | cross-sell   | 20,000 | Ann   | 2025-02-24 | +24 h     | won 03-10  |
| e5   | Hooli   | buying group | 30,000 | Ann   | 2025-03-03 | no        | open       |
| e9   | Initech | cross-sell   | 14,000 | Ann   | 2025-03-24 | sent back | open       |

e6 is USD 20,000 at the 1.25 kept when it was made. "Kept": the band gave
the deal to Cleo, so the handoff was accepted as it opened. And an Upsell
deal entered in the admin, with no handoff, is not from CS.

So the CS pipeline is e6 + e1 = 40,000 at the start and e2 + e5 + e9 + e6 =
120,000 at the end: +200 %. Handoff hours 6, 24, 24, 48 (the kept ones left
out): median 24, p90 48, two not accepted. Expansions closed in the period:
upsell 2 of 4, cross-sell 1 of 1: 60 %. Retention: h0 + g0 + i0 + e0 =
212,500 at the start (k0 ended the day before; u0 has no rate); expansion
20,000 (g0's renewal) + 24,000 + 20,000 + 8,000, contraction 15,000, churn
40,000: 229,500, 108 %.
"""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction
from types import SimpleNamespace

import pytest
import time_machine
from django.db import connection
from django.urls import reverse
from djmoney.money import Money

from bowtie import measurement
from bowtie.exchange import add_exchange_rate, annual_value_in_base
from bowtie.measurement import Point, Scope
from bowtie.models import Deal, Indicator, Person, Pipeline, Team, WorkingPeriod
from expansion import reports
from expansion.models import Signal, SignalKind
from expansion.services import (
    accept_expansion,
    convert_signal,
    move_expansion_stage,
    raise_signal,
    send_expansion_back,
)
from handoffs.closing import close_deal_won
from handoffs.deal_changes import change_deal
from tests import test_expansion_reports
from tests.deal_fixtures import COMPLETE_PACKET
from tests.factories import AccountFactory, PersonFactory, TeamFactory

QUARTER = Scope(date(2025, 1, 6), date(2025, 4, 6))
NOW = datetime(2025, 4, 7, 9, 0, tzinfo=UTC)
MONDAYS = [f"{date(2025, 1, 6) + timedelta(weeks=index):%d %b}" for index in range(13)]

# The report's own book, for its figures computed in SQL.
book = test_expansion_reports.book


def nine_on(day: date) -> datetime:
    return datetime.combine(day, time(9), tzinfo=UTC)


def office_hours(team: Team) -> None:
    WorkingPeriod.objects.bulk_create(
        WorkingPeriod(team=team, weekday=day, starts_at=time(9), ends_at=time(17))
        for day in range(5)
    )


def sell(world, account, amount, on: date, currency="EUR"):
    """A new-business deal Alex closes won on `on`; returns it and its renewal."""
    pipeline = Pipeline.objects.get(kind="new_business", is_default=True)
    with time_machine.travel(nine_on(on), tick=False):
        deal = Deal.objects.create(
            name=f"{account.name} {amount} {on}",
            account=account,
            owner=world.ae,
            pipeline=pipeline,
            stage=pipeline.stages.get(name="Engaging"),
            amount=Money(amount, currency),
            term_months=12,
            packet=COMPLETE_PACKET,
        )
        closed = close_deal_won(deal, world.ae, now=nine_on(on))
    return closed.deal, closed.renewal


def settle_renewal(world, renewal, outcome: str, on: date, amount=None) -> Deal:
    values = {"stage": renewal.pipeline.stages.get(outcome=outcome).pk}
    if amount is not None:
        values["amount"] = str(amount)
    with time_machine.travel(nine_on(on), tick=False):
        change = change_deal(
            renewal, values, actor=world.csm, source="test", now=nine_on(on)
        )
    return change.deal


def expand(world, account, expansion_type, amount, on, currency="EUR", **answer):
    """Cleo flags the account and converts the signal on `on`; the handoff."""
    now = nine_on(on)
    with time_machine.travel(now, tick=False):
        signal = raise_signal(
            account,
            SignalKind.SEATS_NEARLY_FULL,
            Signal.Source.CSM,
            world.csm,
            evidence="Seats nearly full.",
            now=now,
        )
        conversion = convert_signal(
            signal,
            world.csm,
            expansion_type,
            f"{account.name} {expansion_type} {on}",
            Money(amount, currency),
            answer.get("affects_existing_unit"),
            now=now,
        )
    return conversion.handoff


def accept(handoff, at: datetime):
    with time_machine.travel(at, tick=False):
        return accept_expansion(handoff, handoff.receiver, now=at)


def close(handoff, outcome: str, on: date) -> Deal:
    stage = handoff.deal.pipeline.stages.get(outcome=outcome)
    with time_machine.travel(nine_on(on), tick=False):
        return move_expansion_stage(handoff, handoff.deal.owner, stage, now=nine_on(on))


def build_book() -> SimpleNamespace:
    cs = TeamFactory(name="Customer Success", function="customer_success")
    am_team = TeamFactory(name="Account Management", function="account_management")
    sales = TeamFactory(name="Enterprise AEs")
    implementation = TeamFactory(name="Implementation", function="implementation")
    for team in (cs, am_team, sales, implementation):
        office_hours(team)
    implementation.head = PersonFactory(role="implementation", team=implementation)
    implementation.save()
    world = SimpleNamespace(
        cs=cs,
        am_team=am_team,
        sales=sales,
        csm=PersonFactory(full_name="Cleo Carter", role="csm", team=cs),
        am=PersonFactory(full_name="Ann Meyer", role="am", team=am_team),
        ae=PersonFactory(full_name="Alex Andersen", role="ae", team=sales),
    )
    globex = AccountFactory(name="Globex", owner=world.csm, employee_count=1500)
    initech = AccountFactory(name="Initech", owner=world.csm, employee_count=80)
    hooli = AccountFactory(name="Hooli", owner=world.csm, employee_count=400)
    with time_machine.travel(nine_on(date(2024, 1, 2)), tick=False):
        add_exchange_rate("USD", Decimal("1.25"), date(2024, 1, 2), None)

    _, rk0 = sell(world, hooli, 10_000, date(2024, 1, 6))
    _, rh0 = sell(world, hooli, 60_000, date(2024, 1, 7))
    _, rg0 = sell(world, globex, 100_000, date(2024, 3, 1))
    _, ri0 = sell(world, initech, 40_000, date(2024, 6, 10))
    sell(world, initech, 8_000, date(2024, 9, 2), currency="GBP")

    e6 = expand(world, globex, "upsell", 20_000, date(2024, 11, 4), currency="USD")
    accept(e6, nine_on(date(2024, 11, 5)))
    e0 = expand(world, globex, "upsell", 12_500, date(2024, 11, 18))
    close(accept(e0, nine_on(date(2024, 11, 19))), "won", date(2024, 12, 16))
    e1 = expand(world, globex, "upsell", 24_000, date(2024, 12, 2))
    e1 = accept(e1, nine_on(date(2024, 12, 3)))

    settle_renewal(world, rh0, "won", date(2025, 1, 8), amount="45000.00")
    e2 = expand(
        world,
        globex,
        "cross_sell",
        60_000,
        date(2025, 1, 13),
        affects_existing_unit=True,
    )
    accept(e2, nine_on(date(2025, 1, 15)))
    with time_machine.travel(nine_on(date(2025, 1, 8)), tick=False):
        upsell = Pipeline.objects.get(name="Upsell")
        Deal.objects.create(
            name="Globex upsell from the admin",
            account=globex,
            owner=world.am,
            pipeline=upsell,
            stage=upsell.stages.get(name="Identified"),
            amount=Money(50_000, "EUR"),
        )
    settle_renewal(world, rk0, "lost", date(2025, 1, 20))
    e8 = expand(
        world,
        globex,
        "cross_sell",
        20_000,
        date(2025, 1, 20),
        affects_existing_unit=False,
    )
    accept(e8, nine_on(date(2025, 1, 21)))
    e11 = expand(world, hooli, "upsell", 9_000, date(2025, 1, 27))
    close(e1, "won", date(2025, 2, 3))
    e3 = expand(world, initech, "upsell", 12_000, date(2025, 2, 3))
    e3 = accept(e3, datetime(2025, 2, 3, 15, 0, tzinfo=UTC))
    e4 = expand(world, initech, "upsell", 8_000, date(2025, 2, 10))
    close(e11, "lost", date(2025, 2, 17))
    settle_renewal(world, rg0, "won", date(2025, 2, 20), amount="120000.00")
    e10 = expand(
        world,
        hooli,
        "cross_sell",
        20_000,
        date(2025, 2, 24),
        affects_existing_unit=True,
    )
    e10 = accept(e10, nine_on(date(2025, 2, 25)))
    close(e3, "lost", date(2025, 3, 3))
    e5 = expand(
        world,
        hooli,
        "new_buying_group",
        30_000,
        date(2025, 3, 3),
        affects_existing_unit=True,
    )
    close(e10, "won", date(2025, 3, 10))
    settle_renewal(world, ri0, "lost", date(2025, 3, 10))
    close(e4, "won", date(2025, 3, 17))
    e9 = expand(
        world,
        initech,
        "cross_sell",
        14_000,
        date(2025, 3, 24),
        affects_existing_unit=True,
    )
    at = nine_on(date(2025, 3, 25))
    with time_machine.travel(at, tick=False):
        send_expansion_back(e9, world.am, "Which unit is it for?", now=at)

    world.handoffs = {
        "e6": e6,
        "e1": e1,
        "e2": e2,
        "e8": e8,
        "e3": e3,
        "e10": e10,
        "e5": e5,
        "e9": e9,
    }
    return world


@pytest.fixture
def world(db):
    return build_book()


def read(key: str, scope: Scope = QUARTER):
    return measurement.metric(key).measure(scope, NOW)


def rows_of(key: str, scope: Scope = QUARTER):
    records = measurement.metric(key).records(scope, NOW)
    return [
        [column.value(row) for column in records.columns] for row in records.rows
    ], [records.url_of(row) for row in records.rows]


def for_team(team: Team, scope: Scope = QUARTER) -> Scope:
    return Scope(scope.starts_on, scope.ends_on, frozenset({team.pk}), scope.segment)


def for_segment(segment: str, scope: Scope = QUARTER) -> Scope:
    return Scope(scope.starts_on, scope.ends_on, scope.team_ids, segment)


def percent_of(part: int, whole: int) -> float:
    return float(Fraction(100 * part, whole))


# Expansion pipeline from CS ---------------------------------------------------


def test_pipeline_growth_compares_the_day_before_with_the_last_day(world):
    reading = read("expansion_pipeline_growth")

    assert (reading.value, reading.count) == (200.0, 5)
    assert reading.details == (
        ("EUR at the start", 40_000.0),
        ("EUR at the end", 120_000.0),
        ("without a rate", 0),
    )
    # The change from the start to the end of each week, and the deals open.
    assert reading.series == tuple(
        Point(label, value, count)
        for label, value, count in zip(
            MONDAYS,
            [0, 150, 150, 172.5, 142.5, 162.5, 140, 190, 235, 185, 165, 200, 200],
            [2, 3, 3, 4, 4, 5, 4, 5, 5, 4, 3, 4, 4],
            strict=True,
        )
    )


def test_pipeline_growth_from_a_tuesday_to_a_wednesday(world):
    scope = Scope(date(2025, 1, 14), date(2025, 3, 26))

    reading = read("expansion_pipeline_growth", scope)

    # e2, made on Monday 13 January, is open at the start; e9 at the end.
    assert (reading.value, reading.details[:2]) == (
        20.0,
        (("EUR at the start", 100_000.0), ("EUR at the end", 120_000.0)),
    )
    assert [point.label for point in reading.series] == MONDAYS[1:12]
    assert reading.series[0] == Point("13 Jan", 0.0, 3)
    assert reading.series[-2:] == (Point("17 Mar", 6.0, 3), Point("24 Mar", 20.0, 4))


def test_pipeline_growth_for_a_team_a_segment_and_the_alert_s_window(world):
    last_four_weeks = Scope(date(2025, 3, 10), date(2025, 4, 6))

    am = read("expansion_pipeline_growth", for_team(world.am_team))
    sales = read("expansion_pipeline_growth", for_team(world.sales))
    enterprise = read("expansion_pipeline_growth", for_segment("enterprise"))
    window = read("expansion_pipeline_growth", last_four_weeks)

    # Ann: e6 + e1, then e6 + e5 + e9. Alex had nothing open at the start.
    assert (am.value, am.count, am.details[:2]) == (
        50.0,
        4,
        (("EUR at the start", 40_000.0), ("EUR at the end", 60_000.0)),
    )
    assert (sales.value, sales.count, sales.details[1]) == (
        None,
        1,
        ("EUR at the end", 60_000.0),
    )
    # Globex: e6 + e1, then e6 + e2.
    assert (enterprise.value, enterprise.count) == (90.0, 3)
    # From 134,000 on 9 March: the indicator's "below 0" holds.
    assert window.value == percent_of(120_000 - 134_000, 134_000)
    assert window.value < 0


def test_pipeline_records_are_the_deals_open_at_either_end(world):
    rows, urls = rows_of("expansion_pipeline_growth")

    assert [[str(value) for value in row] for row in rows] == [
        [
            "Globex upsell 2024-11-04",
            "Globex",
            "Upsell",
            "Ann Meyer",
            "Account Management",
            "2024-11-04",
            "Identified",
            "None",
            "16000.00",
            "yes",
            "yes",
        ],
        [
            "Globex upsell 2024-12-02",
            "Globex",
            "Upsell",
            "Ann Meyer",
            "Account Management",
            "2024-12-02",
            "Won",
            "2025-02-03",
            "24000.00",
            "yes",
            "no",
        ],
        [
            "Globex cross_sell 2025-01-13",
            "Globex",
            "Cross-sell (warm)",
            "Alex Andersen",
            "Enterprise AEs",
            "2025-01-13",
            "Identified",
            "None",
            "60000.00",
            "no",
            "yes",
        ],
        [
            "Hooli new_buying_group 2025-03-03",
            "Hooli",
            "Cross-sell (new buying group)",
            "Ann Meyer",
            "Account Management",
            "2025-03-03",
            "Discovery",
            "None",
            "30000.00",
            "no",
            "yes",
        ],
        [
            "Initech cross_sell 2025-03-24",
            "Initech",
            "Cross-sell (warm)",
            "Ann Meyer",
            "Account Management",
            "2025-03-24",
            "Identified",
            "None",
            "14000.00",
            "no",
            "yes",
        ],
    ]
    handoffs = world.handoffs
    assert urls == [
        reverse("expansion-detail", args=[handoffs[key].pk])
        for key in ("e6", "e1", "e2", "e5", "e9")
    ]


# CS → Sales handoff time ------------------------------------------------------


def test_handoff_time_is_the_median_of_the_accepted_handoffs(world):
    reading = read("cs_to_sales_handoff_time")

    assert (reading.value, reading.count) == (24.0, 6)
    assert reading.details == (("p90", 48.0), ("not yet accepted", 2))
    values = [None, 48, 24, None, 6, None, None, 24, None, None, None, None, None]
    counts = [0, 1, 1, 0, 1, 0, 0, 1, 1, 0, 0, 1, 0]
    assert reading.series == tuple(
        Point(label, value, count)
        for label, value, count in zip(MONDAYS, values, counts, strict=True)
    )


def test_handoff_time_for_a_team_and_a_segment(world):
    am = read("cs_to_sales_handoff_time", for_team(world.am_team))
    sales = read("cs_to_sales_handoff_time", for_team(world.sales))
    small = read("cs_to_sales_handoff_time", for_segment("small"))

    assert (am.value, am.count, am.details) == (
        24.0,
        5,
        (("p90", 24.0), ("not yet accepted", 2)),
    )
    assert (sales.value, sales.count, sales.details) == (
        48.0,
        1,
        (("p90", 48.0), ("not yet accepted", 0)),
    )
    # Initech: e3 after 6 hours, e9 sent back; e4 was Cleo's own.
    assert (small.value, small.count, small.details) == (
        6.0,
        2,
        (("p90", 6.0), ("not yet accepted", 1)),
    )


def test_handoff_time_records_list_each_handoff_opened(world):
    rows, urls = rows_of("cs_to_sales_handoff_time")

    assert [[str(value) for value in row] for row in rows] == [
        [
            "Initech cross_sell 2025-03-24",
            "Initech",
            "Cleo Carter",
            "Ann Meyer",
            "Account Management",
            "2025-03-24 09:00",
            "",
            "None",
            "Sent back",
        ],
        [
            "Hooli new_buying_group 2025-03-03",
            "Hooli",
            "Cleo Carter",
            "Ann Meyer",
            "Account Management",
            "2025-03-03 09:00",
            "",
            "None",
            "Open",
        ],
        [
            "Hooli cross_sell 2025-02-24",
            "Hooli",
            "Cleo Carter",
            "Ann Meyer",
            "Account Management",
            "2025-02-24 09:00",
            "2025-02-25 09:00",
            "24.0",
            "Completed",
        ],
        [
            "Initech upsell 2025-02-03",
            "Initech",
            "Cleo Carter",
            "Ann Meyer",
            "Account Management",
            "2025-02-03 09:00",
            "2025-02-03 15:00",
            "6.0",
            "Completed",
        ],
        [
            "Globex cross_sell 2025-01-20",
            "Globex",
            "Cleo Carter",
            "Ann Meyer",
            "Account Management",
            "2025-01-20 09:00",
            "2025-01-21 09:00",
            "24.0",
            "Accepted",
        ],
        [
            "Globex cross_sell 2025-01-13",
            "Globex",
            "Cleo Carter",
            "Alex Andersen",
            "Enterprise AEs",
            "2025-01-13 09:00",
            "2025-01-15 09:00",
            "48.0",
            "Accepted",
        ],
    ]
    handoffs = world.handoffs
    assert urls == [
        reverse("expansion-detail", args=[handoffs[key].pk])
        for key in ("e9", "e5", "e10", "e3", "e8", "e2")
    ]


# Win rate by expansion type ---------------------------------------------------


def test_win_rate_has_a_bar_per_expansion_type(world):
    reading = read("expansion_win_rate")
    cs = read("expansion_win_rate", for_team(world.cs))
    small = read("expansion_win_rate", for_segment("small"))

    assert (reading.value, reading.count, reading.details) == (
        60.0,
        5,
        (("won", 3), ("lost", 2)),
    )
    assert reading.series == (
        Point("Upsell", 50.0, 4),
        Point("Cross-sell (warm)", 100.0, 1),
        Point("Cross-sell (new buying group)", None, 0),
    )
    # Cleo's own: e4 won, e11 lost. Initech: e3 lost, e4 won.
    assert (cs.value, cs.count, cs.series[0]) == (50.0, 2, Point("Upsell", 50.0, 2))
    assert (small.value, small.count) == (50.0, 2)
    # The lowest of the report's per-type targets.
    assert measurement.metric("expansion_win_rate").target.minimum == Decimal(20)


def test_win_rate_records_are_the_closed_expansion_deals(world):
    rows, urls = rows_of("expansion_win_rate")

    assert [[str(value) for value in row] for row in rows] == [
        [
            "Initech upsell 2025-02-10",
            "Initech",
            "Upsell",
            "Cleo Carter",
            "Customer Success",
            "2025-03-17",
            "Won",
            "8000.00",
        ],
        [
            "Hooli cross_sell 2025-02-24",
            "Hooli",
            "Cross-sell (warm)",
            "Ann Meyer",
            "Account Management",
            "2025-03-10",
            "Won",
            "20000.00",
        ],
        [
            "Initech upsell 2025-02-03",
            "Initech",
            "Upsell",
            "Ann Meyer",
            "Account Management",
            "2025-03-03",
            "Lost",
            "12000.00",
        ],
        [
            "Hooli upsell 2025-01-27",
            "Hooli",
            "Upsell",
            "Cleo Carter",
            "Customer Success",
            "2025-02-17",
            "Lost",
            "9000.00",
        ],
        [
            "Globex upsell 2024-12-02",
            "Globex",
            "Upsell",
            "Ann Meyer",
            "Account Management",
            "2025-02-03",
            "Won",
            "24000.00",
        ],
    ]
    assert urls[1] == reverse("expansion-detail", args=[world.handoffs["e10"].pk])


# Net revenue retention --------------------------------------------------------


def test_net_revenue_retention_equals_the_expansion_report_s(world):
    reading = read("net_revenue_retention")
    report = reports.expansion_report(
        reports.Period(QUARTER.starts_on, QUARTER.ends_on)
    )

    assert (reading.value, reading.count) == (108.0, 11)
    assert reading.value == float(report.retention.rate * 100)
    assert reading.details == (
        ("accounts in the cohort", 3),
        ("EUR at the start", 212_500.0),
        ("EUR expansion", 72_000.0),
        ("EUR contraction", 15_000.0),
        ("EUR churn", 40_000.0),
        ("without a rate", 1),
    )
    # Retention to the end of each week: h0's renewal, e1, g0's renewal, i0's
    # churn with e10, e4.
    ends = [197_500] * 4 + [221_500] * 2 + [241_500] * 3 + [221_500]
    ends += [229_500] * 3
    counts = [1, 0, 0, 0, 1, 0, 1, 0, 0, 2, 1, 0, 0]
    assert reading.series == tuple(
        Point(label, percent_of(end, 212_500), count)
        for label, end, count in zip(MONDAYS, ends, counts, strict=True)
    )


def test_net_revenue_retention_for_a_team_and_a_segment(world):
    sales = read("net_revenue_retention", for_team(world.sales))
    am = read("net_revenue_retention", for_team(world.am_team))
    small = read("net_revenue_retention", for_segment("small"))

    # Alex's terms h0, g0, i0 (and u0) move with their renewals, Cleo's.
    assert (sales.value, sales.count) == (82.5, 7)
    assert sales.details[1:5] == (
        ("EUR at the start", 200_000.0),
        ("EUR expansion", 20_000.0),
        ("EUR contraction", 15_000.0),
        ("EUR churn", 40_000.0),
    )
    # Ann's e0 at Globex, and her e1 won there.
    assert (am.value, am.count, am.details[0]) == (
        292.0,
        2,
        ("accounts in the cohort", 1),
    )
    # Initech: i0 churned, e4 won; u0 without a rate.
    assert (small.value, small.count, small.details[-1]) == (
        20.0,
        4,
        ("without a rate", 1),
    )


def test_net_revenue_retention_records_say_how_each_deal_moved_it(world):
    rows, urls = rows_of("net_revenue_retention")

    assert [[str(value) for value in row[:3] + row[5:]] for row in rows] == [
        ["Hooli 60000 2024-01-07", "Hooli", "New business", "2024-01-07"]
        + ["In force at the start", "60000.00", "60000.00"],
        ["Globex 100000 2024-03-01", "Globex", "New business", "2024-03-01"]
        + ["In force at the start", "100000.00", "100000.00"],
        ["Initech 40000 2024-06-10", "Initech", "New business", "2024-06-10"]
        + ["In force at the start", "40000.00", "40000.00"],
        ["Initech 8000 2024-09-02", "Initech", "New business", "2024-09-02"]
        + ["In force at the start", "None", "None"],
        ["Globex upsell 2024-11-18", "Globex", "Upsell", "2024-12-16"]
        + ["In force at the start", "12500.00", "12500.00"],
        ["Renewal: Hooli 60000 2024-01-07", "Hooli", "Renewals", "2025-01-08"]
        + ["Renewal won", "45000.00", "-15000.00"],
        ["Globex upsell 2024-12-02", "Globex", "Upsell", "2025-02-03"]
        + ["Won", "24000.00", "24000.00"],
        ["Renewal: Globex 100000 2024-03-01", "Globex", "Renewals", "2025-02-20"]
        + ["Renewal won", "120000.00", "20000.00"],
        ["Renewal: Initech 40000 2024-06-10", "Initech", "Renewals", "2025-03-10"]
        + ["Renewal lost (churn)", "40000.00", "-40000.00"],
        ["Hooli cross_sell 2025-02-24", "Hooli", "Cross-sell (warm)", "2025-03-10"]
        + ["Won", "20000.00", "20000.00"],
        ["Initech upsell 2025-02-10", "Initech", "Upsell", "2025-03-17"]
        + ["Won", "8000.00", "8000.00"],
    ]
    assert urls[0].startswith("/deals/")


def test_retention_in_sql_is_the_report_s_on_its_own_book(book):
    for period in (
        test_expansion_reports.YEAR,
        reports.Period(date(2027, 4, 1), date(2027, 12, 31)),
    ):
        expected = reports.expansion_report(period).retention

        found = reports.retention_in_sql(period).retention

        assert found == expected


# The dashboard ----------------------------------------------------------------


def test_the_cs_to_sales_dashboard_shows_these_figures_to_revops(client, world):
    admin = PersonFactory(role=Person.Role.REVOPS_ADMIN)
    client.force_login(admin.user)
    period = {"starts_on": "2025-01-06", "ends_on": "2025-04-06"}

    with time_machine.travel(NOW, tick=False):
        page = client.get(reverse("dashboard-handoff", args=["cs_to_sales"]), period)
        records = client.get(
            reverse("metric-records", args=["net_revenue_retention"]), period
        )

    assert page.status_code == 200
    text = page.content.decode()
    for key, shown in (
        ("expansion_pipeline_growth", "200 %"),
        ("cs_to_sales_handoff_time", "24 h"),
        ("expansion_win_rate", "60 %"),
        ("net_revenue_retention", "108 %"),
    ):
        assert f'data-metric="{key}">{shown}</strong>' in text
    assert text.count("<svg") == 4
    assert "Target at least 0.01 %" in text
    assert "Target at most 48 h" in text
    assert "Target 110-130 %" in text
    assert "· p90 48 · not yet accepted 2" in text
    assert records.status_code == 200
    assert records.context["page_obj"].paginator.count == 11


def test_the_indicator_s_metric_is_registered_in_percent(db):
    indicator = Indicator.objects.get(key="expansion_pipeline_shrinking")

    watched = measurement.metric(indicator.metric_key)

    assert (watched.unit, watched.handoff) == ("percent", "cs_to_sales")
    assert [metric.key for metric in measurement.metrics("cs_to_sales")] == [
        "expansion_pipeline_growth",
        "cs_to_sales_handoff_time",
        "expansion_win_rate",
        "net_revenue_retention",
    ]


# ARR in SQL -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "months"),
    [
        ("24000.00", "EUR", 12),
        ("1000.00", "EUR", 7),
        ("1000.00", "USD", 12),
        ("999.99", "USD", 36),
        ("1000.05", "EUR", 24),
        ("1000.15", "EUR", 24),
    ],
)
def test_arr_in_sql_is_annual_value_in_base_to_the_cent(db, amount, currency, months):
    # Half a cent exactly: SQLite's floats hold no exact halves.
    is_half = (Decimal(amount) * 12 / months * 100) % 1 == Decimal("0.5")
    if is_half and connection.vendor == "sqlite":
        pytest.skip("SQLite computes in binary floats; PostgreSQL in decimals.")
    with time_machine.travel(nine_on(date(2025, 1, 2)), tick=False):
        add_exchange_rate("USD", Decimal("1.08"), date(2025, 1, 2), None)
        pipeline = Pipeline.objects.get(kind="new_business", is_default=True)
        deal = Deal.objects.create(
            name="Priced",
            pipeline=pipeline,
            stage=pipeline.stages.first(),
            amount=Money(Decimal(amount), currency),
            term_months=months,
        )

    found = Deal.objects.annotate(arr=reports.ARR).get(pk=deal.pk).arr

    assert found == annual_value_in_base(deal)
