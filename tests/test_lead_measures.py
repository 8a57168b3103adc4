"""The Marketing → Sales metrics of the bow-tie dashboard, with known values.

The leads are made through the services at set times (UTC, March 2026, when
Berlin is UTC+1). EMEA works around the clock; DACH works 09:00-17:00 Berlin,
Monday to Friday, so its business time differs from elapsed time.

| lead    | team | type  | staff | received     | answered               | closed      |
|---------|------|-------|-------|--------------|------------------------|-------------|
| old     | EMEA | hand  |       | Fri 20 Feb   | call, 30 s             | disq 3 Mar  |
| anna    | EMEA | hand  | 50    | Mon 2 Mar    | call, 60 s             | SQL 4 Mar   |
| ida     | EMEA | organ | 2000  | Mon 2 Mar    | call, 900 s            | disq 10 Mar |
| ben     | EMEA | hand  | 500   | Tue 3 Mar    | e-mail, 180 s          | disq 3 Mar  |
| history | EMEA | hand  |       | Thu 5 Mar    | imported as SQL        | (history)   |
| carla   | DACH | hand  | 1500  | Fri 6 15:50  | Mon 9 08:05, 900 s *   | open        |
| dora    | EMEA | hand  | 120   | Tue 10 Mar   | nurture, 600 s         | 10 Mar      |
| emil    | DACH | hand  |       | Wed 11 15:58 | Thu 12 08:01, 180 s *  | open        |
| greta   | EMEA | organ | 50    | Thu 12 Mar   | none, due 09:10        | open        |
| finn    | EMEA | hand  | 300   | Sat 14 Mar   | none, due 10:05        | open        |
| hans    | EMEA | organ | 800   | Sun 15 11:55 | none, due 12:05        | open        |

hand: hand-raiser; organ: organic; disq: disqualified; SQL: qualified.
* business seconds; elapsed they are 231,300 s (carla) and 57,780 s (emil).
The scope is Monday 2 to Sunday 15 March, two weeks; NOW is 15 March 12:00.
"""

import importlib
from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.apps import apps
from django.urls import reverse

from bowtie import measurement
from bowtie.measurement import Point, Reading, Scope, Segment
from bowtie.models import Person, WorkingPeriod
from handoffs.models import IntakeChannel, Lead
from handoffs.services import disposition_lead, intake_lead, log_touch
from tests.factories import PersonFactory, RoutingRuleFactory, TeamFactory

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
PERIOD = Scope(date(2026, 3, 2), date(2026, 3, 15))
SECOND = timedelta(seconds=1)


def moment(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def two_teams(sales_team):
    """German speakers go to DACH, which keeps office hours; others to EMEA."""
    dach = TeamFactory(name="Inbound DACH", time_zone="Europe/Berlin")
    WorkingPeriod.objects.bulk_create(
        WorkingPeriod(team=dach, weekday=day, starts_at=time(9), ends_at=time(17))
        for day in range(5)
    )
    PersonFactory(full_name="Jonas Weber", team=dach)
    RoutingRuleFactory(
        name="German speakers to DACH",
        team=dach,
        priority=10,
        conditions=[{"field": "language", "operator": "in", "value": ["de"]}],
    )
    return {"dach": dach, "emea": sales_team["team"]}


def receive(name, at, *, language="", form_type="demo_request", staff=None, **extra):
    submission = {
        "email": f"{name}@example-customer.com",
        "first_name": name.title(),
        "company_name": f"{name.title()} Corp",
        "language": language,
        "form_type": form_type,
    }
    if staff is not None:
        submission["employee_count"] = staff
    with time_machine.travel(at, tick=False):
        return intake_lead(submission, channel=IntakeChannel.FORM, now=at, **extra).lead


def touch(lead, at, kind="call"):
    with time_machine.travel(at, tick=False):
        log_touch(lead, lead.owner, kind, now=at)


def close(lead, at, status, reason=""):
    with time_machine.travel(at, tick=False):
        disposition_lead(
            Lead.objects.get(pk=lead.pk), lead.owner, status, reason, now=at
        )


@pytest.fixture
def leads(two_teams):
    """The leads of the table above, in the order things happened."""
    old = receive("old", moment(20, 10, month=2))
    touch(old, moment(20, 10, month=2) + 30 * SECOND)
    anna = receive("anna", moment(2, 10), staff=50)
    touch(anna, moment(2, 10, 1))
    ida = receive("ida", moment(2, 12), form_type="", staff=2000)
    touch(ida, moment(2, 12, 15))
    ben = receive("ben", moment(3, 10), staff=500)
    touch(ben, moment(3, 10, 3), "email")
    close(old, moment(3, 10, 30), Lead.Status.DISQUALIFIED, "Chose a competitor")
    close(ben, moment(3, 12), Lead.Status.DISQUALIFIED, "No budget")
    close(anna, moment(4, 9), Lead.Status.QUALIFIED)
    receive("history", moment(5, 9), historical=True, status=Lead.Status.QUALIFIED)
    carla = receive("carla", moment(6, 15, 50), language="de", staff=1500)
    touch(carla, moment(9, 8, 5))
    close(ida, moment(10, 8, 30), Lead.Status.DISQUALIFIED, "Student project")
    dora = receive("dora", moment(10, 9), staff=120)
    close(dora, moment(10, 9, 10), Lead.Status.NURTURE)
    emil = receive("emil", moment(11, 15, 58), language="de")
    touch(emil, moment(12, 8, 1))
    receive("greta", moment(12, 9), form_type="", staff=50)
    receive("finn", moment(14, 10), staff=300)
    receive("hans", moment(15, 11, 55), form_type="", staff=800)
    return {lead.first_name.lower(): lead for lead in Lead.objects.all()}


def read(key: str, scope: Scope = PERIOD) -> Reading:
    return measurement.metric(key).measure(scope, NOW)


def rows(key: str, scope: Scope = PERIOD) -> list[list]:
    records = measurement.metric(key).records(scope, NOW)
    return [[column.value(row) for column in records.columns] for row in records.rows]


def owner(leads, name: str) -> str:
    return leads[name].owner.full_name


# Speed to lead ----------------------------------------------------------------


def test_first_responses_are_stamped_in_elapsed_and_business_seconds(leads):
    stamped = {
        name: (lead.response_seconds, lead.business_response_seconds)
        for name, lead in leads.items()
    }

    assert stamped == {
        "old": (30, 30),
        "anna": (60, 60),
        "ida": (900, 900),
        "ben": (180, 180),
        "history": (None, None),
        "carla": (231_300, 900),
        "dora": (600, 600),
        "emil": (57_780, 180),
        "greta": (None, None),
        "finn": (None, None),
        "hans": (None, None),
    }


def test_speed_to_lead_is_the_median_of_answered_hand_raisers(leads):
    reading = read("speed_to_lead")

    # Elapsed 60, 180, 600, 57,780, 231,300 s; business 60, 180, 180, 600, 900.
    assert reading == Reading(
        value=10.0,
        count=5,
        series=(Point("02 Mar", 3.0, 3), Point("09 Mar", 486.5, 2)),
        details=(
            ("p90", 3855.0),
            ("business median", 3.0),
            ("business p90", 15.0),
        ),
    )


def test_speed_to_lead_records_are_the_answered_hand_raisers_newest_first(leads):
    records = measurement.metric("speed_to_lead").records(PERIOD, NOW)

    assert [column.header for column in records.columns] == [
        "Lead",
        "Company",
        "Team",
        "Owner",
        "Received (UTC)",
        "First response (UTC)",
        "Minutes",
        "Business minutes",
        "Status",
    ]
    assert rows("speed_to_lead") == [
        [
            "Emil",
            "Emil Corp",
            "Inbound DACH",
            "Jonas Weber",
            "2026-03-11 15:58",
            "2026-03-12 08:01",
            963.0,
            3.0,
            "Working",
        ],
        [
            "Dora",
            "Dora Corp",
            "Inbound EMEA",
            owner(leads, "dora"),
            "2026-03-10 09:00",
            "2026-03-10 09:10",
            10.0,
            10.0,
            "Back to nurture",
        ],
        [
            "Carla",
            "Carla Corp",
            "Inbound DACH",
            "Jonas Weber",
            "2026-03-06 15:50",
            "2026-03-09 08:05",
            3855.0,
            15.0,
            "Working",
        ],
        [
            "Ben",
            "Ben Corp",
            "Inbound EMEA",
            owner(leads, "ben"),
            "2026-03-03 10:00",
            "2026-03-03 10:03",
            3.0,
            3.0,
            "Disqualified",
        ],
        [
            "Anna",
            "Anna Corp",
            "Inbound EMEA",
            owner(leads, "anna"),
            "2026-03-02 10:00",
            "2026-03-02 10:01",
            1.0,
            1.0,
            "Qualified (SQL)",
        ],
    ]
    assert records.url_of(leads["emil"]) == f"/leads/{leads['emil'].pk}/"


def test_speed_to_lead_for_one_team_and_one_segment(leads, two_teams):
    dach = Scope(PERIOD.starts_on, PERIOD.ends_on, frozenset({two_teams["dach"].pk}))
    enterprise = Scope(PERIOD.starts_on, PERIOD.ends_on, segment=Segment.ENTERPRISE)

    for_dach = read("speed_to_lead", dach)
    for_enterprise = read("speed_to_lead", enterprise)

    # Carla and Emil: elapsed 57,780 and 231,300 s, business 180 and 900 s.
    assert for_dach == Reading(
        value=2409.0,
        count=2,
        series=(Point("02 Mar", 3855.0, 1), Point("09 Mar", 963.0, 1)),
        details=(
            ("p90", 3855.0),
            ("business median", 9.0),
            ("business p90", 15.0),
        ),
    )
    assert (for_enterprise.value, for_enterprise.count) == (3855.0, 1)
    assert [row[0] for row in rows("speed_to_lead", enterprise)] == ["Carla"]


def test_speed_to_lead_keeps_the_business_time_counted_at_the_response(
    leads, two_teams
):
    # DACH's hours go: its calendar now runs around the clock.
    WorkingPeriod.objects.filter(team=two_teams["dach"]).delete()

    reading = read("speed_to_lead")

    assert reading.details[1:] == (("business median", 3.0), ("business p90", 15.0))


def test_speed_to_lead_is_empty_for_a_period_without_answers(leads):
    before = Scope(date(2026, 1, 5), date(2026, 1, 18))

    assert read("speed_to_lead", before) == Reading(
        value=None,
        count=0,
        series=(Point("05 Jan", None, 0), Point("12 Jan", None, 0)),
        details=(("p90", None), ("business median", None), ("business p90", None)),
    )


# Unworked rate ----------------------------------------------------------------


def test_unworked_rate_counts_overdue_leads_without_a_response(leads):
    reading = read("unworked_rate")

    # Greta and Finn are overdue; Hans is due at 12:05, after NOW.
    assert reading == Reading(
        value=100 * 2 / 9,
        count=9,
        series=(Point("02 Mar", 0.0, 4), Point("09 Mar", 40.0, 5)),
        details=(("unworked", 2),),
    )


def test_unworked_rate_counts_a_lead_from_its_due_time(leads):
    due = moment(15, 12, 5)

    just_before = measurement.metric("unworked_rate").measure(PERIOD, due - SECOND)
    at_due = measurement.metric("unworked_rate").measure(PERIOD, due)

    assert (just_before.details, at_due.details) == (
        (("unworked", 2),),
        (("unworked", 3),),
    )


def test_unworked_records_are_every_lead_received_marked(leads):
    assert [[row[0], row[5], row[6], row[7]] for row in rows("unworked_rate")] == [
        ["Hans", None, None, "no"],
        ["Finn", None, None, "yes"],
        ["Greta", None, None, "yes"],
        ["Emil", "2026-03-12 08:01", 963.0, "no"],
        ["Dora", "2026-03-10 09:10", 10.0, "no"],
        ["Carla", "2026-03-09 08:05", 3855.0, "no"],
        ["Ben", "2026-03-03 10:03", 3.0, "no"],
        ["Ida", "2026-03-02 12:15", 15.0, "no"],
        ["Anna", "2026-03-02 10:01", 1.0, "no"],
    ]


def test_unworked_rate_for_one_team_and_one_segment(leads, two_teams):
    dach = Scope(PERIOD.starts_on, PERIOD.ends_on, frozenset({two_teams["dach"].pk}))
    mid = Scope(PERIOD.starts_on, PERIOD.ends_on, segment=Segment.MID)

    for_dach = read("unworked_rate", dach)
    for_mid = read("unworked_rate", mid)

    assert (for_dach.value, for_dach.count) == (0.0, 2)
    # Ben (500), Finn (300) and Hans (800); Finn is overdue.
    assert (for_mid.value, for_mid.count) == (100 / 3, 3)


# MQL → SQL conversion ---------------------------------------------------------


def test_conversion_is_the_qualified_share_of_closed_leads_received(leads):
    reading = read("mql_to_sql_conversion")

    # Anna qualified; Ben and Ida disqualified; Dora back to nurture. Old was
    # received before the period, the imported qualified lead is history.
    assert reading == Reading(
        value=25.0,
        count=4,
        series=(Point("02 Mar", 100 / 3, 3), Point("09 Mar", 0.0, 1)),
        details=(("qualified", 1),),
    )
    assert [[row[0], row[7]] for row in rows("mql_to_sql_conversion")] == [
        ["Dora", "Back to nurture"],
        ["Ben", "Disqualified"],
        ["Ida", "Disqualified"],
        ["Anna", "Qualified (SQL)"],
    ]


# MQL rejection rate -----------------------------------------------------------


def test_rejection_rate_is_the_disqualified_share_of_closes_in_the_period(leads):
    reading = read("mql_rejection_rate")

    # Closed in the period: Old, Ben, Anna (week 1), Ida, Dora (week 2). Old
    # counts, received in February; nurture is no rejection.
    assert reading == Reading(
        value=60.0,
        count=5,
        series=(Point("02 Mar", 200 / 3, 3), Point("09 Mar", 50.0, 2)),
        details=(("rejected", 3),),
    )


def test_rejection_records_are_the_closes_newest_first_with_reasons(leads):
    records = measurement.metric("mql_rejection_rate").records(PERIOD, NOW)

    assert [column.header for column in records.columns][6:] == [
        "Closed (UTC)",
        "Outcome",
        "Reason",
    ]
    assert [[row[0], row[6], row[7], row[8]] for row in rows("mql_rejection_rate")] == [
        ["Dora", "2026-03-10 09:10", "Back to nurture", ""],
        ["Ida", "2026-03-10 08:30", "Disqualified", "Student project"],
        ["Anna", "2026-03-04 09:00", "Qualified (SQL)", ""],
        ["Ben", "2026-03-03 12:00", "Disqualified", "No budget"],
        ["Old", "2026-03-03 10:30", "Disqualified", "Chose a competitor"],
    ]


def test_rejection_rate_for_one_segment_and_a_window_before(leads):
    enterprise = Scope(PERIOD.starts_on, PERIOD.ends_on, segment=Segment.ENTERPRISE)
    first_week = Scope(date(2026, 3, 2), date(2026, 3, 8))

    for_enterprise = read("mql_rejection_rate", enterprise)
    # The rising indicator compares a window with the one before it.
    week_before = read("mql_rejection_rate", first_week.before())
    week_one = read("mql_rejection_rate", first_week)

    assert (for_enterprise.value, for_enterprise.count) == (100.0, 1)
    assert (week_before.value, week_before.count) == (None, 0)
    assert (week_one.value, week_one.count) == (200 / 3, 3)


def test_imported_history_counts_in_no_metric(leads):
    history = leads["history"]
    Lead.objects.exclude(pk=history.pk).delete()
    # As if the source system had recorded a response: still not ours.
    Lead.objects.filter(pk=history.pk).update(
        first_response_at=moment(5, 9, 1), response_seconds=60
    )

    readings = [read(metric.key) for metric in measurement.metrics("lead_to_sales")]

    assert [(reading.value, reading.count) for reading in readings] == [(None, 0)] * 4
    assert history.closed_at == moment(5, 9)


def test_lead_to_sales_metrics_are_registered_in_dashboard_order():
    chosen = measurement.metrics(measurement.Handoff.LEAD_TO_SALES)

    assert [
        (metric.key, metric.unit, metric.target.describe(metric.unit))
        for metric in chosen
    ] == [
        ("speed_to_lead", "minutes", "at most 5 min"),
        ("mql_to_sql_conversion", "percent", "25-35 %"),
        ("unworked_rate", "percent", "at most 5 %"),
        ("mql_rejection_rate", "percent", "at most 20 %"),
    ]
    assert [metric.higher_is_better for metric in chosen] == [False, True, False, False]


# The backfill of responses recorded before the stamps -------------------------

backfill = importlib.import_module(
    "handoffs.migrations.0027_backfill_lead_response_seconds"
)


def test_backfill_stamps_earlier_responses_on_the_owners_calendar(leads):
    # Anna's owner, in the round-the-clock EMEA team, works Saturdays only:
    # no response of theirs, all on weekdays, took any business time.
    rep = leads["anna"].owner
    WorkingPeriod.objects.create(
        person=rep, weekday=5, starts_at=time(9), ends_at=time(17)
    )
    # Nobody owns Emil any more: the DACH team's hours count.
    Lead.objects.filter(pk=leads["emil"].pk).update(owner=None)
    Lead.objects.update(response_seconds=None, business_response_seconds=None)

    backfill.stamp_response_seconds(apps, None)

    stamped = {
        lead.first_name.lower(): (lead.response_seconds, lead.business_response_seconds)
        for lead in Lead.objects.filter(first_response_at__isnull=False)
    }
    expected = {
        "old": (30, 30),
        "anna": (60, 60),
        "ida": (900, 900),
        "ben": (180, 180),
        "carla": (231_300, 900),
        "dora": (600, 600),
        "emil": (57_780, 180),
    }
    for name, lead in leads.items():
        if lead.owner_id == rep.pk and name in expected:
            expected[name] = (expected[name][0], 0)
    assert stamped == expected
    assert expected["anna"] == (60, 0)


def test_backfill_reverses_to_no_stamps(leads):
    backfill.clear_response_seconds(apps, None)

    assert not Lead.objects.filter(response_seconds__isnull=False).exists()
    assert not Lead.objects.filter(business_response_seconds__isnull=False).exists()


# The dashboard page -----------------------------------------------------------


def test_lead_to_sales_page_shows_each_metric_with_its_figures(client, leads):
    admin = PersonFactory(full_name="Rita RevOps", role=Person.Role.REVOPS_ADMIN)
    client.force_login(admin.user)

    with time_machine.travel(NOW, tick=False):
        response = client.get(
            reverse("dashboard-handoff", args=["lead_to_sales"]),
            {"starts_on": "2026-03-02", "ends_on": "2026-03-15"},
        )

    page = response.content.decode()
    assert response.status_code == 200
    for key, shown in [
        ("speed_to_lead", "10 min"),
        ("mql_to_sql_conversion", "25 %"),
        ("unworked_rate", "22.2 %"),
        ("mql_rejection_rate", "60 %"),
    ]:
        assert f'data-metric="{key}">{shown}</strong>' in page
    assert "5 records · p90 3855 · business median 3 · business p90 15" in page
    assert "9 records · unworked 2" in page
    assert "5 records · rejected 3" in page
