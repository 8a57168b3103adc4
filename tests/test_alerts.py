"""Leading-indicator alerts: opened once, kept quiet, resolved with a notice.

The tests watch a small metric of their own, the share of leads received in
the window that are still new, so they do not depend on the apps' metrics;
the seeded indicators, which watch those, are turned off.
"""

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Count, Q
from django.db.models.functions import TruncWeek
from django.urls import reverse

from bowtie import indicators, measurement, tasks
from bowtie.indicators import (
    IndicatorRefused,
    evaluate_indicators,
    is_crossed,
    update_indicator,
)
from bowtie.measurement import (
    Column,
    Definition,
    Metric,
    Reading,
    Records,
    Target,
    Unit,
    weekly_points,
)
from bowtie.models import Alert, Indicator, JobHeartbeat, Notification, Person, Team
from handoffs.models import Lead
from tests.factories import LeadFactory, PersonFactory, TeamFactory

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
NOTHING = {"opened": 0, "kept": 0, "resolved": 0, "skipped": 0, "failed": 0}


# The test metric: the share of the window's leads that are still new ------


def received(scope):
    return Lead.objects.filter(
        scope.team_filter("team"),
        received_at__gte=scope.since,
        received_at__lt=scope.until,
    )


STILL_NEW = Count("pk", filter=Q(status=Lead.Status.NEW))


def share(part, whole):
    return 100 * part / whole if whole else None


def measure_new_share(scope, now) -> Reading:
    leads = received(scope)
    totals = leads.aggregate(new=STILL_NEW, total=Count("pk"))
    weeks = (
        leads.annotate(week=TruncWeek("received_at"))
        .values("week")
        .annotate(new=STILL_NEW, total=Count("pk"))
        .values_list("week", "new", "total")
        .order_by("week")
    )
    return Reading(
        value=share(totals["new"], totals["total"]),
        count=totals["total"],
        series=weekly_points(
            scope, ((week, share(new, total), total) for week, new, total in weeks)
        ),
    )


def new_share_records(scope, now) -> Records:
    return Records(
        rows=received(scope).order_by("received_at", "pk"),
        columns=(
            Column("Lead", lambda lead: lead.email),
            Column("Status", lambda lead: lead.get_status_display()),
        ),
        url_of=lambda lead: reverse("lead-detail", args=[lead.pk]),
    )


NEW_SHARE = Metric(
    key="test_new_share",
    handoff=measurement.Handoff.LEAD_TO_SALES,
    label="New leads share",
    unit=Unit.PERCENT,
    target=Target(maximum=20),
    definition=Definition("Leads.", "None.", "Received.", "Routed.", "None."),
    measure=measure_new_share,
    records=new_share_records,
    higher_is_better=False,
)


# The world -----------------------------------------------------------------


@dataclass
class World:
    inbound: Team
    outbound: Team
    unheaded: Team
    mara: Person
    olaf: Person
    ada: Person
    rui: Person


@pytest.fixture
def world(db, monkeypatch):
    monkeypatch.setitem(measurement.REGISTRY, NEW_SHARE.key, NEW_SHARE)
    Indicator.objects.update(is_enabled=False)
    inbound, outbound = TeamFactory(name="Inbound"), TeamFactory(name="Outbound")
    mara = PersonFactory(full_name="Mara Head", role="manager", team=inbound)
    olaf = PersonFactory(full_name="Olaf Head", role="manager", team=outbound)
    Team.objects.filter(pk=inbound.pk).update(head=mara)
    Team.objects.filter(pk=outbound.pk).update(head=olaf)
    ada = PersonFactory(full_name="Ada Ops", role="revops_admin", team=None)
    rui = PersonFactory(full_name="Rui Ops", role="revops_admin", team=None)
    PersonFactory(full_name="Ina Gone", role="revops_admin", team=None, is_active=False)
    return World(
        Team.objects.get(pk=inbound.pk),
        Team.objects.get(pk=outbound.pk),
        TeamFactory(name="Unheaded"),
        mara,
        olaf,
        ada,
        rui,
    )


def watch(kind="above", threshold=20, window_days=7, minimum_count=4) -> Indicator:
    return Indicator.objects.create(
        key=f"new_share_{kind}",
        label=f"New leads {kind} {threshold} %",
        metric_key=NEW_SHARE.key,
        kind=kind,
        threshold=Decimal(threshold),
        window_days=window_days,
        minimum_count=minimum_count,
        updated_at=NOW,
    )


def add_leads(team, *, new=0, working=0, days_ago=1) -> list[Lead]:
    received_at = NOW - timedelta(days=days_ago)
    return [
        LeadFactory(team=team, status=status, received_at=received_at)
        for status, count in ((Lead.Status.NEW, new), (Lead.Status.WORKING, working))
        for _ in range(count)
    ]


def notices():
    return list(
        Notification.objects.order_by("pk").values_list(
            "recipient__full_name", "event_key", "subject"
        )
    )


# The condition, without a database -----------------------------------------


def test_a_condition_is_crossed_only_past_its_threshold():
    assert [
        is_crossed("above", Decimal(10), value, None) for value in (9, 10, 10.1)
    ] == [
        False,
        False,
        True,
    ]
    assert [is_crossed("below", Decimal(0), value, None) for value in (-0.1, 0)] == [
        True,
        False,
    ]
    assert is_crossed("rising", Decimal(5), 15.0, 10.0) is False
    assert is_crossed("rising", Decimal(5), 15.1, 10.0) is True
    assert is_crossed("falling", Decimal(5), 4.9, 10.0) is True
    assert is_crossed("falling", Decimal(5), 15.1, 10.0) is False


# Opening, keeping, resolving -----------------------------------------------


def test_an_alert_opens_for_a_team_and_tells_its_head_with_the_evidence(world):
    indicator = watch()
    leads = add_leads(world.inbound, new=6, working=19)
    add_leads(world.outbound, working=25)

    summary = evaluate_indicators(NOW)

    assert summary == {**NOTHING, "opened": 1}
    alert = Alert.objects.get()
    assert (
        alert.indicator,
        alert.scope_key,
        alert.team,
        alert.recipient,
        alert.opened_value,
        alert.last_value,
        alert.threshold,
        alert.window_starts_on,
        alert.window_ends_on,
        alert.opened_at,
        alert.resolved_at,
    ) == (
        indicator,
        f"team:{world.inbound.pk}",
        world.inbound,
        world.mara,
        24.0,
        24.0,
        Decimal(20),
        date(2026, 3, 14),
        date(2026, 3, 20),
        NOW,
        None,
    )
    by_time = sorted(leads, key=lambda lead: (lead.received_at, lead.pk))
    assert alert.evidence == {
        "metric_key": "test_new_share",
        "metric_label": "New leads share",
        "unit": "percent",
        "count": 25,
        "previous_count": None,
        "points": [
            {"label": "09 Mar", "value": None, "count": 0},
            {"label": "16 Mar", "value": 24.0, "count": 25},
        ],
        "columns": ["Lead", "Status"],
        "records": [
            {
                "values": [lead.email, lead.get_status_display()],
                "url": f"/leads/{lead.pk}/",
            }
            for lead in by_time[:20]
        ],
        "drilldown_url": "/dashboard/metrics/test_new_share/?starts_on=2026-03-14"
        f"&ends_on=2026-03-20&team={world.inbound.pk}",
    }
    notification = Notification.objects.get()
    assert (
        notification.recipient,
        notification.topic,
        notification.event_key,
        notification.url,
    ) == (world.mara, "alert", f"alert:{alert.pk}:opened", f"/alerts/{alert.pk}/")
    assert notification.subject == "Alert: New leads above 20 % for Inbound"
    assert notification.body == (
        "New leads share for Inbound is 24 %, above the threshold of 20 %, over "
        "the UTC days 14 Mar – 20 Mar 2026, 25 records. You will not be told "
        "again while this lasts, and will be told when it ends."
    )


def test_an_alert_is_not_repeated_while_its_condition_lasts(world):
    watch()
    add_leads(world.inbound, new=3, working=7)
    add_leads(world.outbound, working=20)
    evaluate_indicators(NOW)
    add_leads(world.inbound, new=1, days_ago=0)

    again = evaluate_indicators(NOW + timedelta(hours=1))
    third = evaluate_indicators(NOW + timedelta(hours=2))

    assert again == third == {**NOTHING, "kept": 1}
    alert = Alert.objects.get()
    assert (alert.opened_value, alert.last_value, alert.last_checked_at) == (
        30.0,
        100 * 4 / 11,
        NOW + timedelta(hours=2),
    )
    assert Notification.objects.count() == 1


def test_an_alert_resolves_once_with_one_notice_and_can_open_again(world):
    watch()
    add_leads(world.inbound, new=3, working=7)
    # Enough quiet leads elsewhere that the company stays below the threshold.
    add_leads(world.outbound, working=40)
    evaluate_indicators(NOW)
    add_leads(world.inbound, working=10, days_ago=0)

    resolved = evaluate_indicators(NOW + timedelta(hours=1))
    quiet = evaluate_indicators(NOW + timedelta(hours=2))
    add_leads(world.inbound, new=10, days_ago=0)
    reopened = evaluate_indicators(NOW + timedelta(hours=3))

    assert (resolved, quiet, reopened) == (
        {**NOTHING, "resolved": 1},
        NOTHING,
        {**NOTHING, "opened": 1},
    )
    first, second = Alert.objects.order_by("pk")
    assert (first.resolved_at, first.resolved_value, first.last_value) == (
        NOW + timedelta(hours=1),
        15.0,
        15.0,
    )
    assert first.evidence["resolution"] == {
        "starts_on": "2026-03-14",
        "ends_on": "2026-03-20",
        "count": 20,
        "previous_value": None,
    }
    assert (second.opened_value, second.resolved_at) == (100 * 13 / 30, None)
    assert notices() == [
        (
            "Mara Head",
            f"alert:{first.pk}:opened",
            "Alert: New leads above 20 % for Inbound",
        ),
        (
            "Mara Head",
            f"alert:{first.pk}:resolved",
            "Resolved: New leads above 20 % for Inbound",
        ),
        (
            "Mara Head",
            f"alert:{second.pk}:opened",
            "Alert: New leads above 20 % for Inbound",
        ),
    ]
    assert Notification.objects.get(event_key=f"alert:{first.pk}:resolved").body == (
        "New leads share for Inbound is back: 15 %, no longer above the threshold "
        "of 20 %, over the UTC days 14 Mar – 20 Mar 2026, 20 records."
    )


def test_rising_compares_with_the_window_before(world):
    watch(kind="rising", threshold=5)
    add_leads(world.inbound, new=1, working=9, days_ago=8)
    add_leads(world.inbound, new=2, working=8, days_ago=1)
    # The same rise as the threshold is not more than it.
    add_leads(world.outbound, new=2, working=18, days_ago=8)
    add_leads(world.outbound, new=3, working=17, days_ago=1)
    # The company stays at 9 new leads of 50 in both windows.
    add_leads(world.unheaded, new=6, working=14, days_ago=8)
    add_leads(world.unheaded, new=4, working=16, days_ago=1)

    summary = evaluate_indicators(NOW)

    assert summary == {**NOTHING, "opened": 1}
    alert = Alert.objects.get()
    assert (alert.team, alert.opened_value, alert.previous_value) == (
        world.inbound,
        20.0,
        10.0,
    )
    assert alert.evidence["previous_count"] == 10
    assert Notification.objects.get().body == (
        "New leads share for Inbound is 20 %, up 10 points from 10 % in the window "
        "before, more than the rise of 5 points the threshold allows, over the UTC "
        "days 14 Mar – 20 Mar 2026, 10 records. You will not be told again while "
        "this lasts, and will be told when it ends."
    )


def test_falling_opens_on_a_fall_and_rising_does_not(world):
    falling = watch(kind="falling", threshold=5)
    watch(kind="rising", threshold=5)
    add_leads(world.inbound, new=3, working=7, days_ago=8)
    add_leads(world.inbound, new=2, working=8, days_ago=1)

    evaluate_indicators(NOW)

    # The company counts the same leads: it falls too.
    assert sorted(
        Alert.objects.values_list("indicator", "scope_key", "opened_value")
    ) == [
        (falling.pk, "company", 20.0),
        (falling.pk, f"team:{world.inbound.pk}", 20.0),
    ]


def test_a_window_with_too_few_records_is_skipped_and_logged(world, caplog):
    watch(minimum_count=4)
    add_leads(world.inbound, new=3)

    with caplog.at_level(logging.INFO, logger="bowtie.indicators"):
        summary = evaluate_indicators(NOW)

    assert summary == {**NOTHING, "skipped": 3}
    assert not Alert.objects.exists()
    assert (
        f"indicator new_share_above skipped for team:{world.inbound.pk}: the window "
        "counts 3 records, fewer than 4"
    ) in caplog.messages


def test_an_open_alert_stays_open_unjudged_while_its_window_is_thin(world):
    watch(minimum_count=4)
    add_leads(world.inbound, new=5, working=5)
    evaluate_indicators(NOW)
    sent = notices()
    later = NOW + timedelta(days=8)

    summary = evaluate_indicators(later)

    assert summary == {**NOTHING, "skipped": 3}
    assert set(
        Alert.objects.values_list("resolved_at", "last_checked_at", "last_value")
    ) == {(None, later, 50.0)}
    assert notices() == sent


def test_a_trend_with_a_thin_window_before_is_skipped(world, caplog):
    watch(kind="rising", threshold=5, minimum_count=4)
    add_leads(world.inbound, new=2, days_ago=8)
    add_leads(world.inbound, new=10, days_ago=1)

    with caplog.at_level(logging.INFO, logger="bowtie.indicators"):
        evaluate_indicators(NOW)

    assert not Alert.objects.exists()
    assert (
        f"indicator new_share_rising skipped for team:{world.inbound.pk}: the "
        "window before counts 2 records, fewer than 4"
    ) in caplog.messages


def test_a_company_alert_tells_every_active_revops_admin(world):
    watch()
    add_leads(world.inbound, new=1, working=9)
    add_leads(world.outbound, new=1, working=9)
    add_leads(world.unheaded, new=8, working=2)

    opened = evaluate_indicators(NOW)
    add_leads(world.unheaded, working=30, days_ago=0)
    resolved = evaluate_indicators(NOW + timedelta(hours=1))

    assert (opened, resolved) == ({**NOTHING, "opened": 1}, {**NOTHING, "resolved": 1})
    alert = Alert.objects.get()
    assert (alert.scope_key, alert.team, alert.recipient, alert.opened_value) == (
        "company",
        None,
        None,
        100 * 10 / 30,
    )
    assert alert.evidence["drilldown_url"] == (
        "/dashboard/metrics/test_new_share/?starts_on=2026-03-14&ends_on=2026-03-20"
    )
    assert notices() == [
        (
            "Ada Ops",
            f"alert:{alert.pk}:opened",
            "Alert: New leads above 20 % for the whole company",
        ),
        (
            "Rui Ops",
            f"alert:{alert.pk}:opened",
            "Alert: New leads above 20 % for the whole company",
        ),
        (
            "Ada Ops",
            f"alert:{alert.pk}:resolved",
            "Resolved: New leads above 20 % for the whole company",
        ),
        (
            "Rui Ops",
            f"alert:{alert.pk}:resolved",
            "Resolved: New leads above 20 % for the whole company",
        ),
    ]


def test_a_team_whose_head_left_is_resolved_but_never_opened(world):
    watch()
    add_leads(world.inbound, new=3, working=7)
    add_leads(world.outbound, new=3, working=7)
    evaluate_indicators(NOW)
    Team.objects.filter(pk__in=[world.inbound.pk, world.outbound.pk]).update(head=None)
    add_leads(world.inbound, working=20, days_ago=0)

    summary = evaluate_indicators(NOW + timedelta(hours=1))

    # The company (6 of 40) and Inbound resolve; Outbound stays open.
    assert summary == {**NOTHING, "resolved": 2, "kept": 1}
    assert [(name, key.rsplit(":", 1)[1]) for name, key, _ in notices()] == [
        ("Ada Ops", "opened"),
        ("Rui Ops", "opened"),
        ("Mara Head", "opened"),
        ("Olaf Head", "opened"),
        ("Ada Ops", "resolved"),
        ("Rui Ops", "resolved"),
        ("Mara Head", "resolved"),
    ]


def test_an_unregistered_metric_waits(world):
    Indicator.objects.create(
        key="not_yet",
        label="Not yet",
        metric_key="no_such_metric",
        kind="above",
        threshold=1,
        updated_at=NOW,
    )

    assert evaluate_indicators(NOW) == {**NOTHING, "unregistered": 1}


# Two runs at once ------------------------------------------------------------


def test_a_run_that_loses_the_race_to_open_sends_nothing(world, monkeypatch):
    watch()
    add_leads(world.inbound, new=3, working=7)
    add_leads(world.outbound, working=20)
    evaluate_indicators(NOW)
    # As if this run looked before the other one's alert committed.
    monkeypatch.setattr(indicators, "open_alert_of", lambda indicator, key: None)

    summary = evaluate_indicators(NOW + timedelta(minutes=1))

    assert summary == {**NOTHING, "kept": 1}
    assert Alert.objects.count() == 1
    assert Notification.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_runs_open_one_alert_and_send_one_notice(
    transactional_db, world, monkeypatch
):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL's concurrent transactions")
    watch()
    add_leads(world.inbound, new=3, working=7)
    add_leads(world.outbound, working=20)
    both_looked = threading.Barrier(2, timeout=20)
    look = indicators.open_alert_of

    def look_then_wait(indicator, scope_key):
        found = look(indicator, scope_key)
        both_looked.wait()
        return found

    monkeypatch.setattr(indicators, "open_alert_of", look_then_wait)

    def run():
        try:
            return evaluate_indicators(NOW)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        summaries = list(pool.map(lambda _: run(), range(2)))

    assert sorted(summary["opened"] for summary in summaries) == [0, 1]
    assert sorted(summary["kept"] for summary in summaries) == [0, 1]
    assert Alert.objects.count() == 1
    assert Notification.objects.count() == 1


# Editing the indicators ------------------------------------------------------


def test_update_indicator_saves_the_values_and_keeps_history(world):
    watch()

    update_indicator(
        "new_share_above",
        world.ada,
        NOW,
        threshold="12.5",
        window_days="14",
        minimum_count="10",
        is_enabled=True,
    )

    indicator = Indicator.objects.get(key="new_share_above")
    assert (
        indicator.threshold,
        indicator.window_days,
        indicator.minimum_count,
        indicator.updated_by,
        indicator.updated_at,
    ) == (Decimal("12.5"), 14, 10, world.ada, NOW)
    assert list(
        indicator.history.filter(history_type="~").values_list(
            "threshold", "updated_by"
        )
    ) == [(Decimal("12.5"), world.ada.pk)]


def test_update_indicator_refuses_bad_values_naming_each_field(world):
    watch()
    watch(kind="rising", threshold=5)

    with pytest.raises(IndicatorRefused) as refused:
        update_indicator(
            "new_share_above",
            world.ada,
            NOW,
            threshold="ten",
            window_days="0",
            minimum_count="1.5",
            is_enabled="yes",
        )
    with pytest.raises(IndicatorRefused) as negative:
        update_indicator(
            "new_share_rising",
            world.ada,
            NOW,
            threshold="-1",
            window_days="367",
            minimum_count="-3",
            is_enabled=True,
        )

    assert refused.value.errors == {
        "threshold": "'ten' is not a number.",
        "window_days": "Give a number from 1 to 366.",
        "minimum_count": "'1.5' is not a whole number.",
        "is_enabled": "Say whether the indicator is on: true or false.",
    }
    assert negative.value.errors == {
        "threshold": "A rise or fall is the size of the change: zero or more.",
        "window_days": "Give a number from 1 to 366.",
        "minimum_count": "Give a number from 0 to 1,000,000.",
    }
    assert Indicator.objects.get(key="new_share_above").threshold == Decimal(20)
    assert not Indicator.history.filter(history_type="~").exists()


def test_only_revops_admins_update_indicators(world):
    watch()

    with pytest.raises(PermissionDenied):
        update_indicator(
            "new_share_above",
            world.mara,
            NOW,
            threshold="1",
            window_days="7",
            minimum_count="4",
            is_enabled=True,
        )

    assert Indicator.objects.get(key="new_share_above").threshold == Decimal(20)


def test_turning_an_indicator_off_closes_its_open_alerts_with_a_notice(world):
    watch()
    add_leads(world.inbound, new=3, working=7)
    add_leads(world.outbound, working=20)
    evaluate_indicators(NOW)

    update_indicator(
        "new_share_above",
        world.ada,
        NOW + timedelta(hours=1),
        threshold="20",
        window_days="7",
        minimum_count="4",
        is_enabled=False,
    )

    alert = Alert.objects.get()
    assert (alert.resolved_at, alert.resolved_value) == (NOW + timedelta(hours=1), None)
    closing = Notification.objects.get(event_key=f"alert:{alert.pk}:resolved")
    assert (closing.recipient, closing.subject, closing.body) == (
        world.mara,
        "Alert closed: New leads above 20 % for Inbound",
        "The indicator was turned off, so the alert opened on 20 Mar 2026 is "
        "closed without a new reading.",
    )
    assert evaluate_indicators(NOW + timedelta(hours=2)) == NOTHING


# Pages ---------------------------------------------------------------------


@pytest.fixture
def alerting(world):
    watch()
    leads = add_leads(world.inbound, new=3, working=7)
    add_leads(world.outbound, working=10)
    add_leads(world.unheaded, new=10)
    evaluate_indicators(NOW)
    return {
        "team": Alert.objects.get(team=world.inbound),
        "company": Alert.objects.get(scope_key="company"),
        "leads": leads,
    }


def test_the_alert_list_shows_each_viewer_only_their_alerts(client, world, alerting):
    client.force_login(world.mara.user)
    head = client.get(reverse("alert-list")).content.decode()
    client.force_login(world.olaf.user)
    other = client.get(reverse("alert-list")).content.decode()
    client.force_login(world.ada.user)
    revops = client.get(reverse("alert-list")).content.decode()

    team_link = reverse("alert-detail", args=[alerting["team"].pk])
    company_link = reverse("alert-detail", args=[alerting["company"].pk])
    assert (team_link in head, company_link in head) == (True, False)
    assert (team_link in other, company_link in other) == (False, False)
    assert (team_link in revops, company_link in revops) == (True, True)
    assert "No open alerts, and the indicators have not been evaluated yet" in other
    assert "the whole company" in revops


def test_an_empty_alert_list_says_when_the_indicators_were_last_read(client, world):
    JobHeartbeat.objects.create(
        name="evaluate-indicators",
        expected_every_seconds=3600,
        last_succeeded_at=NOW,
    )
    client.force_login(world.olaf.user)

    page = client.get(reverse("alert-list")).content.decode()

    assert "at the last evaluation (Fri 20 Mar, " in page


def test_the_alert_page_shows_the_chart_and_the_records(client, world, alerting):
    alert = alerting["team"]
    client.force_login(world.mara.user)

    response = client.get(reverse("alert-detail", args=[alert.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert page.count("<svg") == 1
    for lead in alerting["leads"]:
        assert f'<a href="/leads/{lead.pk}/">{lead.email}</a>' in page
    assert alert.evidence["drilldown_url"].replace("&", "&amp;") in page
    assert "above 20 %" in page and "30 %" in page


def test_an_alert_of_another_team_answers_404(client, world, alerting):
    client.force_login(world.olaf.user)

    team = client.get(reverse("alert-detail", args=[alerting["team"].pk]))
    company = client.get(reverse("alert-detail", args=[alerting["company"].pk]))

    assert (team.status_code, company.status_code) == (404, 404)


def indicator_form(indicator: Indicator, **changes) -> dict:
    values = {
        f"{indicator.key}-threshold": f"{indicator.threshold.normalize():f}",
        f"{indicator.key}-window_days": str(indicator.window_days),
        f"{indicator.key}-minimum_count": str(indicator.minimum_count),
    }
    if indicator.is_enabled:
        values[f"{indicator.key}-is_enabled"] = "on"
    return {**values, **{f"{indicator.key}-{k}": v for k, v in changes.items()}}


def seeded_form() -> dict:
    form = {}
    for indicator in Indicator.objects.exclude(metric_key=NEW_SHARE.key):
        form.update(indicator_form(indicator))
    return form


def test_the_settings_page_saves_for_revops_and_shows_errors_in_place(client, world):
    indicator = watch()
    Indicator.objects.create(
        key="not_yet",
        label="Not yet",
        metric_key="no_such_metric",
        kind="above",
        threshold=1,
        updated_at=NOW,
    )
    client.force_login(world.ada.user)

    saved = client.post(
        reverse("indicator-settings"),
        {**seeded_form(), **indicator_form(indicator, threshold="15")},
    )
    refused = client.post(
        reverse("indicator-settings"),
        {**seeded_form(), **indicator_form(indicator, window_days="400")},
    )
    shown = client.get(reverse("indicator-settings")).content.decode()

    assert saved.status_code == 302
    assert Indicator.objects.get(pk=indicator.pk).threshold == Decimal(15)
    assert refused.status_code == 200
    assert "Give a number from 1 to 366." in refused.content.decode()
    assert 'value="400"' in refused.content.decode()
    assert Indicator.objects.get(pk=indicator.pk).window_days == 7
    assert Indicator.history.filter(history_type="~").count() == 1
    assert "Ada Ops" in shown and "Not measured yet, so not read." in shown


def test_the_settings_page_is_read_only_for_managers(client, world):
    indicator = watch()
    client.force_login(world.mara.user)

    page = client.get(reverse("indicator-settings")).content.decode()
    client.post(reverse("indicator-settings"), indicator_form(indicator, threshold="1"))

    assert "Only RevOps admins change indicators." in page
    assert "Save indicators" not in page
    assert Indicator.objects.get(pk=indicator.pk).threshold == Decimal(20)


def test_the_admin_changes_an_indicator_through_the_service(client, world):
    indicator = watch()
    world.ada.user.is_staff = world.ada.user.is_superuser = True
    world.ada.user.save()
    client.force_login(world.ada.user)
    url = reverse("admin:bowtie_indicator_change", args=[indicator.pk])
    form = {"threshold": "25", "window_days": "7", "minimum_count": "4"}

    refused = client.post(url, {**form, "threshold": "-2000", "is_enabled": "on"})
    saved = client.post(url, {**form, "is_enabled": "on"})

    assert refused.status_code == 200
    assert refused.context["adminform"].form.errors == {
        "threshold": ["A share is between -1000 and 1000 %."]
    }
    assert saved.status_code == 302
    indicator.refresh_from_db()
    assert (indicator.threshold, indicator.updated_by) == (Decimal(25), world.ada)


def test_the_nav_links_alerts_for_managers_and_revops_only(client, world):
    rep = PersonFactory(role="sdr", team=world.inbound)

    client.force_login(world.mara.user)
    manager = client.get(reverse("alert-list")).content.decode()
    client.force_login(rep.user)
    sdr = client.get(reverse("alert-list")).content.decode()

    assert '<a href="/alerts/" aria-current="page">Alerts</a>' in manager
    assert '<a href="/alerts/"' not in sdr


# The e-mail ------------------------------------------------------------------


def test_the_alert_email_carries_the_chart_and_records_as_html(
    world, django_capture_on_commit_callbacks
):
    watch()
    leads = add_leads(world.inbound, new=4, working=6, days_ago=1)
    add_leads(world.inbound, new=1, working=9, days_ago=6)
    add_leads(world.outbound, working=30)

    with django_capture_on_commit_callbacks(execute=True):
        evaluate_indicators(NOW)

    alert = Alert.objects.get()
    (message,) = mail.outbox
    assert message.to == [world.mara.email]
    assert message.subject == "Alert: New leads above 20 % for Inbound"
    assert message.body.endswith(f"{settings.BOWTIE_BASE_URL}/alerts/{alert.pk}/")
    ((html, kind),) = message.alternatives
    assert kind == "text/html"
    # 10 % in the week of 9 March, 40 % in the week of 16 March, the taller.
    assert "height:20px" in html and "height:80px" in html
    assert "background:#3f9d6b" in html and "background:#c2423f" in html
    assert ">09 Mar<" in html and ">16 Mar<" in html
    for lead in leads:
        assert f"{settings.BOWTIE_BASE_URL}/leads/{lead.pk}/" in html
    assert f'href="{settings.BOWTIE_BASE_URL}/alerts/{alert.pk}/"' in html
    assert "<svg" not in html and "<script" not in html


# The schedule ----------------------------------------------------------------


def test_the_beat_runs_the_evaluation_hourly_and_records_its_heartbeat(world):
    watch()
    add_leads(world.inbound, new=3, working=7)
    add_leads(world.outbound, working=20)

    with time_machine.travel(NOW, tick=False):
        first = tasks.evaluate_indicators()
        second = tasks.evaluate_indicators()

    assert settings.CELERY_BEAT_SCHEDULE["evaluate-indicators"] == {
        "task": "bowtie.tasks.evaluate_indicators",
        "schedule": timedelta(hours=1),
        "options": {"expires": 3000},
    }
    assert (first, second) == ({**NOTHING, "opened": 1}, {**NOTHING, "kept": 1})
    beat = JobHeartbeat.objects.get(name="evaluate-indicators")
    assert (beat.run_count, beat.last_succeeded_at) == (2, NOW)
    assert Notification.objects.count() == 1
