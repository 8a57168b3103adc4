"""The weekly SLA compliance report: exact figures, the page, the e-mail."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from bowtie.models import WorkingPeriod
from handoffs.compliance import (
    Offender,
    Week,
    send_weekly_compliance_reports,
    team_compliance,
)
from handoffs.escalation import sweep
from handoffs.services import intake_lead, log_touch
from tests.factories import PersonFactory, RoutingRuleFactory, TeamFactory

BERLIN = ZoneInfo("Europe/Berlin")
WEEK = Week(2027, 13)
MONDAY = datetime(2027, 3, 29, 10, 0, tzinfo=BERLIN)


@pytest.fixture
def dach(db):
    team = TeamFactory(name="Inbound DACH", time_zone="Europe/Berlin")
    WorkingPeriod.objects.bulk_create(
        WorkingPeriod(team=team, weekday=day, starts_at=time(9), ends_at=time(18))
        for day in range(5)
    )
    head = PersonFactory(full_name="Mara Manager", role="manager", team=team)
    team.head = head
    team.save()
    reps = [PersonFactory(full_name=name, team=team) for name in ("Jonas", "Lena")]
    RoutingRuleFactory(name="All", team=team, is_default=True)
    return {"team": team, "head": head, "reps": reps}


@pytest.fixture
def busy_week(dach):
    """One lead answered in time, one left to run down the whole ladder."""
    answered = intake_lead(
        {"email": "anna@kraftwerk.de", "form_type": "demo_request"},
        channel="form",
        now=MONDAY,
    ).lead
    log_touch(answered, answered.owner, "call", now=MONDAY + timedelta(minutes=2))
    ignored = intake_lead({"email": "ben@kraftwerk.de"}, channel="form", now=MONDAY)
    first_owner = ignored.lead.owner
    due = MONDAY + timedelta(minutes=10)
    for day in range(3):
        sweep(due + timedelta(days=day))
    return {"first_owner": first_owner}


def test_week_bounds_follow_the_teams_midnight_across_the_spring_change():
    spring_week = Week(2027, 12)

    assert spring_week.bounds(BERLIN) == (
        datetime(2027, 3, 21, 23, 0, tzinfo=UTC),
        datetime(2027, 3, 28, 22, 0, tzinfo=UTC),
    )
    assert WEEK.bounds(BERLIN)[0] == datetime(2027, 3, 28, 22, 0, tzinfo=UTC)
    assert str(WEEK) == "2027-W13"
    assert (WEEK.previous, WEEK.next) == (spring_week, Week(2027, 14))


@pytest.mark.parametrize("text", ["2027-13", "2027-W53", "last week"])
def test_a_week_that_does_not_exist_is_refused_by_name(text):
    with pytest.raises(ValueError) as refused:
        Week.parse(text)

    assert str(refused.value) == f"{text!r} is not a week like 2027-W13."


def test_weekly_figures_are_exact(dach, busy_week):
    report = team_compliance(dach["team"], WEEK)

    assert (
        report.due_count,
        report.on_time_count,
        report.breach_count,
        report.managers_told_count,
        report.escalation_count,
        report.reassignment_count,
    ) == (2, 1, 1, 1, 1, 1)
    assert report.compliance_rate == 0.5
    assert report.worst_offenders == [Offender(busy_week["first_owner"].full_name, 1)]
    assert (report.response.lead_count, report.response.responded_count) == (2, 1)
    assert report.response.business_median_seconds == 120


def test_the_week_before_shows_none_of_it(dach, busy_week):
    report = team_compliance(dach["team"], WEEK.previous)

    assert (report.due_count, report.breach_count, report.is_quiet) == (0, 0, True)


def test_report_goes_to_the_head_on_monday_morning_once(
    dach, busy_week, django_capture_on_commit_callbacks
):
    before_seven = datetime(2027, 4, 5, 6, 59, tzinfo=BERLIN)
    at_seven = datetime(2027, 4, 5, 7, 0, tzinfo=BERLIN)

    with django_capture_on_commit_callbacks(execute=True):
        early = send_weekly_compliance_reports(before_seven)
        on_time = send_weekly_compliance_reports(at_seven)
        again = send_weekly_compliance_reports(at_seven + timedelta(hours=1))

    # Before seven the report due is the quiet week 12: nothing is sent.
    assert (early, on_time, again) == ({"sent": 0}, {"sent": 1}, {"sent": 0})
    [message] = [m for m in mail.outbox if "compliance" in m.subject]
    assert message.to == [dach["head"].email]
    assert message.subject == (
        "SLA compliance of Inbound DACH, week 2027-W13: 50 % on time"
    )
    offender = busy_week["first_owner"].full_name
    assert (
        "Inbound DACH, 2027-W13 (29 Mar to 04 Apr 2027, Europe/Berlin).\n\n"
        "Clocks due: 2, on time: 1 (50 %).\n"
        "Breaches: 1. Managers told: 1. Escalations: 1. Reassignments: 1.\n"
        "Median first response: 2 min in business time, 2 min elapsed "
        "(1 of 2 leads responded).\n\nMost breaches:\n"
        f"- {offender}: 1"
    ) in message.body


def test_a_scheduler_down_on_monday_sends_the_report_at_its_next_run(dach, busy_week):
    wednesday = datetime(2027, 4, 7, 15, 0, tzinfo=BERLIN)

    assert send_weekly_compliance_reports(wednesday) == {"sent": 1}


def test_page_shows_charts_then_the_table_and_exports_csv(client, dach, busy_week):
    client.force_login(dach["head"].user)
    url = reverse("sla-compliance")

    page = client.get(url, {"week": "2027-W13"})
    export = client.get(url, {"week": "2027-W13", "format": "csv"})

    text = page.content.decode()
    assert page.status_code == 200
    assert text.index("<svg") < text.index('<table class="metrics" id="compliance">')
    assert "SLA compliance, week 2027-W13" in text
    offender = busy_week["first_owner"].full_name
    assert export.content.decode() == (
        "week,team,clocks_due,on_time,compliance_rate,breaches,managers_told,"
        "escalations,reassignments,leads,responded,business_median_seconds,"
        "median_seconds,worst_offenders\r\n"
        f"2027-W13,Inbound DACH,2,1,0.5,1,1,1,1,2,1,120,120,{offender} (1)\r\n"
    )


def test_page_names_a_bad_week_and_shows_this_week(client, dach):
    with time_machine.travel(datetime(2027, 3, 31, 12, 0, tzinfo=UTC), tick=False):
        client.force_login(dach["head"].user)
        page = client.get(reverse("sla-compliance"), {"week": "W99"}, follow=True)

    assert page.status_code == 200
    assert "Week: &#x27;W99&#x27; is not a week like 2027-W13." in (
        page.content.decode()
    )
    assert page.context["week"] == WEEK
    assert "SLA compliance, week 2027-W13 so far" in page.content.decode()


def test_a_rep_sees_only_their_own_team(client, dach):
    other = TeamFactory(name="Inbound Nordics")
    client.force_login(dach["reps"][0].user)

    page = client.get(reverse("sla-compliance"), {"week": "2027-W13"})

    teams = [report.team for report in page.context["reports"]]
    assert teams == [dach["team"]]
    assert other not in teams
