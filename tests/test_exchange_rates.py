"""Dated exchange rates, and the rate every deal keeps from the day it is created."""

import importlib
import logging
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.urls import reverse
from djmoney.contrib.exchange.models import ExchangeBackend, Rate
from djmoney.money import Money

from bowtie.environment import load_environment
from bowtie.exchange import (
    add_exchange_rate,
    annual_value_in_base,
    change_upcoming_rate,
    in_base,
    rate_on,
    withdraw_upcoming_rate,
)
from bowtie.governance import owner_band_for_deal
from bowtie.models import Deal, ExchangeRate
from handoffs import involvement
from handoffs.closing import close_deal_won, save_deal_packet
from handoffs.deal_changes import change_deal
from handoffs.history import import_crm_history
from tests.deal_fixtures import COMPLETE_PACKET, build_open_deal
from tests.factories import ApiTokenFactory, PersonFactory
from tests.test_import_crm import write_export

NOW = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)
TODAY = NOW.date()
WRITER_KEY = "bt_rates_writer_0001"


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def add_rate(currency: str, units: str, effective_on: date) -> ExchangeRate:
    return ExchangeRate.objects.create(
        currency=currency, units_per_base=Decimal(units), effective_on=effective_on
    )


@pytest.fixture
def dollar_rates(db):
    add_rate("USD", "1.10", date(2027, 1, 1))
    add_rate("USD", "1.20", date(2027, 3, 1))
    add_rate("USD", "1.30", date(2027, 4, 1))


def test_rate_on_takes_the_latest_rate_on_or_before_the_day(dollar_rates):
    days = [date(2026, 12, 31), date(2027, 2, 28), date(2027, 3, 1), date(2027, 3, 31)]

    rates = [rate_on("USD", day) for day in days]

    assert rates == [None, Decimal("1.10"), Decimal("1.20"), Decimal("1.20")]
    assert rate_on("usd", date(2027, 4, 1)) == Decimal("1.30")
    assert rate_on("EUR", date(1999, 1, 1)) == Decimal(1)
    assert rate_on("SEK", date(2027, 3, 1)) is None


def test_in_base_converts_at_the_given_rate_or_the_rate_of_the_day(dollar_rates):
    value = Money(132, "USD")

    converted = [
        in_base(value, day=date(2027, 2, 1)),
        in_base(value, day=date(2027, 3, 1)),
        in_base(value, rate=Decimal("1.32")),
        in_base(value, day=date(2026, 1, 1)),
        in_base(Money(10, "EUR"), day=date(2026, 1, 1)),
        in_base(None),
    ]

    assert converted == [
        Money(120, "EUR"),
        Money(110, "EUR"),
        Money(100, "EUR"),
        None,
        Money(10, "EUR"),
        None,
    ]


def test_a_deal_created_through_the_api_keeps_the_rate_of_its_day(
    client, dollar_rates, frozen
):
    open_deal = build_open_deal()
    ApiTokenFactory(key=WRITER_KEY, scopes=["deals:write"])

    response = client.post(
        "/api/deals",
        {"name": "Initech rollout", "amount": "24000", "currency": "USD"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {WRITER_KEY}",
    )

    deal = Deal.objects.get(pk=response.json()["id"])
    assert response.status_code == 201
    assert (deal.base_rate, deal.base_rate_on) == (Decimal("1.20"), TODAY)
    # The fixture's own deal, in the base currency, keeps 1.
    assert (open_deal.deal.base_rate, open_deal.deal.base_rate_on) == (1, TODAY)


def test_a_later_rate_leaves_owner_band_and_involvement_as_they_were(
    dollar_rates, frozen
):
    # 12,000 USD at 1.20 is EUR 10,000.00: the 10-50K band, a warm overlay.
    open_deal = build_open_deal()
    change = change_deal(
        open_deal.deal,
        {"amount": "12000", "currency": "USD"},
        actor=open_deal.ae,
        source="api",
        now=NOW,
    )
    deal = change.deal
    before = (
        owner_band_for_deal(deal).owner_role,
        involvement.involvement_for(deal),
        annual_value_in_base(deal),
    )
    add_rate("USD", "1.25", TODAY + timedelta(days=1))
    frozen.move_to(NOW + timedelta(days=2))

    deal = Deal.objects.get(pk=deal.pk)
    save_deal_packet(deal, COMPLETE_PACKET)
    handoff = close_deal_won(deal, now=NOW + timedelta(days=2)).handoff

    assert before == ("am", "warm_overlay", Decimal("10000.00"))
    # At today's 1.25 it would be EUR 9,600: the CSM's band and a clean break.
    assert in_base(Money(12_000, "USD")) == Money(9_600, "EUR")
    assert (
        owner_band_for_deal(deal).owner_role,
        involvement.involvement_for(deal),
        annual_value_in_base(deal),
    ) == before
    assert (handoff.annual_value_eur, handoff.involvement) == (
        Decimal("10000.00"),
        "warm_overlay",
    )


def test_a_new_amount_keeps_the_rate_and_a_new_currency_takes_the_day_of_change(
    dollar_rates, frozen
):
    open_deal = build_open_deal()
    add_rate("GBP", "0.85", date(2027, 1, 1))
    change_deal(
        open_deal.deal, {"amount": "12000", "currency": "USD"}, source="api", now=NOW
    )
    frozen.move_to(datetime(2027, 4, 2, 9, 0, tzinfo=UTC))

    change_deal(open_deal.deal, {"amount": "15000"}, source="api", now=NOW)
    same_currency = Deal.objects.get(pk=open_deal.deal.pk)
    change_deal(open_deal.deal, {"currency": "GBP"}, source="api", now=NOW)
    new_currency = Deal.objects.get(pk=open_deal.deal.pk)

    assert (same_currency.base_rate, same_currency.base_rate_on) == (
        Decimal("1.20"),
        TODAY,
    )
    assert (new_currency.amount, new_currency.base_rate) == (
        Money(15_000, "GBP"),
        Decimal("0.85"),
    )
    assert new_currency.base_rate_on == date(2027, 4, 2)


def test_a_deal_in_a_currency_without_a_rate_keeps_none_and_is_reported(
    db, frozen, caplog
):
    open_deal = build_open_deal()

    with caplog.at_level(logging.WARNING, logger="bowtie.models.deals"):
        change_deal(
            open_deal.deal,
            {"amount": "50000", "currency": "SEK"},
            source="api",
            now=NOW,
        )

    deal = Deal.objects.get(pk=open_deal.deal.pk)
    assert (deal.base_rate, deal.base_rate_on) == (None, TODAY)
    logged = [
        record.getMessage()
        for record in caplog.records
        if record.name == "bowtie.models.deals"
    ]
    assert logged == [f"deal {deal.pk} kept without a rate: no SEK rate on 2027-03-10"]
    # Not guessed later either: a rate added since is not the rate of its day.
    add_rate("SEK", "11.0", TODAY)
    assert (owner_band_for_deal(deal), annual_value_in_base(deal)) == (None, None)


def test_a_renewal_keeps_the_rate_of_the_day_it_is_made(dollar_rates, frozen):
    open_deal = build_open_deal()
    change_deal(
        open_deal.deal, {"amount": "36000", "currency": "USD"}, source="api", now=NOW
    )
    frozen.move_to(datetime(2027, 4, 5, 9, 0, tzinfo=UTC))
    deal = Deal.objects.get(pk=open_deal.deal.pk)
    save_deal_packet(deal, COMPLETE_PACKET)

    renewal = close_deal_won(deal, now=datetime(2027, 4, 5, 9, 0, tzinfo=UTC)).renewal

    assert (renewal.base_rate, renewal.base_rate_on) == (
        Decimal("1.30"),
        date(2027, 4, 5),
    )
    assert Deal.objects.get(pk=deal.pk).base_rate == Decimal("1.20")


def test_the_crm_history_import_stamps_its_deals_and_renewals(db, tmp_path, frozen):
    add_rate("USD", "1.08", date(2027, 1, 1))

    summary = import_crm_history(write_export(tmp_path))

    stamped = set(Deal.objects.values_list("external_id", "base_rate", "base_rate_on"))
    renewal = Deal.objects.get(renews__external_id="OPP1")
    # Deals without an amount are in the base currency, at 1.
    assert stamped == {
        ("OPP1", Decimal("1.08"), TODAY),
        ("OPP2", Decimal(1), TODAY),
        ("OPP3", Decimal(1), TODAY),
        ("", Decimal("1.08"), TODAY),
    }
    assert (renewal.base_rate, summary.changes.unrated["deals"]) == (
        Decimal("1.08"),
        0,
    )


def test_the_crm_history_import_counts_deals_kept_without_a_rate(db, tmp_path, frozen):
    summary = import_crm_history(write_export(tmp_path))

    unrated = summary.changes.unrated
    assert (unrated["deals"], unrated["renewals"]) == (1, 1)
    assert set(
        Deal.objects.filter(base_rate__isnull=True).values_list(
            "external_id", "renews__external_id"
        )
    ) == {("OPP1", None), ("", "OPP1")}


def test_the_maven_export_stamps_every_deal(sample_data, db, frozen):
    add_rate("USD", "1.08", date(2027, 1, 1))

    import_crm_history(sample_data / "maven-crm-sales-opportunities")

    stamps = Counter(Deal.objects.values_list("base_rate", "base_rate_on"))
    # The 4,238 won deals and their renewals are in dollars; open and lost
    # deals have no amount, so they are in the base currency.
    assert stamps == {
        (Decimal("1.08"), TODAY): 4_238 * 2,
        (Decimal(1), TODAY): 8_800 - 4_238,
    }


def test_a_rate_is_added_from_today_or_later_and_refused_by_field(db, frozen):
    revops = PersonFactory(role="revops_admin")

    rate = add_exchange_rate("usd", Decimal("1.1"), TODAY, revops)
    with pytest.raises(ValidationError) as refused:
        add_exchange_rate("EUR", Decimal("0"), TODAY - timedelta(days=1), revops)
    with pytest.raises(ValidationError) as taken:
        add_exchange_rate("USD", Decimal("1.2"), TODAY, revops)

    assert (rate.currency, rate.created_by, rate.history.get().history_user) == (
        "USD",
        revops,
        revops.user,
    )
    assert refused.value.message_dict == {
        "currency": ["EUR is the base currency: its rate is 1."],
        "units_per_base": ["A rate is more than 0."],
        "effective_on": [
            "A rate starts today (2027-03-10) or later: deals created on earlier "
            "days kept the rate of their day."
        ],
    }
    assert taken.value.message_dict == {
        "effective_on": ["USD has a rate from 2027-03-10 already; pick another day."]
    }
    assert ExchangeRate.objects.count() == 1


def test_only_a_rate_that_has_not_started_is_changed_or_withdrawn(db, frozen):
    revops = PersonFactory(role="revops_admin")
    in_force = add_exchange_rate("USD", Decimal("1.1"), TODAY, revops)
    upcoming = add_exchange_rate("USD", Decimal("1.2"), date(2027, 4, 1), revops)

    change_upcoming_rate(upcoming, Decimal("1.25"), date(2027, 4, 2), revops)
    with pytest.raises(ValidationError) as refused:
        change_upcoming_rate(in_force, Decimal("1.15"), TODAY, revops)
    with pytest.raises(ValidationError):
        withdraw_upcoming_rate(in_force, revops)
    withdraw_upcoming_rate(upcoming, revops)

    assert refused.value.message_dict == {
        "effective_on": [
            "In force since 2027-03-10: deals may have kept it. Correct it with a "
            "new rate from a later day."
        ]
    }
    assert list(ExchangeRate.objects.values_list("units_per_base", flat=True)) == [
        Decimal("1.1")
    ]
    # Added, changed, withdrawn: each version kept, with who.
    assert [
        (row.history_type, row.units_per_base, row.history_user)
        for row in upcoming.history.order_by("history_id")
    ] == [
        ("+", Decimal("1.2"), revops.user),
        ("~", Decimal("1.25"), revops.user),
        ("-", Decimal("1.25"), revops.user),
    ]


def test_the_admin_shows_a_rate_in_force_read_only_and_edits_one_to_come(
    frozen, admin_client
):
    in_force = add_rate("USD", "1.10", TODAY)
    upcoming = add_rate("USD", "1.20", date(2027, 4, 1))

    listing = admin_client.get(reverse("admin:bowtie_exchangerate_changelist"))
    refused = admin_client.post(
        reverse("admin:bowtie_exchangerate_change", args=[in_force.pk]),
        {"units_per_base": "9.99", "effective_on": "2027-03-10"},
    )
    changed = admin_client.post(
        reverse("admin:bowtie_exchangerate_change", args=[upcoming.pk]),
        {"units_per_base": "1.22", "effective_on": "2027-04-01"},
    )
    delete_in_force = admin_client.get(
        reverse("admin:bowtie_exchangerate_delete", args=[in_force.pk])
    )

    page = listing.content.decode()
    assert "In force" in page and "Upcoming" in page
    assert refused.status_code == 403
    assert ExchangeRate.objects.get(pk=in_force.pk).units_per_base == Decimal("1.10")
    assert changed.status_code == 302
    assert ExchangeRate.objects.get(pk=upcoming.pk).units_per_base == Decimal("1.22")
    assert delete_in_force.status_code == 403


def test_the_admin_refuses_a_rate_before_today_by_field(frozen, admin_client):
    response = admin_client.post(
        reverse("admin:bowtie_exchangerate_add"),
        {"currency": "USD", "units_per_base": "1.1", "effective_on": "2027-03-09"},
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "effective_on": [
            "A rate starts today (2027-03-10) or later: deals created on earlier "
            "days kept the rate of their day."
        ]
    }
    assert ExchangeRate.objects.count() == 0


def test_the_base_currency_is_an_iso_code_checked_at_start(monkeypatch):
    monkeypatch.setenv("BOWTIE_BASE_CURRENCY", "EURO")

    with pytest.raises(ImproperlyConfigured) as refused:
        load_environment()

    assert (
        "BOWTIE_BASE_CURRENCY: Value error, must be an ISO 4217 currency code"
        in str(refused.value)
    )


def test_the_base_currency_setting_decides_what_converts_at_1(db, settings):
    settings.BOWTIE_BASE_CURRENCY = "USD"
    add_rate("EUR", "0.90", date(2027, 1, 1))

    assert (rate_on("USD", TODAY), rate_on("EUR", TODAY)) == (1, Decimal("0.90"))
    assert in_base(Money(90, "EUR"), day=TODAY) == Money(100, "USD")


def test_the_migration_copies_undated_rates_for_every_earlier_day(db, frozen):
    migration = importlib.import_module(
        "bowtie.migrations.0021_copy_undated_exchange_rates"
    )
    backend = ExchangeBackend.objects.create(name="admin", base_currency="EUR")
    Rate.objects.create(currency="USD", value=Decimal("1.08"), backend=backend)
    Rate.objects.create(currency="CHF", value=Decimal("0.95"), backend=backend)

    migration.copy_rates(apps, None)
    copied = list(
        ExchangeRate.objects.order_by("currency").values_list(
            "currency", "units_per_base", "effective_on"
        )
    )
    migration.remove_copies(apps, None)

    assert copied == [
        ("CHF", Decimal("0.95"), date(2000, 1, 1)),
        ("USD", Decimal("1.08"), date(2000, 1, 1)),
    ]
    assert ExchangeRate.objects.count() == 0
    assert Rate.objects.count() == 2


def test_the_backfill_stamps_the_rate_of_each_deals_creation_day(db, frozen):
    migration = importlib.import_module(
        "bowtie.migrations.0022_backfill_deal_base_rates"
    )
    open_deal = build_open_deal()
    add_rate("USD", "1.10", date(2027, 3, 1))
    dollars = change_deal(
        None,
        {"name": "Dollars", "amount": "100", "currency": "USD"},
        source="api",
        now=NOW,
    ).deal
    crowns = change_deal(
        None,
        {"name": "Crowns", "amount": "100", "currency": "SEK"},
        source="api",
        now=NOW,
    ).deal
    Deal.objects.update(base_rate=None, base_rate_on=None)
    add_rate("USD", "1.50", TODAY + timedelta(days=1))
    frozen.move_to(NOW + timedelta(days=3))

    migration.stamp_deals(apps, None)

    stamps = {
        deal.pk: (deal.base_rate, deal.base_rate_on) for deal in Deal.objects.all()
    }
    assert stamps == {
        open_deal.deal.pk: (Decimal(1), TODAY),
        dollars.pk: (Decimal("1.10"), TODAY),
        crowns.pk: (None, TODAY),
    }
