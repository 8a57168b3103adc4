"""First-response clocks: due times by lead type, and the breach sweep."""

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.core import mail

from bowtie.models import Notification
from handoffs import clocks
from handoffs.escalation import sweep
from handoffs.models import Milestone, SlaPolicy
from handoffs.services import intake_lead, log_touch

NOW = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
DEMO_REQUEST = {
    "email": "zoe@globex.com",
    "first_name": "Zoë",
    "last_name": "Doe",
    "company_name": "Globex",
    "form_type": "demo_request",
}


def take_in(submission=DEMO_REQUEST, now=NOW):
    return intake_lead(submission, channel="form", now=now).lead


def clock(lead, key="first_response"):
    return Milestone.objects.get(handoff__lead=lead, key=key)


@pytest.mark.parametrize(
    ("submission", "lead_type", "target", "clock_type"),
    [
        (
            {"form_type": "demo_request"},
            "hand_raiser",
            timedelta(minutes=5),
            "business",
        ),
        ({"utm_medium": "cpc"}, "paid", timedelta(minutes=3), "business"),
        ({}, "organic", timedelta(minutes=10), "business"),
        (
            {"referral_code": "PARTNER-7"},
            "partner_referral",
            timedelta(minutes=30),
            "business",
        ),
        ({"form_type": "webinar"}, "nurture", timedelta(days=4), "elapsed"),
    ],
)
def test_first_response_is_due_by_the_lead_type_default(
    sales_team, submission, lead_type, target, clock_type
):
    # The team sets no working hours: business time runs around the clock.
    lead = take_in({"email": "zoe@globex.com", **submission})

    first_response = clock(lead)
    assert lead.lead_type == lead_type
    assert first_response.started_at == NOW
    assert first_response.target_seconds == target.total_seconds()
    assert first_response.due_at == NOW + target
    assert first_response.clock_type == clock_type
    assert first_response.label == "First response"


def test_disposition_is_due_in_14_days_for_every_lead_type(sales_team):
    lead = take_in()

    assert clock(lead, "disposition").due_at == NOW + timedelta(days=14)


def test_edited_policy_changes_the_due_time_of_new_leads(sales_team):
    SlaPolicy.objects.filter(
        lead_type="hand_raiser", milestone_key="first_response"
    ).update(target_seconds=90)

    lead = take_in()

    assert clock(lead).due_at == NOW + timedelta(seconds=90)


def test_policy_for_every_lead_type_applies_when_none_is_specific(sales_team):
    SlaPolicy.objects.filter(lead_type="paid").delete()
    SlaPolicy.objects.create(
        handoff_kind="lead_to_sales",
        lead_type="",
        milestone_key="first_response",
        label="Any response",
        target_seconds=600,
    )

    paid = take_in({"email": "zoe@globex.com", "utm_medium": "cpc"})
    organic = take_in({"email": "yan@globex.com"})

    assert clock(paid).due_at == NOW + timedelta(minutes=10)
    assert clock(paid).label == "Any response"
    assert clock(organic).due_at == NOW + timedelta(minutes=10)
    assert clock(organic).label == "First response"


def test_imported_history_starts_no_clock(sales_team):
    lead = intake_lead(DEMO_REQUEST, channel="import", now=NOW, historical=True).lead

    assert Milestone.objects.filter(handoff__lead=lead).count() == 0


def test_sweep_records_a_breach_exactly_once_when_run_twice(
    sales_team, django_capture_on_commit_callbacks
):
    lead = take_in()
    due_at = NOW + timedelta(minutes=5)

    with django_capture_on_commit_callbacks(execute=True):
        first_sweep = sweep(due_at)["breaches"]
        second_sweep = sweep(due_at + timedelta(seconds=5))["breaches"]

    assert first_sweep == 1
    assert second_sweep == 0
    assert clock(lead).breached_at == due_at
    assert Notification.objects.filter(event_key__endswith=":breached").count() == 1
    rep = lead.owner
    assert [m.subject for m in mail.outbox if m.to == [rep.email]] == [
        "SLA breached: First response for Zoë Doe",
    ]


def test_sweep_never_fires_early(sales_team):
    lead = take_in()
    due_at = NOW + timedelta(minutes=5)

    early = sweep(due_at - timedelta(seconds=1))["breaches"]
    breached_before = clock(lead).breached_at
    on_time = sweep(due_at)["breaches"]

    assert early == 0
    assert breached_before is None
    assert on_time == 1


def test_record_breach_refuses_a_milestone_not_yet_due(sales_team):
    lead = take_in()

    breached = clocks.record_breach(clock(lead).pk, NOW + timedelta(minutes=4))

    assert breached is False
    assert clock(lead).breached_at is None


def test_touch_before_due_meets_the_clock_and_nothing_breaches(sales_team):
    lead = take_in()
    rep = sales_team["reps"][0]

    log_touch(lead, rep, "call", now=NOW + timedelta(minutes=4, seconds=59))
    swept = sweep(NOW + timedelta(hours=1))["breaches"]

    first_response = clock(lead)
    lead.refresh_from_db()
    assert swept == 0
    assert first_response.met_at == NOW + timedelta(minutes=4, seconds=59)
    assert first_response.breached_at is None
    assert first_response.response_seconds() == 299
    assert lead.first_response_at == NOW + timedelta(minutes=4, seconds=59)
    assert lead.status == "working"


def test_second_touch_leaves_the_met_time_alone(sales_team):
    lead = take_in()
    rep = sales_team["reps"][0]
    log_touch(lead, rep, "email", now=NOW + timedelta(minutes=1))

    log_touch(lead, rep, "call", now=NOW + timedelta(minutes=2))

    assert clock(lead).met_at == NOW + timedelta(minutes=1)


def test_breach_notifies_the_owner_in_app_and_by_email(
    sales_team, django_capture_on_commit_callbacks
):
    lead = take_in()
    rep = sales_team["reps"][0]
    swept_at = NOW + timedelta(minutes=7, seconds=30)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        sweep(swept_at)

    milestone = clock(lead)
    notification = Notification.objects.get(
        event_key=f"milestone:{milestone.pk}:breached"
    )
    assert notification.recipient == rep
    assert notification.subject == "SLA breached: First response for Zoë Doe"
    assert notification.body == (
        "First response was due 2025-03-04 10:05 CET and is now 2 min overdue."
    )
    assert notification.url == f"/leads/{lead.pk}/"
    assert notification.created_at == swept_at
    to_the_rep = [message for message in mail.outbox if message.to == [rep.email]]
    assert len(to_the_rep) == 1
    assert to_the_rep[0].body == (
        "First response was due 2025-03-04 10:05 CET and is now 2 min overdue.\n\n"
        f"{settings.BOWTIE_BASE_URL}/leads/{lead.pk}/"
    )


def test_breach_notifies_the_team_head_when_the_lead_has_no_owner(
    sales_team, django_capture_on_commit_callbacks
):
    for rep in sales_team["reps"]:
        rep.is_active = False
        rep.save()
    lead = take_in()

    with django_capture_on_commit_callbacks(execute=True):
        sweep(NOW + timedelta(minutes=5))

    breach = Notification.objects.get(event_key__endswith=":breached")
    assert lead.owner is None
    assert breach.recipient == sales_team["manager"]


def test_breach_is_not_sent_before_the_sweep_commits(
    sales_team, django_capture_on_commit_callbacks
):
    take_in()
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        sweep(NOW + timedelta(minutes=5))

    # One delivery each for the owner's breach notice and the manager's.
    assert mail.outbox == []
    assert len(callbacks) == 2


def test_sweep_catches_up_on_every_clock_missed_while_down(sales_team):
    leads = [take_in({"email": f"lead{number}@globex.com"}) for number in range(3)]

    swept = sweep(NOW + timedelta(days=1))["breaches"]

    assert swept == 3
    assert [clock(lead).breached_at for lead in leads] == [NOW + timedelta(days=1)] * 3


def test_sweep_leaves_other_milestones_running(sales_team):
    lead = take_in()

    sweep(NOW + timedelta(minutes=5))

    disposition = clock(lead, "disposition")
    assert disposition.breached_at is None
    assert disposition.is_running() is True


def test_late_touch_before_the_sweep_still_records_the_breach(sales_team):
    received_at = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
    lead = intake_lead(
        {"email": "late@example.org", "form_type": "demo_request"},
        channel="api",
        now=received_at,
    ).lead

    log_touch(lead, lead.owner, "call", now=received_at + timedelta(minutes=6))

    milestone = Milestone.objects.get(handoff__lead=lead, key="first_response")
    assert milestone.met_at == received_at + timedelta(minutes=6)
    assert milestone.breached_at == received_at + timedelta(minutes=6)


def test_audit_history_records_a_clock_starting_breaching_and_stopping(sales_team):
    lead = take_in()
    first_response = clock(lead)

    sweep(NOW + timedelta(minutes=6))
    log_touch(lead, lead.owner, "call", now=NOW + timedelta(minutes=8))

    history = first_response.history.order_by("history_date", "history_id")
    assert [(row.history_type, row.breached_at, row.met_at) for row in history] == [
        ("+", None, None),
        ("~", NOW + timedelta(minutes=6), None),
        ("~", NOW + timedelta(minutes=6), NOW + timedelta(minutes=8)),
    ]
