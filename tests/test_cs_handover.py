"""Hypercare and the Implementation -> CS handoff: the packet, the hand-over,
the sweep, and customer success accepting, sending back and rating it."""

import json
from datetime import UTC, date, datetime, time, timedelta

import httpx
import pytest
import time_machine
from django.core import mail
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from bowtie import webhooks
from bowtie.models import (
    JobHeartbeat,
    Notification,
    ProductUsage,
    WebhookEndpoint,
    WorkingPeriod,
)
from handoffs import clocks
from handoffs.closing import (
    PacketIncomplete,
    accept_implementation_handoff,
    rate_handoff,
    record_first_check_in,
    reject_implementation_handoff,
    resubmit_implementation_handoff,
)
from handoffs.models import Handoff, HandoffRating, Milestone
from handoffs.services import ActionRefused
from partners import tasks
from partners.handover import (
    hand_over_to_cs,
    prefill_cs_packet,
    resubmit_cs_handoff,
    save_cs_packet,
)
from partners.models import Engagement, ReadinessCondition
from partners.services import log_milestone, log_session, update_readiness
from tests.factories import ApiTokenFactory, ContactFactory
from tests.partner_fixtures import build_partner_world

# A Monday: go-live, and with the default 14 days hypercare ends on a Monday.
WORLD_AT = datetime(2027, 2, 22, 9, 0, tzinfo=UTC)
GO_LIVE_ON = date(2027, 3, 1)
GO_LIVE_AT = datetime(2027, 3, 1, 16, 0, tzinfo=UTC)
ENDS_ON = date(2027, 3, 15)
# 11:00 in Berlin, where customer success works 9 to 17 on weekdays.
HANDED_AT = datetime(2027, 3, 15, 10, 0, tzinfo=UTC)
CS_KEY = "bt_cs_head_token_01"

COMPLETE_CS_PACKET = {
    "scope_configuration": "Quotes and approvals live; Salesforce sync on.",
    "training": [
        {"group": "Sales reps", "status": "trained", "gap": "None."},
        {"group": "Admins", "status": "partly trained", "gap": "Approval rules."},
    ],
    "open_issues": [
        {
            "issue": "Sync lags at month end",
            "workaround": "Manual re-sync",
            "owner": "Acme",
        }
    ],
    "sentiment": "Wary at kickoff, positive since the first quotes went out.",
    "stakeholders": [
        {"person": "Ada Lind", "role": "champion", "sentiment": "positive"},
        {"person": "Bo Ek", "role": "admin", "sentiment": "neutral"},
    ],
    "adoption": "Since go-live: 9 active days, 4 features used.",
    "lessons": "Book the admins' training before the data migration.",
}
MARKS = {
    "completeness": "5",
    "promise_alignment": "4",
    "sentiment_continuity": "4",
    "context_transfer": "3",
    "stakeholder_mapping": "5",
}


@pytest.fixture
def frozen():
    with time_machine.travel(WORLD_AT, tick=False) as traveller:
        yield traveller


@pytest.fixture
def world(db, frozen):
    world = build_partner_world()
    WorkingPeriod.objects.bulk_create(
        WorkingPeriod(
            team=world.success, weekday=day, starts_at=time(9), ends_at=time(17)
        )
        for day in range(5)
    )
    return world


def go_live(engagement, actor, frozen) -> Engagement:
    """Kick off, meet the five readiness conditions and go live on GO_LIVE_ON."""
    frozen.move_to(GO_LIVE_AT)
    log_milestone(engagement, "kickoff", actor, actual_on=GO_LIVE_ON, ae_attended=True)
    for key in ReadinessCondition.Key.values:
        update_readiness(
            engagement,
            key,
            actor,
            owner_name="Pia",
            evidence=f"{key} signed off",
            is_met=True,
        )
    log_milestone(engagement, "go_live", actor, actual_on=GO_LIVE_ON)
    return Engagement.objects.get(pk=engagement.pk)


@pytest.fixture
def live(world, frozen):
    """Acme's engagement live in hypercare, its implementation handoff accepted
    and its CS packet complete; Birch's live with half a packet."""
    accept_implementation_handoff(world.acme_engagement.handoff, world.head)
    world.acme_engagement = go_live(world.acme_engagement, world.acme_actor, frozen)
    world.birch_engagement = go_live(world.birch_engagement, world.birch_actor, frozen)
    save_cs_packet(world.acme_engagement, world.acme_actor, COMPLETE_CS_PACKET)
    save_cs_packet(
        world.birch_engagement,
        world.birch_actor,
        {"scope_configuration": "Quotes live.", "sentiment": "Calm."},
    )
    return world


@pytest.fixture
def handed(live, frozen):
    frozen.move_to(HANDED_AT)
    live.cs_handoff = hand_over_to_cs(live.acme_engagement, live.acme_actor)
    return live


def test_go_live_sets_the_hypercare_end_from_the_setting(world, frozen):
    with override_settings(BOWTIE_HYPERCARE_DAYS=21):
        engagement = go_live(world.acme_engagement, world.acme_actor, frozen)

    ending = engagement.milestones.get(kind="hypercare_end")
    assert (engagement.status, engagement.hypercare_days) == ("hypercare", 21)
    assert engagement.hypercare_ends_on == date(2027, 3, 22)
    assert (ending.planned_on, ending.actual_on) == (date(2027, 3, 22), None)


def test_the_hand_over_is_refused_naming_each_missing_item(live, frozen):
    frozen.move_to(HANDED_AT)

    with pytest.raises(PacketIncomplete) as refused:
        hand_over_to_cs(live.birch_engagement, live.birch_actor)
    with pytest.raises(PacketIncomplete):
        log_milestone(
            live.birch_engagement, "hypercare_end", live.birch_actor, actual_on=ENDS_ON
        )

    assert [missing.key for missing in refused.value.assessment.missing] == [
        "training",
        "open_issues",
        "stakeholders",
        "adoption",
        "lessons",
    ]
    assert str(refused.value) == (
        "Customer success takes over with a complete CS packet. Missing: "
        "Training: Training status and gaps: add at least one. "
        "Open issues: Open issues with workarounds: add at least one. "
        "Stakeholder map: Updated stakeholder map: add at least one. "
        "Adoption: First adoption metrics: missing. "
        "Lessons: Lessons learned: missing."
    )
    engagement = Engagement.objects.get(pk=live.birch_engagement.pk)
    assert (
        engagement.status,
        engagement.cs_handoff,
        engagement.cs_packet_completeness,
    ) == (
        "hypercare",
        None,
        28,
    )
    assert engagement.milestones.get(kind="hypercare_end").actual_on is None
    assert not Handoff.objects.filter(kind="implementation_to_cs").exists()


def test_logging_the_hypercare_end_hands_over_once_with_clocks_and_events(
    live, frozen, monkeypatch, django_capture_on_commit_callbacks
):
    posted = []
    monkeypatch.setattr(
        webhooks,
        "http_client",
        lambda: httpx.Client(
            transport=httpx.MockTransport(
                lambda request: (
                    posted.append(json.loads(request.read())) or httpx.Response(200)
                )
            )
        ),
    )
    WebhookEndpoint.objects.create(
        name="CRM", url="https://crm.example/hooks", event_types=["handoff.opened"]
    )
    frozen.move_to(HANDED_AT)

    with django_capture_on_commit_callbacks(execute=True):
        log_milestone(
            live.acme_engagement, "hypercare_end", live.acme_actor, actual_on=ENDS_ON
        )
    again = hand_over_to_cs(live.acme_engagement, live.acme_actor)

    handoff = Handoff.objects.get(kind="implementation_to_cs")
    engagement = Engagement.objects.get(pk=live.acme_engagement.pk)
    implementation = Handoff.objects.get(pk=engagement.handoff_id)
    assert again == handoff
    assert (handoff.deal, handoff.state, handoff.opened_at) == (
        engagement.deal,
        "open",
        HANDED_AT,
    )
    assert (handoff.sending_team, handoff.sender) == (live.implementation, live.head)
    assert (handoff.receiving_team, handoff.receiver) == (live.success, None)
    assert handoff.packet == COMPLETE_CS_PACKET
    assert [
        (m.key, m.owed_by, m.due_at) for m in handoff.milestones.order_by("due_at")
    ] == [
        ("cs_accepted", "receivers", datetime(2027, 3, 17, 10, 0, tzinfo=UTC)),
        ("first_check_in", "receivers", datetime(2027, 3, 22, 10, 0, tzinfo=UTC)),
    ]
    assert (engagement.status, engagement.cs_handoff) == ("handed_to_cs", handoff)
    assert engagement.milestones.get(kind="hypercare_end").actual_on == ENDS_ON
    assert (implementation.state, implementation.closed_at) == ("completed", HANDED_AT)
    notice = Notification.objects.get(recipient=live.csm)
    assert (notice.subject, notice.url) == (
        "Hypercare over, for customer success: Globex platform",
        f"/handoffs/{handoff.pk}/",
    )
    assert [m.to for m in mail.outbox if m.subject == notice.subject] == [
        [live.csm.email]
    ]
    assert [(event["type"], event["data"]["handoff"]["id"]) for event in posted] == [
        ("handoff.opened", handoff.pk)
    ]
    assert posted[0]["data"]["handoff"]["kind"] == "implementation_to_cs"
    assert posted[0]["data"]["actor"] is None


def test_the_account_owner_in_the_cs_team_receives_the_handoff(live, frozen):
    owner = live.acme_engagement.account.owner
    owner.team = live.success
    owner.save()
    frozen.move_to(HANDED_AT)

    handoff = hand_over_to_cs(live.acme_engagement, live.vendor)

    assert handoff.receiver == owner
    assert set(
        Notification.objects.filter(
            subject="Hypercare over, for customer success: Globex platform"
        ).values_list("recipient", flat=True)
    ) == {owner.pk, live.csm.pk}


def test_the_sweep_ignores_hypercare_that_has_not_ended(live, frozen):
    frozen.move_to(datetime(2027, 3, 14, 23, 59, tzinfo=UTC))

    counts = tasks.sweep_hypercare()

    assert counts == {"handed_over": 0, "incomplete": 0, "skipped": 0, "refused": 0}
    assert not Handoff.objects.filter(kind="implementation_to_cs").exists()
    assert JobHeartbeat.objects.get(name="sweep-hypercare").run_count == 1


def test_the_sweep_hands_over_a_complete_packet_and_tells_of_an_incomplete_once(
    live, frozen
):
    frozen.move_to(datetime(2027, 3, 15, 0, 30, tzinfo=UTC))

    first = tasks.sweep_hypercare()
    frozen.shift(timedelta(hours=1))
    second = tasks.sweep_hypercare()

    assert first == {"handed_over": 1, "incomplete": 1, "skipped": 0, "refused": 0}
    assert second == {"handed_over": 0, "incomplete": 1, "skipped": 0, "refused": 0}
    acme = Engagement.objects.get(pk=live.acme_engagement.pk)
    birch = Engagement.objects.get(pk=live.birch_engagement.pk)
    assert (acme.status, acme.cs_handoff.kind) == (
        "handed_to_cs",
        "implementation_to_cs",
    )
    assert acme.milestones.get(kind="hypercare_end").logged_by == (
        "Bowtie (hypercare sweep)"
    )
    assert (birch.status, birch.cs_handoff) == ("hypercare", None)
    told = Notification.objects.filter(
        recipient=live.head, subject__startswith="Hypercare ended"
    )
    assert [(n.subject, n.url) for n in told] == [
        (
            "Hypercare ended, CS packet incomplete: Initech platform",
            f"/engagements/{birch.pk}/",
        )
    ]
    assert told.get().body == (
        "Hypercare of Initech platform ended on 15 Mar 2027. Customer success "
        "takes over once the CS packet is complete; it lacks: "
        "Training: Training status and gaps: add at least one. "
        "Open issues: Open issues with workarounds: add at least one. "
        "Stakeholder map: Updated stakeholder map: add at least one. "
        "Adoption: First adoption metrics: missing. "
        "Lessons: Lessons learned: missing."
    )


def test_customer_success_accepts_and_the_acceptance_clock_stops(handed, frozen):
    frozen.shift(timedelta(hours=2))

    with pytest.raises(ActionRefused, match="Only the receiving team"):
        accept_implementation_handoff(handed.cs_handoff, handed.head)
    handoff = accept_implementation_handoff(handed.cs_handoff, handed.csm)

    accepted = Milestone.objects.get(handoff=handoff, key="cs_accepted")
    assert (handoff.state, handoff.receiver, handoff.accepted_at) == (
        "accepted",
        handed.csm,
        HANDED_AT + timedelta(hours=2),
    )
    assert (accepted.met_at, accepted.breached_at) == (
        HANDED_AT + timedelta(hours=2),
        None,
    )
    assert Milestone.objects.get(handoff=handoff, key="first_check_in").met_at is None


def test_a_send_back_tells_the_implementation_lead_and_starts_their_clock(
    handed, frozen
):
    with pytest.raises(ActionRefused, match="the implementation lead reads it"):
        reject_implementation_handoff(handed.cs_handoff, handed.csm, " ")
    with pytest.raises(ActionRefused, match="Customer success has this packet"):
        save_cs_packet(handed.acme_engagement, handed.acme_actor, COMPLETE_CS_PACKET)

    handoff = reject_implementation_handoff(
        handed.cs_handoff, handed.csm, "No adoption numbers."
    )

    engagement = handed.acme_engagement
    assert (handoff.state, handoff.rejection_reason) == (
        "rejected",
        "No adoption numbers.",
    )
    # Elapsed time: the implementation team keeps no working hours.
    assert [(m.key, m.owed_by, m.due_at) for m in handoff.milestones.all()] == [
        ("packet_resubmitted", "sender", HANDED_AT + timedelta(hours=16))
    ]
    notice = Notification.objects.get(
        recipient=handed.head, subject="CS handoff sent back: Globex platform"
    )
    assert notice.url == f"/engagements/{engagement.pk}/"
    assert notice.body == (
        "Cass CSM sent the customer-success handoff back: No adoption numbers. "
        "Complete the CS packet on the engagement and send it again."
    )
    assert not Notification.objects.filter(
        recipient=handed.ae, subject__contains="sent back"
    ).exists()


def test_the_implementation_lead_sends_the_completed_packet_again(handed, frozen):
    reject_implementation_handoff(handed.cs_handoff, handed.csm, "No adoption data.")
    later = HANDED_AT + timedelta(days=1)
    frozen.move_to(later)
    thin = COMPLETE_CS_PACKET | {"adoption": " "}
    save_cs_packet(handed.acme_engagement, handed.vendor, thin)

    with pytest.raises(PacketIncomplete, match="First adoption metrics"):
        resubmit_implementation_handoff(handed.cs_handoff, handed.head)
    with pytest.raises(ActionRefused, match="Only the implementation lead"):
        resubmit_implementation_handoff(handed.cs_handoff, handed.csm)
    fuller = COMPLETE_CS_PACKET | {"adoption": "12 active days, 5 features."}
    save_cs_packet(handed.acme_engagement, handed.vendor, fuller)
    handoff = resubmit_implementation_handoff(handed.cs_handoff, handed.head)

    clocks = {m.key: m for m in handoff.milestones.all()}
    assert (handoff.state, handoff.packet["adoption"]) == (
        "open",
        "12 active days, 5 features.",
    )
    assert clocks["packet_resubmitted"].met_at == later
    # Tuesday 11:00 in Berlin, plus two working days.
    assert (clocks["cs_accepted"].started_at, clocks["cs_accepted"].due_at) == (
        later,
        datetime(2027, 3, 18, 10, 0, tzinfo=UTC),
    )
    assert Notification.objects.filter(
        recipient=handed.csm, subject="Handoff sent again: Globex platform"
    ).exists()


def test_a_partner_person_sends_their_own_engagement_again_only(handed, frozen):
    reject_implementation_handoff(handed.cs_handoff, handed.csm, "No adoption data.")
    frozen.shift(timedelta(hours=3))

    with pytest.raises(Engagement.DoesNotExist):
        resubmit_cs_handoff(handed.acme_engagement, handed.birch_actor)
    with pytest.raises(Engagement.DoesNotExist):
        save_cs_packet(handed.acme_engagement, handed.birch_actor, COMPLETE_CS_PACKET)
    assert Handoff.objects.get(pk=handed.cs_handoff.pk).state == "rejected"
    handoff = resubmit_cs_handoff(handed.acme_engagement, handed.acme_actor)

    assert handoff.state == "open"
    assert (
        Notification.objects.get(
            recipient=handed.csm, subject="Handoff sent again: Globex platform"
        ).body
        == "Pia Acme (Acme Partners) completed the packet after: No adoption data."
    )


def test_customer_success_rates_the_handoff(handed):
    handoff = accept_implementation_handoff(handed.cs_handoff, handed.csm)

    with pytest.raises(ActionRefused, match="Only the receiving team rates"):
        rate_handoff(handoff, handed.head, MARKS)
    rating = rate_handoff(handoff, handed.csm, MARKS, " Clear packet. ")

    assert (rating.rated_by, rating.comment, rating.average) == (
        handed.csm,
        "Clear packet.",
        4.2,
    )
    assert HandoffRating.objects.get().handoff_id == handed.cs_handoff.pk


def test_the_handoff_page_shows_the_cs_packet_and_lets_cs_accept(client, handed):
    client.force_login(handed.csm.user)
    url = reverse("handoff-detail", args=[handed.cs_handoff.pk])

    queue = client.get(reverse("cs-queue")).content.decode()
    page = client.get(url).content.decode()
    accepted = client.post(
        reverse("handoff-accept", args=[handed.cs_handoff.pk]), follow=True
    )

    assert 'id="cs-handoffs"' in queue and "Globex platform" in queue
    assert "Acme Partners" in queue and "Customer success accepted: due" in queue
    assert 'id="item-scope_configuration"' in page and 'id="item-lessons"' in page
    assert "Quotes and approvals live; Salesforce sync on." in page
    assert "Sync lags at month end" in page and "Manual re-sync" in page
    assert 'id="item-goals"' not in page and "Annual value" not in page
    assert "Send back to the implementation lead, saying why" in page
    assert f'action="/handoffs/{handed.cs_handoff.pk}/accept/"' in page
    assert "customer success has the account now" in accepted.content.decode()
    assert Handoff.objects.get(pk=handed.cs_handoff.pk).state == "accepted"
    assert 'id="rating"' in accepted.content.decode()


def test_the_implementation_lead_sends_it_again_from_the_handoff_page(client, handed):
    reject_implementation_handoff(handed.cs_handoff, handed.csm, "No adoption data.")
    client.force_login(handed.head.user)
    url = reverse("handoff-detail", args=[handed.cs_handoff.pk])

    page = client.get(url).content.decode()
    sent = client.post(reverse("handoff-send-again", args=[handed.cs_handoff.pk]))

    assert "Sent back to implementation: No adoption data." in page
    assert 'id="send-again"' in page
    assert sent.status_code == 302
    assert Handoff.objects.get(pk=handed.cs_handoff.pk).state == "open"


def test_the_api_accept_works_for_a_cs_persons_token(client, handed, frozen):
    ApiTokenFactory(
        name="Cass's scripts",
        key=CS_KEY,
        scopes=["handoffs:read", "handoffs:write"],
        person=handed.csm,
    )
    frozen.shift(timedelta(hours=1))

    response = client.post(
        f"/api/handoffs/{handed.cs_handoff.pk}/accept",
        {},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {CS_KEY}",
    )

    body = response.json()
    assert response.status_code == 200
    assert (body["kind"], body["state"], body["receiver"]) == (
        "implementation_to_cs",
        "accepted",
        handed.csm.pk,
    )
    assert [(m["key"], m["met_at"]) for m in body["milestones"]] == [
        ("cs_accepted", "2027-03-15T11:00:00Z"),
        ("first_check_in", None),
    ]


def test_the_packet_is_prefilled_from_what_bowtie_knows(live, frozen):
    engagement = live.acme_engagement
    ada = engagement.account.contacts.get()
    bo = ContactFactory(account=engagement.account, first_name="Bo", last_name="Ek")
    frozen.move_to(datetime(2027, 3, 5, 12, 0, tzinfo=UTC))
    log_session(
        engagement,
        live.acme_actor,
        kind="training",
        title="Admin training",
        held_on=date(2027, 2, 26),
        invited=[ada, bo],
        attended=[ada],
    )
    for day, feature, uses in [
        (date(2027, 2, 28), "quotes", 50),
        (date(2027, 3, 1), "quotes", 5),
        (date(2027, 3, 2), "approvals", 9),
        (date(2027, 3, 2), "quotes", 7),
    ]:
        ProductUsage.objects.create(
            account=engagement.account,
            source="test",
            external_id=f"{day}-{feature}",
            used_on=day,
            feature=feature,
            usage_count=uses,
        )

    packet = prefill_cs_packet(engagement)

    assert packet == {
        "scope_configuration": "Integration: Salesforce sync.\n"
        "Tasks work end to end: tasks_work signed off",
        "training": [
            {
                "group": "Admin training (26 Feb 2027)",
                "status": "partly trained",
                "gap": "Absent: Bo Ek.",
            },
            {
                "group": "At go-live: people_trained signed off",
                "status": "trained",
                "gap": "",
            },
        ],
        "open_issues": [],
        "stakeholders": [
            {"person": "Ada Lind", "role": "champion", "sentiment": "positive"},
            {"person": "Bo Ek", "role": "economic buyer", "sentiment": "neutral"},
        ],
        "adoption": "Since go-live on 01 Mar 2027: 2 active days, 2 features used "
        "(quotes, approvals).",
    }


def test_a_sweep_after_downtime_records_the_planned_end_not_its_own_day(live, frozen):
    planned = Engagement.objects.get(pk=live.acme_engagement.pk).hypercare_ends_on
    frozen.move_to(datetime(2027, 3, 20, 9, 0, tzinfo=UTC))

    tasks.sweep_hypercare()

    ending = live.acme_engagement.milestones.get(kind="hypercare_end")
    assert ending.actual_on == planned
    assert ending.is_on_time() is True


def test_the_completed_implementation_handoff_is_not_escalated_any_more(handed, frozen):
    implementation = Engagement.objects.get(pk=handed.acme_engagement.pk).handoff
    assert implementation.state == "completed"
    unmet = implementation.milestones.filter(met_at__isnull=True)
    frozen.move_to(datetime(2027, 6, 1, 9, 0, tzinfo=UTC))

    due = clocks.due_milestone_ids(timezone.now(), limit=100)

    assert not set(due) & set(unmet.values_list("pk", flat=True))


def test_customer_success_records_its_first_check_in_once(client, handed, frozen):
    handoff = handed.cs_handoff
    with pytest.raises(ActionRefused, match="Accept the handoff before"):
        record_first_check_in(handoff, handed.csm)
    accept_implementation_handoff(handoff, handed.csm)
    client.force_login(handed.csm.user)

    page = client.get(reverse("handoff-detail", args=[handoff.pk])).content.decode()
    client.post(reverse("handoff-check-in", args=[handoff.pk]))

    assert "Record the first check-in with the customer" in page
    assert handoff.milestones.get(key="first_check_in").met_at == timezone.now()
    with pytest.raises(ActionRefused, match="recorded already"):
        record_first_check_in(handoff, handed.csm)
    with pytest.raises(ActionRefused, match="Only customer success"):
        record_first_check_in(handoff, handed.head)
