"""The outbox relay sends each delivery once, as soon as its transaction commits.

The relay listens for PostgreSQL's notices, so these tests run only there,
with real commits, and start relays in threads of the test process. They
wait for what a relay does with a deadline, never a fixed sleep.
"""

import logging
import time
from datetime import timedelta
from unittest import mock

import psycopg
import pytest
from django.core import mail
from django.db import connection, connections, transaction
from django.utils import timezone

from bowtie import notifications
from bowtie.celery import OutboxRelayStep
from bowtie.models import Delivery
from bowtie.outbox_relay import BATCH_SIZE, POLL_SECONDS, OutboxRelay
from bowtie.tasks import deliver
from handoffs.models import IntakeChannel
from handoffs.services import intake_lead
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db(transaction=True)

# Less than the relay's poll: whatever it sends in time, a notice woke it for.
WAIT_SECONDS = POLL_SECONDS - 1


@pytest.fixture(autouse=True)
def _relay_instead_of_tasks(settings):
    if connection.vendor != "postgresql":
        pytest.skip("The relay listens for PostgreSQL's notices.")
    # Nothing goes out through a task: what is sent, a relay sent.
    settings.BOWTIE_OUTBOX_RELAY = True


@pytest.fixture
def relay():
    running = []

    def start(sender_count: int = 2) -> OutboxRelay:
        started = OutboxRelay(sender_count)
        started.start()
        running.append(started)
        return started

    yield start
    for started in running:
        started.stop()


def wait_until(condition, seconds: float = WAIT_SECONDS) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def notify_people(count: int, event: str = "event") -> list[int]:
    people = [PersonFactory() for _ in range(count)]
    notices = [
        notifications.Notice(person, f"{event}:{n}", "new_work", "Hello", "Body", "")
        for n, person in enumerate(people)
    ]
    with transaction.atomic():
        notifications.notify_many(notices, timezone.now())
    return sorted(Delivery.objects.values_list("pk", flat=True))


def sent_count() -> int:
    return Delivery.objects.filter(status=Delivery.Status.SENT).count()


def test_a_delivery_is_sent_once_its_transaction_commits(relay):
    relay(sender_count=1)
    person = PersonFactory(email="kim@example.org")

    with transaction.atomic():
        notifications.notify(
            person, "event:1", "Hello", "Body", "/leads/1/", timezone.now(), topic="x"
        )

    assert wait_until(lambda: sent_count() == 1)
    delivery = Delivery.objects.get()
    assert (delivery.attempt_count, delivery.last_error) == (1, "")
    assert [message.to for message in mail.outbox] == [["kim@example.org"]]


def test_a_rolled_back_delivery_is_never_sent(relay):
    relay(sender_count=1)
    person = PersonFactory()

    with pytest.raises(RuntimeError), transaction.atomic():
        notifications.notify(
            person, "event:1", "Hello", "", "", timezone.now(), topic="x"
        )
        raise RuntimeError("the event failed")
    notify_people(1, event="later")

    assert wait_until(lambda: sent_count() == 1)
    assert Delivery.objects.count() == 1
    assert len(mail.outbox) == 1


def test_what_committed_before_the_relay_started_is_sent(relay):
    pending = notify_people(3)

    relay(sender_count=1)

    assert wait_until(lambda: sent_count() == 3)
    assert (
        sorted(Delivery.objects.filter(status="sent").values_list("pk", flat=True))
        == pending
    )


def test_two_relays_send_a_burst_once_each(relay):
    relay(sender_count=3)
    relay(sender_count=3)

    pending = notify_people(2 * BATCH_SIZE + 7)

    assert wait_until(lambda: sent_count() == len(pending))
    assert set(Delivery.objects.values_list("attempt_count", flat=True)) == {1}
    assert len(mail.outbox) == len(pending)
    assert sorted(message.to[0] for message in mail.outbox) == sorted(
        Delivery.objects.values_list("notification__recipient__email", flat=True)
    )


def test_a_failed_send_is_left_to_the_sweep_with_its_back_off(relay, caplog):
    caplog.set_level(logging.WARNING, logger="bowtie.notifications")
    relay(sender_count=1)

    with mock.patch.object(
        notifications, "send_email", side_effect=ConnectionError("smtp down")
    ):
        notify_people(1)
        assert wait_until(lambda: Delivery.objects.filter(attempt_count=1).exists())

    delivery = Delivery.objects.get()
    assert delivery.status == "pending"
    assert delivery.last_error == "ConnectionError"
    assert delivery.claimed_until > timezone.now() + timedelta(seconds=20)
    assert mail.outbox == []


def test_a_claim_passes_over_rows_another_claim_holds():
    first, second = notify_people(2)
    settings = connections["default"].get_connection_params()

    with psycopg.connect(**settings) as other:
        other.execute(
            f"SELECT id FROM {Delivery._meta.db_table} WHERE id = %s FOR UPDATE",
            [first],
        )
        # A claim that waited for the lock would fail here instead of hanging.
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")
        claimed = notifications.claim_new_deliveries(timezone.now(), BATCH_SIZE)

    assert [delivery.pk for delivery in claimed] == [second]


def test_intake_queues_no_task_where_the_relay_runs(relay):
    PersonFactory(role="revops_admin", email="ops@example.org")

    with mock.patch.object(deliver, "apply_async") as publish:
        intake_lead(
            {"email": "kim@example.org", "form_type": "demo_request"},
            channel=IntakeChannel.API,
        )

    publish.assert_not_called()
    relay(sender_count=1)
    assert wait_until(lambda: sent_count() == 1)
    assert mail.outbox[0].to == ["ops@example.org"]


def test_the_sweep_says_when_the_relay_missed_a_delivery(settings, caplog):
    [missed] = notify_people(1)
    later = timezone.now() + settings.BOWTIE_OUTBOX_RETRY_AFTER + timedelta(seconds=1)

    with caplog.at_level(logging.WARNING, logger="bowtie.notifications"):
        sent = notifications.redeliver_pending(later)

    assert sent == 1
    assert [record.getMessage() for record in caplog.records] == [
        f"deliveries {missed} were never tried: is the outbox relay running?"
    ]


def test_each_worker_runs_a_relay_when_settings_ask(settings):
    step = OutboxRelayStep(parent=mock.Mock())

    settings.BOWTIE_OUTBOX_RELAY = False
    skipped = step.include_if(worker=None)
    settings.BOWTIE_OUTBOX_RELAY = True
    included = step.include_if(worker=None)

    assert (skipped, included) == (False, True)
