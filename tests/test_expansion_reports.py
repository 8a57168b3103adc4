"""The expansion report: figures, page, CSV, on a book whose numbers are known.

The period is 2027. Amounts are EUR a year (12-month terms) unless said.

| account | deal | pipeline         | outcome | closed     | EUR     | grows from   |
|---------|------|------------------|---------|------------|---------|--------------|
| Alpha   | a0   | New business     | won     | 2026-03-01 | 100,000 |              |
| Alpha   | ra   | Renewals         | won     | 2027-02-20 | 112,000 | renews a0    |
| Alpha   | a1   | Upsell           | won     | 2027-04-10 |  24,000 | a0, 405 days |
| Alpha   | a2,3 | Upsell           | lost    | 2027-05-01 |         |              |
| Beta    | b0   | New business     | won     | 2026-06-15 |  50,000 |              |
| Beta    | bx   | Upsell           | won     | 2026-11-01 |  10,000 | b0, in 2026  |
| Beta    | rb   | Renewals         | lost    | 2027-06-20 |         | renews b0    |
| Beta    | b1   | Warm cross-sell  | won     | 2027-03-01 |  12,000 | b0, 259 days |
| Beta    | b2   | Warm cross-sell  | lost    | 2027-04-01 |         |              |
| Gamma   | g0   | New business     | won     | 2026-09-01 |  40,000 |              |
| Gamma   | rg   | Renewals         | won     | 2027-08-25 |  30,000 | renews g0    |
| Gamma   | g1   | New buying group | won     | 2027-10-01 |  20,000 | g0, 395 days |
| Gamma   | g2-4 | New buying group | lost    | 2027-06-01 |         |              |
| Delta   | d0   | New business     | won     | 2027-02-01 |  54,000 |              |
| Delta   | d1   | Upsell           | won     | 2027-07-01 |  10,000 | d0, 150 days |
| Delta   | d2   | Upsell           | lost    | 2027-08-01 |         |              |
| Delta   | d3   | New business     | won     | 2027-03-03 | USD 900 | no rate kept |
| Alpha   | a9   | Upsell           | won     | 2028-01-05 |  99,000 | after 2027   |

So: start ARR 200,000 at Alpha, Beta and Gamma (a0, b0, bx, g0); expansion
12,000 (ra over a0) + 24,000 + 12,000 + 20,000 = 68,000; contraction 10,000
(rg under g0); churn 50,000 (rb); NRR 208,000 / 200,000 = 104 %. New ARR
120,000, of which expansion 66,000: 55 %. Upsell wins 2 of 5 (40 %, not above
its 40 % target), a new buying group 1 of 4 (25 %, above 20 %).
"""

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from djmoney.money import Money

from bowtie.models import Deal, Pipeline, Stage
from expansion import reports
from expansion.reports import Period
from tests.factories import AccountFactory, PersonFactory

YEAR = Period(date(2027, 1, 1), date(2027, 12, 31))
TODAY = datetime(2028, 1, 10, 9, 0, tzinfo=UTC)

PIPELINES = {
    "new": "New business",
    "renewal": "Renewals",
    "upsell": "Upsell",
    "warm": "Cross-sell (warm)",
    "group": "Cross-sell (new buying group)",
}


def make(account, pipeline, outcome, closed_on, amount=None, **values) -> Deal:
    pipeline = Pipeline.objects.get(name=PIPELINES[pipeline])
    currency = values.pop("currency", "EUR")
    return Deal.objects.create(
        name=f"{account} {pipeline} {closed_on}",
        account=account,
        pipeline=pipeline,
        stage=pipeline.stages.get(outcome=outcome),
        amount=Money(amount, currency) if amount is not None else None,
        closed_on=closed_on,
        term_months=12,
        **values,
    )


@pytest.fixture
def book(db):
    alpha, beta, gamma, delta = (
        AccountFactory(name=name) for name in ("Alpha", "Beta", "Gamma", "Delta")
    )
    a0 = make(alpha, "new", "won", date(2026, 3, 1), 100_000)
    make(
        alpha,
        "renewal",
        "won",
        date(2027, 2, 20),
        112_000,
        renews=a0,
        expected_close_on=date(2027, 2, 28),
    )
    make(alpha, "upsell", "won", date(2027, 4, 10), 24_000, expands=a0)
    make(alpha, "upsell", "lost", date(2027, 5, 1), expands=a0)
    make(alpha, "upsell", "lost", date(2027, 5, 1))
    make(alpha, "upsell", "won", date(2028, 1, 5), 99_000, expands=a0)

    b0 = make(beta, "new", "won", date(2026, 6, 15), 50_000)
    make(beta, "upsell", "won", date(2026, 11, 1), 10_000, expands=b0)
    make(
        beta,
        "renewal",
        "lost",
        date(2027, 6, 20),
        50_000,
        renews=b0,
        expected_close_on=date(2027, 6, 14),
    )
    make(beta, "warm", "won", date(2027, 3, 1), 12_000, expands=b0)
    make(beta, "warm", "lost", date(2027, 4, 1))

    g0 = make(gamma, "new", "won", date(2026, 9, 1), 40_000)
    make(
        gamma,
        "renewal",
        "won",
        date(2027, 8, 25),
        30_000,
        renews=g0,
        expected_close_on=date(2027, 8, 31),
    )
    make(gamma, "group", "won", date(2027, 10, 1), 20_000, expands=g0)
    for _ in range(3):
        make(gamma, "group", "lost", date(2027, 6, 1))

    d0 = make(delta, "new", "won", date(2027, 2, 1), 54_000)
    make(delta, "upsell", "won", date(2027, 7, 1), 10_000, expands=d0)
    make(delta, "upsell", "lost", date(2027, 8, 1))
    make(delta, "new", "won", date(2027, 3, 3), 900, currency="USD")
    return {"alpha": alpha, "delta": delta}


def test_time_between_linked_deals_by_kind_of_growth(book):
    report = reports.expansion_report(YEAR)

    assert [
        (row.label, row.deal_count, row.median_days, row.p90_days)
        for row in report.gaps
    ] == [
        ("Upsell", 2, 277.5, 405),
        ("Cross-sell (warm)", 1, 259, 259),
        ("Cross-sell (new buying group)", 1, 395, 395),
        ("Repeat sale (lineage)", 0, None, None),
        ("Renewal", 2, 357, 358),
    ]


def test_win_rate_by_expansion_type_beside_its_target(book):
    report = reports.expansion_report(YEAR)

    assert [
        (
            row.key,
            row.won_count,
            row.lost_count,
            row.win_rate,
            row.target,
            row.is_on_target,
        )
        for row in report.win_rates
    ] == [
        # Exactly on the target is not above it.
        ("upsell", 2, 3, 0.4, 0.4, False),
        ("cross_sell", 1, 1, 0.5, None, None),
        ("new_buying_group", 1, 3, 0.25, 0.2, True),
    ]


def test_expansion_share_of_new_arr(book):
    new_arr = reports.expansion_report(YEAR).new_arr

    assert [(row.label, row.deal_count, row.arr) for row in new_arr.rows] == [
        ("New business", 1, Decimal("54000.00")),
        ("Upsell", 2, Decimal("34000.00")),
        ("Cross-sell (warm)", 1, Decimal("12000.00")),
        ("Cross-sell (new buying group)", 1, Decimal("20000.00")),
    ]
    assert (new_arr.total_arr, new_arr.expansion_arr) == (
        Decimal("120000.00"),
        Decimal("66000.00"),
    )
    assert new_arr.expansion_share == Decimal("0.55")
    # The USD deal was stored without a rate: none was kept for USD.
    assert new_arr.unconverted_count == 1


def test_net_revenue_retention_of_the_cohort_at_the_start(book):
    retention = reports.expansion_report(YEAR).retention

    assert retention.cohort_account_count == 3
    assert (
        retention.start_arr,
        retention.expansion_arr,
        retention.contraction_arr,
        retention.churn_arr,
        retention.end_arr,
    ) == (
        Decimal("200000.00"),
        Decimal("68000.00"),
        Decimal("10000.00"),
        Decimal("50000.00"),
        Decimal("208000.00"),
    )
    assert retention.rate == Decimal("1.04")


def test_a_period_from_spring_moves_the_cohort(book):
    # From 1 April: a0's term ended, ra's started, Delta is a customer.
    spring = Period(date(2027, 4, 1), date(2027, 12, 31))

    retention = reports.expansion_report(spring).retention

    # ra 112,000 + b0 50,000 + bx 10,000 + b1 12,000 + g0 40,000 + d0 54,000;
    # d3 has no rate.
    assert (retention.cohort_account_count, retention.start_arr) == (
        4,
        Decimal("278000.00"),
    )
    # a1 24,000 + d1 10,000 + g1 20,000; rb churns b0; rg 10,000 below g0.
    assert (
        retention.expansion_arr,
        retention.contraction_arr,
        retention.churn_arr,
    ) == (Decimal("54000.00"), Decimal("10000.00"), Decimal("50000.00"))
    assert retention.unconverted_count == 1
    assert retention.end_arr == Decimal("272000.00")
    assert retention.rate == Decimal("272000") / Decimal("278000")


@pytest.fixture
def manager(db):
    return PersonFactory(full_name="Mara Manager", role="manager")


def test_the_page_draws_charts_then_tables_in_a_fixed_number_of_queries(
    client, book, manager, django_assert_num_queries
):
    url = reverse("expansion-report")
    period = {"starts_on": "2027-01-01", "ends_on": "2027-12-31"}

    with time_machine.travel(TODAY, tick=False):
        client.force_login(manager.user)
        # Session, user, person, the deals, the unread count.
        with django_assert_num_queries(5):
            page = client.get(url, period)
        for day in range(1, 11):
            make(book["delta"], "upsell", "won", date(2027, 9, day), 1_000)
        with django_assert_num_queries(5):
            more = client.get(url, period)

    assert page.status_code == 200
    text = page.content.decode()
    assert text.count("<svg") == 4
    assert text.index("<svg") < text.index('id="time-between-deals"')
    assert 'id="net-revenue-retention">104 %<' in text
    assert 'id="expansion-share">55 %<' in text
    assert 'id="win-rate-upsell">40 %<' in text
    assert "<script" not in text.split("<main>")[1]
    assert more.context["new_arr"].total_count == 15


def test_the_page_is_for_managers_and_revops(client, book):
    rep = PersonFactory(role="ae")

    with time_machine.travel(TODAY, tick=False):
        client.force_login(rep.user)
        refused = client.get(reverse("expansion-report"))

    assert refused.status_code == 403


def test_a_period_that_ends_before_it_starts_is_named_and_the_last_year_shown(
    client, book, manager
):
    with time_machine.travel(TODAY, tick=False):
        client.force_login(manager.user)
        page = client.get(
            reverse("expansion-report"),
            {"starts_on": "2027-12-31", "ends_on": "2027-01-01"},
        )

    assert page.status_code == 200
    assert page.context["form"].errors == {
        "ends_on": ["End the period on or after its first day."]
    }
    assert page.context["period"] == Period(date(2027, 1, 11), date(2028, 1, 10))
    assert "To: End the period on or after its first day." in page.content.decode()


def test_the_csv_export_has_every_figure_unformatted(client, book, manager):
    with time_machine.travel(TODAY, tick=False):
        client.force_login(manager.user)
        response = client.get(
            reverse("expansion-report"),
            {"starts_on": "2027-01-01", "ends_on": "2027-12-31", "format": "csv"},
        )

    assert response["Content-Disposition"] == (
        'attachment; filename="expansion-2027-01-01-to-2027-12-31.csv"'
    )
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["section", "group", "measure", "value"]
    figures = {tuple(row[:3]): row[3] for row in rows[1:]}
    assert len(figures) == len(rows) - 1 == 5 * 3 + 3 * 4 + 4 * 2 + 3 + 8
    assert figures[("time_between_deals", "Upsell", "median_days")] == "277.5"
    assert figures[("time_between_deals", "Upsell", "p90_days")] == "405"
    assert figures[("time_between_deals", "Repeat sale (lineage)", "p90_days")] == ""
    assert figures[("win_rate", "Upsell", "win_rate")] == "0.4"
    assert figures[("win_rate", "Cross-sell (warm)", "target")] == ""
    assert figures[("new_arr", "Upsell", "arr_eur")] == "34000.00"
    assert figures[("new_arr", "all", "expansion_share")] == "0.55"
    assert figures[("new_arr", "all", "without_rate")] == "1"
    assert figures[("net_revenue_retention", "cohort", "start_arr_eur")] == (
        "200000.00"
    )
    assert figures[("net_revenue_retention", "cohort", "net_revenue_retention")] == (
        "1.04"
    )


def test_facts_follow_a_renewal_s_term_from_the_day_after_the_renewed_one(book):
    renewal = Deal.objects.get(account=book["alpha"], pipeline__kind="renewals")

    fact = reports.fact_of(renewal)

    assert (fact.term_starts_on, fact.term_ends_on) == (
        date(2027, 3, 1),
        date(2028, 2, 29),
    )
    assert fact.outcome == Stage.Outcome.WON
