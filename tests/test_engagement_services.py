"""Engagement services: assignment, milestones in order, the go-live gate."""

import json
from datetime import UTC, date, datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from bowtie.models import ApiToken, Notification, WebhookEndpoint, WebhookEvent
from handoffs.models import Handoff
from handoffs.services import ActionRefused
from partners.actors import actor_for_member, actor_for_person, actor_for_token
from partners.models import Engagement, PartnerToken, ReadinessCondition
from partners.queries import visible_engagements
from partners.services import (
    FieldsRefused,
    ReadinessIncomplete,
    add_comment,
    assign_partner,
    log_milestone,
    log_session,
    update_readiness,
)
from tests.factories import ApiTokenFactory, ContactFactory, PersonFactory
from tests.partner_fixtures import build_partner_world

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
KICKOFF_ON = date(2027, 3, 1)


@pytest.fixture
def world(db):
    with time_machine.travel(NOW, tick=False):
        return build_partner_world()


def complete_readiness(engagement, actor):
    for key in ReadinessCondition.Key.values:
        update_readiness(
            engagement, key, actor, owner_name="Pia", evidence="Signed off", is_met=True
        )


def hold_kickoff(world, engagement=None):
    return log_milestone(
        engagement or world.acme_engagement,
        "kickoff",
        world.acme_actor,
        planned_on=KICKOFF_ON,
        actual_on=KICKOFF_ON,
        ae_attended=True,
        now=NOW,
    )


def test_assignment_opens_engagement_with_its_steps_and_people(world):
    engagement = world.acme_engagement

    assert engagement.partner == world.acme
    assert engagement.ae == world.ae
    assert engagement.implementation_lead == world.head
    assert engagement.status == Engagement.Status.KICKOFF_PENDING
    assert list(engagement.milestones.values_list("kind", flat=True)) == [
        "kickoff",
        "first_meeting",
        "go_live",
        "hypercare_end",
    ]
    assert engagement.readiness.count() == 5


def test_assignment_again_changes_the_partner_not_the_engagement(world):
    handoff = world.acme_engagement.handoff

    again = assign_partner(handoff, world.vendor, world.birch, now=NOW)

    assert again.pk == world.acme_engagement.pk
    assert again.partner == world.birch
    assert Engagement.objects.count() == 2
    assert not visible_engagements(world.acme_actor).filter(pk=again.pk).exists()


def test_assignment_is_refused_to_an_ae_and_to_a_partner(world):
    handoff = world.acme_engagement.handoff

    with pytest.raises(ActionRefused, match="implementation team or RevOps"):
        assign_partner(handoff, actor_for_person(world.ae), world.birch, now=NOW)
    with pytest.raises(ActionRefused):
        assign_partner(handoff, world.acme_actor, world.acme, now=NOW)


def test_assignment_to_an_inactive_partner_is_refused_by_field(world):
    world.birch.is_active = False
    world.birch.save()

    with pytest.raises(FieldsRefused) as refused:
        assign_partner(
            world.acme_engagement.handoff, world.vendor, world.birch, now=NOW
        )

    assert refused.value.errors == {
        "partner": "Birch Consulting is no longer an active partner."
    }


def test_only_implementation_handoffs_get_partners(world):
    handoff = world.acme_engagement.handoff
    Handoff.objects.filter(pk=handoff.pk).update(kind=Handoff.Kind.CS_TO_SALES)

    with pytest.raises(ActionRefused, match="implementation only"):
        assign_partner(handoff, world.vendor, world.acme, now=NOW)


def test_planning_the_kickoff_meets_the_kickoff_scheduled_clock(world):
    handoff = world.acme_engagement.handoff

    log_milestone(
        world.acme_engagement,
        "kickoff",
        world.acme_actor,
        planned_on=date(2027, 3, 3),
        now=NOW,
    )

    clock = handoff.milestones.get(key="kickoff_scheduled")
    assert clock.met_at == NOW
    assert handoff.milestones.get(key="first_meeting").met_at is None


def test_kickoff_done_needs_the_ae_attendance(world):
    with pytest.raises(FieldsRefused) as refused:
        log_milestone(
            world.acme_engagement,
            "kickoff",
            world.acme_actor,
            actual_on=KICKOFF_ON,
            now=NOW,
        )

    assert refused.value.errors == {
        "ae_attended": "Say whether the AE attended the kickoff."
    }


def test_kickoff_done_records_attendance_and_starts_implementing(world):
    hold_kickoff(world)

    engagement = Engagement.objects.get(pk=world.acme_engagement.pk)
    assert engagement.ae_attended_kickoff is True
    assert engagement.status == Engagement.Status.IMPLEMENTING
    kickoff = engagement.milestones.get(kind="kickoff")
    assert kickoff.logged_by == "Pia Acme (Acme Partners)"
    assert kickoff.logged_by_user == world.acme_member.user


def test_first_meeting_waits_for_the_kickoff_and_meets_its_clock(world):
    with pytest.raises(FieldsRefused) as refused:
        log_milestone(
            world.acme_engagement,
            "first_meeting",
            world.acme_actor,
            actual_on=KICKOFF_ON,
            now=NOW,
        )
    assert refused.value.errors == {"actual_on": "Log the kickoff first."}

    hold_kickoff(world)
    log_milestone(
        world.acme_engagement,
        "first_meeting",
        world.acme_actor,
        actual_on=KICKOFF_ON,
        now=NOW,
    )

    clock = world.acme_engagement.handoff.milestones.get(key="first_meeting")
    assert clock.met_at == NOW


def test_a_milestone_cannot_be_done_tomorrow(world):
    with pytest.raises(FieldsRefused) as refused:
        log_milestone(
            world.acme_engagement,
            "kickoff",
            world.acme_actor,
            actual_on=date(2027, 3, 2),
            ae_attended=True,
            now=NOW,
        )

    assert refused.value.errors == {
        "actual_on": "A milestone is done on a day that has come."
    }


def test_go_live_is_refused_until_every_condition_holds(world):
    engagement = world.acme_engagement
    hold_kickoff(world)
    for key in ReadinessCondition.Key.values[:4]:
        update_readiness(
            engagement, key, world.acme_actor, owner_name="Pia", evidence="Done"
        )
        update_readiness(engagement, key, world.acme_actor, is_met=True)

    with pytest.raises(ReadinessIncomplete) as refused:
        log_milestone(
            engagement, "go_live", world.acme_actor, actual_on=KICKOFF_ON, now=NOW
        )

    assert str(refused.value) == (
        "Go-live needs every readiness condition met. Not yet: Rollback plan exists."
    )
    assert engagement.milestones.get(kind="go_live").actual_on is None


def test_go_live_starts_hypercare_of_the_configured_length(world, settings):
    settings.BOWTIE_HYPERCARE_DAYS = 21
    engagement = world.acme_engagement
    hold_kickoff(world)
    complete_readiness(engagement, world.acme_actor)

    log_milestone(
        engagement, "go_live", world.acme_actor, actual_on=KICKOFF_ON, now=NOW
    )

    engagement.refresh_from_db()
    assert engagement.status == Engagement.Status.HYPERCARE
    assert engagement.hypercare_days == 21
    assert engagement.hypercare_ends_on == date(2027, 3, 22)
    ending = engagement.milestones.get(kind="hypercare_end")
    assert ending.planned_on == date(2027, 3, 22)


def test_hypercare_end_is_planned_within_two_to_four_weeks(world):
    engagement = world.acme_engagement
    hold_kickoff(world)
    complete_readiness(engagement, world.acme_actor)
    log_milestone(
        engagement, "go_live", world.acme_actor, actual_on=KICKOFF_ON, now=NOW
    )

    with pytest.raises(FieldsRefused) as refused:
        log_milestone(
            engagement,
            "hypercare_end",
            world.acme_actor,
            planned_on=date(2027, 4, 30),
            now=NOW,
        )

    assert refused.value.errors == {
        "planned_on": "Hypercare lasts two to four weeks after go-live."
    }


def test_a_met_condition_needs_owner_and_evidence(world):
    with pytest.raises(FieldsRefused) as refused:
        update_readiness(
            world.acme_engagement, "data_migrated", world.acme_actor, is_met=True
        )

    assert refused.value.errors == {
        "owner_name": "Name who answers for it before marking it met.",
        "evidence": "Give the evidence that it holds before marking it met.",
    }


def test_the_database_refuses_a_met_condition_without_evidence(world):
    condition = world.acme_engagement.readiness.get(key="data_migrated")

    with pytest.raises(IntegrityError), transaction.atomic():
        ReadinessCondition.objects.filter(pk=condition.pk).update(is_met=True)


def test_a_condition_stays_met_after_go_live(world):
    engagement = world.acme_engagement
    hold_kickoff(world)
    complete_readiness(engagement, world.acme_actor)
    log_milestone(
        engagement, "go_live", world.acme_actor, actual_on=KICKOFF_ON, now=NOW
    )

    with pytest.raises(FieldsRefused) as refused:
        update_readiness(engagement, "rollback_plan", world.acme_actor, is_met=False)

    assert refused.value.errors == {
        "is_met": "The customer went live on it; it stays met."
    }


def test_met_records_who_confirmed_and_when(world):
    condition = update_readiness(
        world.acme_engagement,
        "support_plan",
        world.acme_actor,
        owner_name="Sam Support",
        evidence="Runbook v2",
        is_met=True,
        now=NOW,
    )

    assert condition.confirmed_by == "Pia Acme (Acme Partners)"
    assert condition.confirmed_at == NOW


def test_another_partner_cannot_touch_the_engagement(world):
    birch = world.birch_actor
    engagement = world.acme_engagement

    with pytest.raises(Engagement.DoesNotExist):
        log_milestone(engagement, "kickoff", birch, planned_on=KICKOFF_ON, now=NOW)
    with pytest.raises(Engagement.DoesNotExist):
        update_readiness(engagement, "data_migrated", birch, owner_name="X")
    with pytest.raises(Engagement.DoesNotExist):
        add_comment(engagement, birch, "Hello", now=NOW)

    assert engagement.milestones.get(kind="kickoff").planned_on is None
    assert not engagement.comments.exists()


def test_a_member_of_an_inactive_partner_reaches_nothing(world):
    world.acme.is_active = False
    world.acme.save()
    actor = actor_for_member(world.acme_member)

    assert not visible_engagements(actor).exists()
    with pytest.raises(Engagement.DoesNotExist):
        log_milestone(
            world.acme_engagement, "kickoff", actor, planned_on=KICKOFF_ON, now=NOW
        )


def test_a_partner_token_works_only_its_partners_engagements(world):
    token = ApiTokenFactory(scopes=["partner:read", "partner:write"], name="Acme ERP")
    PartnerToken.objects.create(token=token, partner=world.acme)
    token = ApiToken.objects.select_related("partner_link__partner").get(pk=token.pk)
    actor = actor_for_token(token)

    milestone = log_milestone(
        world.acme_engagement, "kickoff", actor, planned_on=KICKOFF_ON, now=NOW
    )

    assert milestone.logged_by == "Acme ERP (API)"
    assert list(visible_engagements(actor)) == [world.acme_engagement]
    with pytest.raises(Engagement.DoesNotExist):
        log_milestone(
            world.birch_engagement, "kickoff", actor, planned_on=KICKOFF_ON, now=NOW
        )


def test_a_partner_token_holds_partner_scopes_only():
    with pytest.raises(ValidationError, match="partner scopes only"):
        ApiToken(
            name="Mixed", key_hash="x" * 64, scopes=["partner:read", "deals:read"]
        ).save()


def test_a_partner_token_without_its_link_reaches_nothing(world):
    token = ApiTokenFactory(scopes=["partner:read"], name="Orphan")

    assert not visible_engagements(actor_for_token(token)).exists()


def test_vendor_visibility_follows_the_deal(world):
    outsider = PersonFactory(role="ae")

    assert list(visible_engagements(actor_for_person(world.ae))) == list(
        Engagement.objects.all()
    )
    assert not visible_engagements(actor_for_person(outsider)).exists()


def test_partner_logging_tells_the_ae_and_the_lead_after_commit(
    world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        hold_kickoff(world)

    subjects = set(
        Notification.objects.filter(
            recipient__in=[world.ae, world.head], subject__startswith="Kickoff"
        ).values_list("recipient__full_name", "subject")
    )
    assert subjects == {
        ("Alex AE", "Kickoff logged: Globex platform"),
        ("Ivy Impl", "Kickoff logged: Globex platform"),
    }


def test_logging_publishes_a_webhook_event(world):
    WebhookEndpoint.objects.create(
        name="CRM",
        url="https://crm.example/hooks",
        secret="s" * 32,
        event_types=["engagement.milestone_logged"],
    )

    hold_kickoff(world)

    event = WebhookEvent.objects.get(type="engagement.milestone_logged")
    data = json.loads(event.body)["data"]
    assert data["milestone"] == {
        "kind": "kickoff",
        "planned_on": "2027-03-01",
        "actual_on": "2027-03-01",
        "notes": "",
    }
    assert data["engagement"]["partner_id"] == world.acme.pk


def test_sessions_count_only_the_customers_own_contacts(world):
    engagement = world.acme_engagement
    own = engagement.account.contacts.first()
    stranger = ContactFactory()

    with pytest.raises(FieldsRefused) as refused:
        log_session(
            engagement,
            world.acme_actor,
            kind="training",
            title="Admin training",
            held_on=KICKOFF_ON,
            invited=[own],
            attended=[stranger],
            now=NOW,
        )
    assert refused.value.errors == {
        "attended": "Only the customer's own contacts attend its sessions."
    }

    session = log_session(
        engagement,
        world.acme_actor,
        kind="training",
        title="Admin training",
        held_on=KICKOFF_ON,
        invited=[],
        attended=[own],
        now=NOW,
    )

    assert list(session.invited.all()) == [own]
    assert list(session.attended.all()) == [own]


def test_comments_are_shared_and_empty_ones_refused(world):
    with pytest.raises(FieldsRefused) as refused:
        add_comment(world.acme_engagement, world.acme_actor, "   ", now=NOW)
    assert refused.value.errors == {"body": "Write something first."}

    add_comment(world.acme_engagement, world.acme_actor, "Kickoff booked", now=NOW)
    add_comment(world.acme_engagement, world.vendor, "Thanks", now=NOW)

    thread = list(
        world.acme_engagement.comments.values_list("author_name", "is_from_partner")
    )
    assert thread == [("Pia Acme (Acme Partners)", True), ("Ivy Impl", False)]


def test_a_new_lead_alone_keeps_the_assignment_time(world):
    other_lead = PersonFactory(role="implementation")
    handoff = world.acme_engagement.handoff

    with time_machine.travel(datetime(2027, 3, 5, 9, 0, tzinfo=UTC), tick=False):
        again = assign_partner(
            handoff, world.vendor, world.acme, implementation_lead=other_lead
        )

    assert again.assigned_at == NOW
    assert again.implementation_lead == other_lead


def test_a_manager_changes_the_partner_of_an_engagement(world):
    manager = actor_for_person(PersonFactory(role="manager"))
    handoff = world.acme_engagement.handoff

    again = assign_partner(handoff, manager, world.birch, now=NOW)

    assert again.partner == world.birch
