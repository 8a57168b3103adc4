"""Owner notifications: written with the event, delivered only after commit."""

import logging
from datetime import UTC, datetime, timedelta
from unittest import mock

import httpx
import kombu.pools
import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.db import transaction
from django.test import Client
from django.utils import timezone

from bowtie import notifications
from bowtie.models import Delivery, Notification
from bowtie.tasks import deliver
from handoffs.models import Lead, SlaPolicy
from handoffs.services import intake_lead
from tests.factories import PersonFactory

NOW = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
DEMO_REQUEST = {
    "email": "zoe@globex.com",
    "first_name": "Zoë",
    "last_name": "Doe",
    "company_name": "Globex",
    "form_type": "demo_request",
}


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def test_assignment_notifies_the_owner_in_app_and_by_email(
    sales_team, frozen, django_capture_on_commit_callbacks
):
    rep = sales_team["reps"][0]

    with django_capture_on_commit_callbacks(execute=True):
        lead = intake_lead(DEMO_REQUEST, channel="form").lead

    handoff = lead.handoffs.get()
    notification = Notification.objects.get()
    assert notification.recipient == rep
    assert notification.event_key == f"lead:{lead.pk}:assigned:{handoff.pk}"
    assert notification.subject == "New lead: Zoë Doe"
    assert notification.body == (
        "Hand-raiser lead from Globex. Respond by 2025-03-04 10:05 CET."
    )
    assert notification.url == f"/leads/{lead.pk}/"
    assert notification.created_at == NOW
    assert notification.read_at is None
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [rep.email]
    assert mail.outbox[0].subject == "New lead: Zoë Doe"
    assert mail.outbox[0].body == (
        "Hand-raiser lead from Globex. Respond by 2025-03-04 10:05 CET.\n\n"
        f"{settings.BOWTIE_BASE_URL}/leads/{lead.pk}/"
    )
    assert Delivery.objects.get().status == "sent"


def test_assignment_without_a_clock_still_notifies_the_owner(
    sales_team, frozen, django_capture_on_commit_callbacks
):
    # RevOps switched off every target: the lead has no due time, but its
    # owner must still hear of it.
    SlaPolicy.objects.update(is_active=False)

    with django_capture_on_commit_callbacks(execute=True):
        lead = intake_lead(DEMO_REQUEST, channel="form").lead

    notification = Notification.objects.get()
    assert lead.handoffs.get().milestones.count() == 0
    assert notification.recipient == sales_team["reps"][0]
    assert notification.body == "Hand-raiser lead from Globex."
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(
    ("email", "where_from"),
    [("zoe@globex.com", "globex.com"), ("zoe@gmail.com", "gmail.com")],
)
def test_a_lead_without_a_company_is_from_its_domain(
    sales_team, frozen, email, where_from
):
    intake_lead({"email": email, "form_type": "demo_request"}, channel="form")

    assert Notification.objects.get().body == (
        f"Hand-raiser lead from {where_from}. Respond by 2025-03-04 10:05 CET."
    )


def test_assignment_names_the_day_a_nurture_lead_is_due(
    sales_team, frozen, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        intake_lead(
            {
                "email": "zoe@globex.com",
                "company_name": "Globex",
                "form_type": "webinar",
            },
            channel="form",
        )

    assert Notification.objects.get().body == (
        "Content / webinar nurture lead from Globex. Respond by 2025-03-08 10:00 CET."
    )


def test_assignment_email_is_sent_only_after_commit(
    sales_team, frozen, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        intake_lead(DEMO_REQUEST, channel="form")

    outbox_before_commit = len(mail.outbox)
    status_before_commit = Delivery.objects.get().status
    for callback in callbacks:
        callback()

    assert outbox_before_commit == 0
    assert status_before_commit == "pending"
    assert len(callbacks) == 1
    assert len(mail.outbox) == 1
    assert Delivery.objects.get().status == "sent"


def test_rolled_back_intake_notifies_nobody(
    sales_team, frozen, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                intake_lead(DEMO_REQUEST, channel="form")
                raise RuntimeError("the caller failed after intake")

    assert callbacks == []
    assert mail.outbox == []
    assert Notification.objects.count() == 0
    assert Delivery.objects.count() == 0
    assert Lead.objects.count() == 0


def test_fallback_queue_notifies_the_team_head(
    sales_team, frozen, django_capture_on_commit_callbacks
):
    for rep in sales_team["reps"]:
        rep.is_active = False
        rep.save()

    with django_capture_on_commit_callbacks(execute=True):
        intake_lead(DEMO_REQUEST, channel="form")

    notification = Notification.objects.get()
    assert notification.recipient == sales_team["manager"]
    assert notification.subject == "Lead waiting in the Inbound EMEA fallback queue"
    assert mail.outbox[0].to == [sales_team["manager"].email]


def test_lead_with_no_team_notifies_every_active_revops_admin(
    db, frozen, django_capture_on_commit_callbacks
):
    revops = PersonFactory(role="revops_admin", full_name="Rita Ops")
    PersonFactory(role="revops_admin", is_active=False)
    PersonFactory(role="sdr")

    with django_capture_on_commit_callbacks(execute=True):
        lead = intake_lead(DEMO_REQUEST, channel="form").lead

    notification = Notification.objects.get()
    assert lead.team is None
    assert notification.recipient == revops
    assert notification.subject == "Lead with no team: Zoë Doe"
    assert mail.outbox[0].to == [revops.email]


def test_repeat_submission_notifies_nobody_again(
    sales_team, frozen, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        intake_lead(DEMO_REQUEST, channel="form")
        intake_lead(DEMO_REQUEST, channel="api")

    assert Notification.objects.count() == 1
    assert len(mail.outbox) == 1


def test_notify_records_a_repeated_event_key_once(
    db, frozen, django_capture_on_commit_callbacks
):
    person = PersonFactory()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        first = notifications.notify(
            person,
            "deal:7:won",
            "Won",
            "Deal 7 won.",
            "/deals/7/",
            NOW,
            topic="new_work",
        )
        second = notifications.notify(
            person,
            "deal:7:won",
            "Won again",
            "Deal 7 won.",
            "/deals/7/",
            NOW,
            topic="new_work",
        )

    assert second.pk == first.pk
    assert second.subject == "Won"
    assert Notification.objects.count() == 1
    assert Delivery.objects.count() == 1
    assert len(callbacks) == 1
    assert len(mail.outbox) == 1


def test_same_event_key_notifies_each_recipient(db, frozen):
    first, second = PersonFactory(), PersonFactory()

    notifications.notify(first, "deal:7:won", "Won", "", "", NOW, topic="new_work")
    notifications.notify(second, "deal:7:won", "Won", "", "", NOW, topic="new_work")

    assert Notification.objects.count() == 2


def test_notify_opens_one_delivery_per_channel_the_person_uses(db, frozen):
    both = PersonFactory(slack_webhook_url="https://hooks.example.org/T1")
    quiet = PersonFactory(notify_by_email=False)

    notifications.notify(both, "event:1", "Hello", "", "", NOW, topic="new_work")
    notifications.notify(quiet, "event:1", "Hello", "", "", NOW, topic="new_work")

    assert sorted(
        Delivery.objects.filter(notification__recipient=both).values_list(
            "channel", flat=True
        )
    ) == ["email", "slack"]
    assert Delivery.objects.filter(notification__recipient=quiet).count() == 0


def test_delivery_is_claimed_once_when_delivered_twice(db, frozen):
    person = PersonFactory()
    notifications.notify(person, "event:1", "Hello", "Body", "", NOW, topic="new_work")
    delivery = Delivery.objects.get()

    first = notifications.deliver_one(delivery.pk, NOW)
    second = notifications.deliver_one(delivery.pk, NOW)

    delivery.refresh_from_db()
    assert (first, second) == ("sent", "not claimed")
    assert len(mail.outbox) == 1
    assert delivery.status == "sent"
    assert delivery.attempt_count == 1
    assert delivery.sent_at == NOW


def test_delivery_claimed_by_another_worker_is_left_alone(db, frozen):
    person = PersonFactory()
    notifications.notify(person, "event:1", "Hello", "Body", "", NOW, topic="new_work")
    delivery = Delivery.objects.get()
    notifications.claim_delivery(delivery.pk, NOW)

    outcome = notifications.deliver_one(delivery.pk, NOW + timedelta(seconds=30))

    assert outcome == "not claimed"
    assert mail.outbox == []


def test_broker_failure_at_enqueue_leaves_delivery_pending(
    sales_team, frozen, django_capture_on_commit_callbacks, caplog
):
    caplog.set_level(logging.WARNING, logger="bowtie.notifications")

    with mock.patch.object(deliver, "apply_async", side_effect=OSError("broker down")):
        with django_capture_on_commit_callbacks(execute=True):
            intake_lead(DEMO_REQUEST, channel="form")

    delivery = Delivery.objects.get()
    assert delivery.status == "pending"
    assert delivery.attempt_count == 0
    assert mail.outbox == []
    assert [record.getMessage() for record in caplog.records] == [
        f"deliveries {delivery.pk} left for the outbox sweep"
    ]


def test_redeliver_pending_sends_what_the_broker_missed(
    sales_team, frozen, django_capture_on_commit_callbacks
):
    retry_after = settings.BOWTIE_OUTBOX_RETRY_AFTER
    with mock.patch.object(deliver, "apply_async", side_effect=OSError("broker down")):
        with django_capture_on_commit_callbacks(execute=True):
            intake_lead(DEMO_REQUEST, channel="form")

    too_soon = notifications.redeliver_pending(NOW + retry_after)
    later = notifications.redeliver_pending(NOW + retry_after + timedelta(seconds=1))
    again = notifications.redeliver_pending(NOW + retry_after * 3)

    assert (too_soon, later, again) == (0, 1, 0)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "New lead: Zoë Doe"
    assert Delivery.objects.get().status == "sent"


def test_failed_send_is_retried_with_backoff(db, frozen):
    person = PersonFactory()
    notifications.notify(person, "event:1", "Hello", "Body", "", NOW, topic="new_work")
    delivery = Delivery.objects.get()

    with mock.patch.object(
        notifications, "send_email", side_effect=ConnectionError("smtp down")
    ):
        failed = notifications.deliver_one(delivery.pk, NOW)
    delivery.refresh_from_db()
    early = notifications.redeliver_pending(NOW + timedelta(seconds=29))
    retried = notifications.redeliver_pending(NOW + timedelta(seconds=31))

    assert failed == "retry"
    assert delivery.attempt_count == 1
    assert delivery.claimed_until == NOW + timedelta(seconds=30)
    assert delivery.last_error == "ConnectionError"
    assert (early, retried) == (0, 1)
    assert len(mail.outbox) == 1


def test_failed_webhook_keeps_its_address_out_of_the_outbox_and_logs(
    db, frozen, caplog
):
    secret_url = "https://hooks.slack.test/services/T0/B0/secret-token"
    person = PersonFactory(slack_webhook_url=secret_url)
    notifications.notify(person, "event:1", "Hello", "Body", "", NOW, topic="new_work")
    webhook = Delivery.objects.get(channel="slack")
    refusal = httpx.Response(403, request=httpx.Request("POST", secret_url))

    with mock.patch.object(notifications.httpx, "post", return_value=refusal):
        notifications.deliver_one(webhook.pk, NOW)
    webhook.refresh_from_db()

    assert webhook.last_error == "HTTP 403 from the webhook"
    assert "secret-token" not in caplog.text


def test_delivery_fails_for_good_after_the_last_attempt(db, frozen):
    person = PersonFactory()
    notifications.notify(person, "event:1", "Hello", "Body", "", NOW, topic="new_work")
    delivery = Delivery.objects.get()
    Delivery.objects.filter(pk=delivery.pk).update(
        attempt_count=notifications.MAX_ATTEMPTS - 1
    )

    with mock.patch.object(
        notifications, "send_email", side_effect=ConnectionError("smtp down")
    ):
        outcome = notifications.deliver_one(delivery.pk, NOW)

    delivery.refresh_from_db()
    assert outcome == "failed"
    assert delivery.status == "failed"
    assert notifications.redeliver_pending(NOW + timedelta(days=1)) == 0


def test_slack_delivery_posts_the_notification(db, frozen):
    person = PersonFactory(
        slack_webhook_url="https://hooks.example.org/T1", notify_by_email=False
    )
    notifications.notify(
        person, "event:1", "Hello", "Body", "/leads/1/", NOW, topic="new_work"
    )
    delivery = Delivery.objects.get()

    with mock.patch.object(notifications.httpx, "post") as post:
        outcome = notifications.deliver_one(delivery.pk, NOW)

    assert outcome == "sent"
    post.assert_called_once_with(
        "https://hooks.example.org/T1",
        json={"text": f"*Hello*\nBody\n{settings.BOWTIE_BASE_URL}/leads/1/"},
        timeout=10,
    )


def test_api_accepts_leads_while_the_real_broker_is_unreachable(
    sales_team, django_capture_on_commit_callbacks
):
    from bowtie.celery import celery_app
    from bowtie.services import issue_api_token

    _, key = issue_api_token("Site", ["leads:write"])
    unreachable = {
        "task_always_eager": False,
        # Nothing listens on port 9: the publish fails at once, as with Redis down.
        "broker_url": "redis://127.0.0.1:9/0",
        "broker_connection_retry": False,
        "broker_connection_timeout": 1,
        "task_publish_retry": False,
    }
    saved = {name: celery_app.conf[name] for name in unreachable}
    celery_app.conf.update(unreachable)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = Client().post(
                "/api/leads",
                data=DEMO_REQUEST,
                content_type="application/json",
                headers={"authorization": f"Bearer {key}"},
            )
    finally:
        celery_app.conf.update(saved)
        # Close every pool and forget them: kombu keeps pools in a registry
        # of its own, and a closed one refuses every later publish.
        kombu.pools.reset()
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    assert response.status_code == 201
    assert Lead.objects.count() == 1
    assert Delivery.objects.get().status == "pending"
    assert mail.outbox == []


def test_a_delivery_claimed_at_a_microsecond_is_marked_sent_by_its_claim(db):
    # The claim is compared as the database stores a time: text on SQLite.
    with time_machine.travel(NOW.replace(microsecond=123456), tick=False):
        person = PersonFactory()
        notifications.notify(
            person, "event:1", "Hello", "Body", "", timezone.now(), topic="new_work"
        )
        outcome = notifications.deliver_one(Delivery.objects.get().pk)

    delivery = Delivery.objects.get()
    assert outcome == "sent"
    assert (delivery.status, delivery.attempt_count) == ("sent", 1)
