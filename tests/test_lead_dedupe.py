"""Repeat submissions: a touch inside an open cycle, a new cycle after one closed."""

from datetime import UTC, datetime, timedelta

import time_machine

from bowtie.models import Notification, Team
from handoffs.models import Handoff, Lead, Milestone, Touch
from handoffs.services import disposition_lead, intake_lead

NOW = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
DEMO_REQUEST = {
    "email": "zoe@globex.com",
    "form_type": "demo_request",
    "company_name": "Globex",
}


def first_response_due(lead):
    return Milestone.objects.get(handoff__lead=lead, key="first_response").due_at


def test_repeat_inside_an_open_cycle_is_a_touch_on_the_same_lead(sales_team):
    with time_machine.travel(NOW, tick=False):
        first = intake_lead(DEMO_REQUEST, channel="form")
    with time_machine.travel(NOW + timedelta(minutes=3), tick=False):
        again = intake_lead(
            DEMO_REQUEST | {"email": "  ZOE@Globex.com ", "visits": "4"},
            channel="api",
        )

    lead = Lead.objects.get()
    assert first.created is True
    assert again.created is False
    assert again.lead.pk == first.lead.pk
    assert again.lead.touch_count == 2
    assert lead.touch_count == 2
    assert list(
        Touch.objects.filter(lead=lead).values_list(
            "kind", "channel", "occurred_at", "details"
        )
    ) == [
        ("submission", "form", NOW, {}),
        (
            "submission",
            "api",
            NOW + timedelta(minutes=3),
            {"engagement": {"visits": 4.0}},
        ),
    ]


def test_repeat_does_not_restart_the_first_response_clock(sales_team):
    with time_machine.travel(NOW, tick=False):
        first = intake_lead(DEMO_REQUEST, channel="form")
    with time_machine.travel(NOW + timedelta(minutes=4), tick=False):
        intake_lead(DEMO_REQUEST, channel="form")

    assert first_response_due(first.lead) == NOW + timedelta(minutes=5)
    assert Handoff.objects.count() == 1
    assert Milestone.objects.count() == 2


def test_repeat_keeps_the_owner_and_the_rotation(sales_team):
    with time_machine.travel(NOW, tick=False):
        intake_lead(DEMO_REQUEST, channel="form")
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        again = intake_lead(DEMO_REQUEST, channel="form")

    assert again.lead.owner == sales_team["reps"][0]
    assert Team.objects.get(pk=sales_team["team"].pk).rotation_position == 1
    assert Notification.objects.count() == 1


def test_lead_returning_after_disqualification_starts_a_linked_new_cycle(
    sales_team,
):
    rep = sales_team["reps"][0]
    with time_machine.travel(NOW, tick=False):
        first = intake_lead(DEMO_REQUEST, channel="form").lead
    disposition_lead(
        first, rep, "disqualified", "No budget this year", now=NOW + timedelta(hours=1)
    )
    returned_at = NOW + timedelta(days=30)

    with time_machine.travel(returned_at, tick=False):
        second = intake_lead(DEMO_REQUEST, channel="api")

    first.refresh_from_db()
    assert second.created is True
    assert second.lead.pk != first.pk
    assert second.lead.cycle == 2
    assert second.lead.previous_cycle == first
    assert second.lead.touch_count == 1
    assert second.lead.received_at == returned_at
    assert first.next_cycle == second.lead
    assert first.status == "disqualified"
    assert first.touch_count == 1
    assert first_response_due(second.lead) == returned_at + timedelta(minutes=5)
    assert first_response_due(first) == NOW + timedelta(minutes=5)


def test_returning_lead_is_measured_apart_from_its_first_cycle(sales_team):
    rep = sales_team["reps"][0]
    first = intake_lead(DEMO_REQUEST, channel="form", now=NOW).lead
    disposition_lead(
        first, rep, "disqualified", "Student", now=NOW + timedelta(minutes=2)
    )

    second = intake_lead(DEMO_REQUEST, channel="form", now=NOW + timedelta(days=2)).lead

    first_clock = Milestone.objects.get(handoff__lead=first, key="first_response")
    second_clock = Milestone.objects.get(handoff__lead=second, key="first_response")
    assert first_clock.met_at == NOW + timedelta(minutes=2)
    assert second_clock.started_at == NOW + timedelta(days=2)
    assert second_clock.met_at is None
    assert second_clock.breached_at is None


def test_third_cycle_links_to_the_second(sales_team):
    manager = sales_team["manager"]
    first = intake_lead(DEMO_REQUEST, channel="form", now=NOW).lead
    disposition_lead(first, manager, "disqualified", "Too early", now=NOW)
    second = intake_lead(DEMO_REQUEST, channel="form", now=NOW + timedelta(days=1)).lead
    disposition_lead(second, manager, "nurture", now=NOW + timedelta(days=1))

    third = intake_lead(DEMO_REQUEST, channel="form", now=NOW + timedelta(days=2)).lead

    assert third.cycle == 3
    assert third.previous_cycle == second
    assert Lead.objects.filter(email="zoe@globex.com").count() == 3


def test_different_people_at_one_company_are_different_leads(sales_team):
    intake_lead(DEMO_REQUEST, channel="form", now=NOW)

    other = intake_lead(
        DEMO_REQUEST | {"email": "yan@globex.com"}, channel="form", now=NOW
    )

    assert other.created is True
    assert Lead.objects.count() == 2
