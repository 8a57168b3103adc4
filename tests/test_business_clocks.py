"""Clocks on business calendars: due times, recomputation, sweeps, the admin."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from bowtie.calendars import announce_calendar_change
from bowtie.models import CompanyDayOff, Notification, Person, Team, WorkingPeriod
from handoffs import clocks, metrics
from handoffs.escalation import sweep
from handoffs.models import LadderStep, Lead, Milestone, SlaPolicy
from handoffs.services import intake_lead, log_touch
from tests.factories import PersonFactory, RoutingRuleFactory, TeamFactory

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
# Friday before the spring change, two minutes before closing.
FRIDAY_EVENING = datetime(2027, 3, 26, 17, 58, tzinfo=BERLIN)
ORGANIC = {"email": "zoe@globex.com", "first_name": "Zoë"}
HAND_RAISER = ORGANIC | {"form_type": "demo_request"}


def weekly_hours(owner_field: dict, *intervals, days=range(5)) -> None:
    intervals = intervals or ((time(9), time(18)),)
    WorkingPeriod.objects.bulk_create(
        WorkingPeriod(weekday=day, starts_at=opens, ends_at=closes, **owner_field)
        for day in days
        for opens, closes in intervals
    )


@pytest.fixture
def berlin_team(db):
    """Europe/Berlin, Monday to Friday 09:00-18:00, no public holidays."""
    team = TeamFactory(name="Inbound DACH", time_zone="Europe/Berlin")
    weekly_hours({"team": team})
    manager = PersonFactory(full_name="Mara Manager", role="manager", team=team)
    team.head = manager
    team.save()
    rep = PersonFactory(full_name="Jonas Rep", team=team, time_zone="Europe/Berlin")
    RoutingRuleFactory(name="All", team=team, is_default=True)
    return {"team": team, "rep": rep, "manager": manager}


def first_response(lead: Lead) -> Milestone:
    return Milestone.objects.get(handoff__lead=lead, key="first_response")


def take_in(submission=ORGANIC, now=FRIDAY_EVENING) -> Lead:
    return intake_lead(submission, channel="form", now=now).lead


def test_default_response_targets_count_business_time_and_nurture_elapsed(db):
    clock_types = dict(
        SlaPolicy.objects.filter(milestone_key="first_response").values_list(
            "lead_type", "clock_type"
        )
    )

    assert clock_types == {
        "hand_raiser": "business",
        "paid": "business",
        "organic": "business",
        "partner_referral": "business",
        "nurture": "elapsed",
    }


def test_friday_evening_lead_is_due_monday_0908_berlin_after_the_clocks_moved(
    berlin_team,
):
    lead = take_in()

    milestone = first_response(lead)

    assert milestone.clock_type == "business"
    assert milestone.due_at == datetime(2027, 3, 29, 7, 8, tzinfo=UTC)
    # The elapsed disposition clock counts the weekend.
    disposition = Milestone.objects.get(handoff__lead=lead, key="disposition")
    assert disposition.due_at == FRIDAY_EVENING + timedelta(days=14)


def test_rungs_on_a_share_of_a_business_target_count_business_time(berlin_team):
    lead = take_in()

    steps = {
        step.action: step.due_at
        for step in LadderStep.objects.filter(milestone=first_response(lead))
    }

    # 75 % of ten minutes: two minutes on Friday, 5.5 on Monday.
    assert steps == {
        "warn": datetime(2027, 3, 29, 7, 5, 30, tzinfo=UTC),
        "notify_manager": datetime(2027, 3, 29, 7, 8, tzinfo=UTC),
        "reassign": datetime(2027, 3, 30, 7, 8, tzinfo=UTC),
        "escalate": datetime(2027, 3, 31, 7, 8, tzinfo=UTC),
    }


def test_the_owners_own_hours_and_zone_drive_the_clock(berlin_team):
    berlin_team["rep"].time_zone = "America/New_York"
    berlin_team["rep"].save()
    weekly_hours({"person": berlin_team["rep"]}, (time(8), time(16)))
    # 17:58 in Berlin is 12:58 in New York: well inside the owner's day.

    lead = take_in()

    assert first_response(lead).due_at == datetime(
        2027, 3, 26, 13, 8, tzinfo=NEW_YORK
    ).astimezone(UTC)


def test_team_holidays_by_country_and_region_close_the_day(berlin_team):
    team = berlin_team["team"]
    team.country, team.holiday_region = "DE", "BY"
    team.save()
    # Epiphany, 6 January 2027, is a holiday in Bavaria.
    lead = take_in(now=datetime(2027, 1, 5, 17, 55, tzinfo=BERLIN))

    assert first_response(lead).due_at == datetime(2027, 1, 7, 9, 5, tzinfo=BERLIN)


def test_a_holiday_added_while_the_lead_is_open_moves_its_clock(
    berlin_team, admin_client
):
    lead = take_in(now=datetime(2027, 5, 4, 17, 55, tzinfo=BERLIN))
    assert first_response(lead).due_at == datetime(2027, 5, 5, 9, 5, tzinfo=BERLIN)

    response = admin_client.post(
        reverse("admin:bowtie_companydayoff_add"),
        {"on": "2027-05-05", "name": "Company offsite", "team": ""},
    )

    assert response.status_code == 302
    milestone = first_response(lead)
    assert milestone.due_at == datetime(2027, 5, 6, 9, 5, tzinfo=BERLIN)
    warn = LadderStep.objects.get(milestone=milestone, action="warn")
    assert warn.due_at == datetime(2027, 5, 6, 9, 2, 30, tzinfo=BERLIN)
    assert milestone.history.count() == 2


def test_removing_the_holiday_moves_the_clock_back(berlin_team, admin_client):
    lead = take_in(now=datetime(2027, 5, 4, 17, 55, tzinfo=BERLIN))
    admin_client.post(
        reverse("admin:bowtie_companydayoff_add"),
        {"on": "2027-05-05", "name": "Company offsite", "team": ""},
    )
    day_off = CompanyDayOff.objects.get()

    admin_client.post(
        reverse("admin:bowtie_companydayoff_delete", args=[day_off.pk]),
        {"post": "yes"},
    )

    assert first_response(lead).due_at == datetime(2027, 5, 5, 9, 5, tzinfo=BERLIN)


def test_editing_working_hours_recomputes_open_milestones_only(berlin_team):
    open_lead = take_in()
    answered = take_in({"email": "ann@globex.com"})
    log_touch(answered, answered.owner, "call", now=FRIDAY_EVENING)
    answered_due = first_response(answered).due_at

    WorkingPeriod.objects.filter(team=berlin_team["team"], weekday=0).update(
        starts_at=time(10)
    )
    announce_calendar_change(FRIDAY_EVENING, teams=[berlin_team["team"]])

    assert first_response(open_lead).due_at == datetime(2027, 3, 29, 8, 8, tzinfo=UTC)
    assert first_response(answered).due_at == answered_due


def test_editing_a_policy_carries_its_target_to_running_clocks(berlin_team):
    lead = take_in()
    policy = SlaPolicy.objects.get(lead_type="organic", milestone_key="first_response")
    policy.target_seconds = 30 * 60
    policy.save()

    moved = clocks.apply_policy_change(policy, FRIDAY_EVENING)

    milestone = first_response(lead)
    assert moved == 1
    assert (milestone.target_seconds, milestone.due_at) == (
        1800,
        datetime(2027, 3, 29, 9, 28, tzinfo=BERLIN),
    )


def test_switching_a_policy_to_elapsed_time_counts_the_weekend(berlin_team):
    lead = take_in()
    policy = SlaPolicy.objects.get(lead_type="organic", milestone_key="first_response")
    policy.clock_type = "elapsed"
    policy.save()

    clocks.apply_policy_change(policy, FRIDAY_EVENING)

    assert first_response(lead).due_at == FRIDAY_EVENING + timedelta(minutes=10)


def admin_form_data(page) -> dict:
    """What the admin change page would post back unchanged, inlines included."""
    form = page.context["adminform"].form
    data = {
        name: value.pk if hasattr(value, "pk") else value
        for name, value in form.initial.items()
        if value is not None and value is not False and name in form.fields
    }
    data = {
        name: "on" if value is True else value
        for name, value in data.items()
        if not isinstance(value, list)
    }
    for formset in page.context["inline_admin_formsets"]:
        management = formset.formset.management_form
        data |= {
            f"{management.prefix}-{name}": value
            for name, value in management.initial.items()
        }
        for inline in formset.formset.forms:
            for name, field in inline.fields.items():
                value = inline.initial.get(name, field.initial)
                if value is None or value is False:
                    continue
                if hasattr(value, "pk"):
                    value = value.pk
                data[f"{inline.prefix}-{name}"] = "on" if value is True else value
    return data


def test_admin_policy_edit_recomputes_running_clocks(berlin_team, admin_client):
    lead = take_in()
    policy = SlaPolicy.objects.get(lead_type="organic", milestone_key="first_response")
    url = reverse("admin:handoffs_slapolicy_change", args=[policy.pk])
    data = admin_form_data(admin_client.get(url))
    data |= {"target_seconds": 1200, "is_active": "on"}

    response = admin_client.post(url, data)

    assert response.status_code == 302, response.context["errors"]
    assert first_response(lead).due_at == datetime(2027, 3, 29, 9, 18, tzinfo=BERLIN)


def test_admin_team_hours_edit_recomputes_running_clocks(berlin_team, admin_client):
    lead = take_in()
    team = berlin_team["team"]
    url = reverse("admin:bowtie_team_change", args=[team.pk])
    data = admin_form_data(admin_client.get(url))
    monday = next(
        key.removesuffix("-weekday")
        for key, value in data.items()
        if key.endswith("-weekday") and value == 0
    )
    data[f"{monday}-starts_at"] = "11:00"

    response = admin_client.post(url, data)

    assert response.status_code == 302, response.context["errors"]
    assert first_response(lead).due_at == datetime(2027, 3, 29, 11, 8, tzinfo=BERLIN)


def test_sweeper_never_fires_a_business_clock_over_the_weekend(berlin_team):
    lead = take_in()
    due = datetime(2027, 3, 29, 7, 8, tzinfo=UTC)

    weekend = sweep(datetime(2027, 3, 28, 12, 0, tzinfo=UTC))
    a_second_early = sweep(due - timedelta(seconds=1))
    on_time = sweep(due)

    assert weekend["breaches"] == 0
    assert a_second_early["breaches"] == 0
    assert on_time["breaches"] == 1
    assert first_response(lead).breached_at == due


def test_a_sweeper_down_for_the_weekend_takes_each_rung_once_on_return(berlin_team):
    lead = take_in()

    caught_up = sweep(datetime(2027, 4, 2, 12, 0, tzinfo=UTC))
    again = sweep(datetime(2027, 4, 2, 12, 0, 5, tzinfo=UTC))

    assert caught_up == {"breaches": 1, "steps": 4}
    assert again == {"breaches": 0, "steps": 0}
    # The disposition clock's three rungs are days away still.
    waiting = LadderStep.objects.filter(
        milestone__handoff__lead=lead, taken_at__isnull=True
    )
    assert waiting.count() == 3


def test_reassignment_recomputes_for_the_successors_calendar(berlin_team):
    SlaPolicy.objects.filter(milestone_key="disposition").update(
        clock_type="business", target_seconds=16 * 3600
    )
    lead = take_in(HAND_RAISER)
    disposition = Milestone.objects.get(handoff__lead=lead, key="disposition")
    # Two minutes on Friday, nine hours on Monday, the rest on Tuesday.
    assert disposition.due_at == datetime(2027, 3, 30, 15, 58, tzinfo=BERLIN)
    nora = PersonFactory(full_name="Nora", team=berlin_team["team"])
    nora.time_zone = "America/New_York"
    nora.save()
    weekly_hours({"person": nora}, (time(9), time(17)))

    sweep(datetime(2027, 3, 30, 7, 5, tzinfo=UTC))

    lead.refresh_from_db()
    disposition.refresh_from_db()
    assert lead.owner == nora
    # Friday 12:58 to 17:00 in New York, Monday, then Tuesday from 09:00.
    assert disposition.due_at == datetime(2027, 3, 30, 12, 58, tzinfo=NEW_YORK)


def test_speed_to_lead_is_reported_in_business_and_elapsed_time(berlin_team):
    lead = take_in()
    log_touch(lead, lead.owner, "call", now=datetime(2027, 3, 29, 9, 3, tzinfo=BERLIN))

    stats = metrics.speed_to_lead(
        Lead.objects.all(), now=datetime(2027, 3, 30, tzinfo=UTC)
    ).overall

    # Two minutes on Friday and three on Monday; the weekend in elapsed time.
    assert stats.business_median_seconds == 5 * 60
    # 63 h 5 min on the wall clock, less the hour the clocks skipped.
    assert stats.median_seconds == (62 * 60 + 5) * 60


def test_admin_team_page_previews_the_next_working_periods(berlin_team, admin_client):
    team = berlin_team["team"]
    team.country = "DE"
    team.save()

    page = admin_client.get(reverse("admin:bowtie_team_change", args=[team.pk]))

    text = page.content.decode()
    assert "Next working periods" in text
    assert "From the hours of Inbound DACH (Europe/Berlin)." in text
    assert text.count("–18:00</li>") == 10


def test_a_holiday_region_the_library_does_not_know_is_refused(db):
    team = Team(name="Somewhere", country="DE", holiday_region="XX")

    with pytest.raises(ValidationError) as refused:
        team.full_clean()

    assert "holiday_region" in refused.value.message_dict
    assert refused.value.message_dict["holiday_region"][0].startswith(
        "'XX' is not a region of DE: use one of"
    )


def test_a_person_region_without_a_country_is_refused(db):
    person = Person(full_name="P", email="p@example.com", holiday_region="BY")

    with pytest.raises(ValidationError) as refused:
        person.full_clean(exclude=["user", "team", "manager"])

    assert refused.value.message_dict == {"holiday_region": ["Give the country first."]}


def test_a_rung_with_nobody_to_reach_is_not_counted_as_done(berlin_team):
    team = berlin_team["team"]
    team.head = None
    team.save()
    berlin_team["rep"].manager = None
    berlin_team["rep"].save()
    lead = take_in()

    sweep(datetime(2027, 3, 29, 7, 8, tzinfo=UTC))

    step = LadderStep.objects.get(
        milestone=first_response(lead), action="notify_manager"
    )
    assert step.outcome == "Nobody to tell: no active manager and no team head."
    assert (step.taken_at is not None, step.fired) == (True, False)


def test_an_inactive_owner_is_not_told_the_head_is(berlin_team):
    lead = take_in()
    owner = lead.owner
    owner.is_active = False
    owner.save()

    sweep(datetime(2027, 3, 29, 7, 8, tzinfo=UTC))

    told = set(
        Notification.objects.filter(topic="sla_breach").values_list(
            "recipient__full_name", flat=True
        )
    )
    assert told == {"Mara Manager"}
