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

from bowtie import notifications, outbox_relay
from bowtie.celery import OutboxRelayStep
from bowtie.models import Delivery
from bowtie.outbox_relay import BATCH_SIZE, OutboxRelay
from bowtie.tasks import deliver
from handoffs.models import IntakeChannel
from handoffs.services import intake_lead
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db(transaction=True)

# The relay's poll is turned off in these tests (the `relay` fixture): what
# it sends in time, a notice woke it for.
WAIT_SECONDS = 10


@pytest.fixture(autouse=True)
def _relay_instead_of_tasks(settings):
    if connection.vendor != "postgresql":
        pytest.skip("The relay listens for PostgreSQL's notices.")
    # Nothing goes out through a task: what is sent, a relay sent.
    settings.BOWTIE_OUTBOX_RELAY = True


@pytest.fixture
def relay(monkeypatch):
    monkeypatch.setattr(outbox_relay, "POLL_SECONDS", 3600)
    running = []

    def start(sender_count: int = 2) -> OutboxRelay:
        started = OutboxRelay(sender_count)
        started.start()
        running.append(started)
        # Listening, and done with what was waiting before it listened.
        assert started.listening.wait(WAIT_SECONDS)
        assert wait_until(started.is_idle)
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
        try:
            claimed = notifications.claim_new_deliveries(BATCH_SIZE)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET lock_timeout")

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


def test_a_batch_gives_back_what_it_has_no_time_left_to_send(monkeypatch, caplog):
    pending = notify_people(2)
    # Claims shorter than one attempt: none leaves time enough to send.
    monkeypatch.setattr(
        notifications,
        "CLAIM_LEASE",
        notifications.LONGEST_ATTEMPT - timedelta(seconds=1),
    )
    claimed = notifications.claim_new_deliveries(BATCH_SIZE)

    with caplog.at_level(logging.INFO, logger="bowtie.notifications"):
        outcomes = notifications.send_claimed(claimed, timezone.now())

    assert outcomes == ["given back", "given back"]
    assert list(
        Delivery.objects.order_by("pk").values_list("pk", "status", "claimed_until")
    ) == [(pk, "pending", None) for pk in pending]
    assert mail.outbox == []
    assert caplog.messages == [
        f"deliveries {pending[0]}, {pending[1]} given back untried"
    ]


def test_a_stopping_worker_gives_back_what_it_has_not_sent():
    first, second = notify_people(2)
    claimed = notifications.claim_new_deliveries(BATCH_SIZE)
    asked = iter([False, True])

    outcomes = notifications.send_claimed(
        claimed, timezone.now(), should_stop=lambda: next(asked)
    )

    assert outcomes == ["sent", "given back"]
    assert Delivery.objects.get(pk=first).status == "sent"
    assert Delivery.objects.get(pk=second).claimed_until is None
    assert len(mail.outbox) == 1


def test_a_delivery_another_worker_took_over_is_left_to_it(caplog):
    pending = notify_people(3)
    claimed = notifications.claim_new_deliveries(BATCH_SIZE)
    taken_over_until = timezone.now() + timedelta(minutes=5)
    Delivery.objects.update(claimed_until=taken_over_until)

    with caplog.at_level(logging.WARNING, logger="bowtie.notifications"):
        sent = notifications.mark_sent(claimed[0], timezone.now())
        failed = notifications.record_failed_attempt(
            claimed[1], ConnectionError("smtp down"), timezone.now()
        )
    notifications.give_back(claimed[2:])

    assert (sent, failed) == ("claim lost", "claim lost")
    assert list(
        Delivery.objects.order_by("pk").values_list(
            "pk", "status", "attempt_count", "claimed_until"
        )
    ) == [(pk, "pending", 0, taken_over_until) for pk in pending]
    assert f"delivery {pending[0]} was sent after its claim lapsed" in caplog.text


def test_the_listener_comes_back_after_an_unexpected_error(relay, monkeypatch):
    connect = outbox_relay.listening_connection
    attempts = iter([RuntimeError("a bug"), None])

    def fail_once():
        error = next(attempts)
        if error is not None:
            raise error
        return connect()

    monkeypatch.setattr(outbox_relay, "listening_connection", fail_once)

    started = relay(sender_count=1)
    notify_people(1)

    assert started.listening.is_set()
    assert wait_until(lambda: sent_count() == 1)


def test_each_worker_runs_a_relay_when_settings_ask(settings):
    from celery.concurrency.prefork import TaskPool as PreforkPool
    from celery.concurrency.solo import TaskPool as SoloPool
    from celery.concurrency.thread import TaskPool as ThreadPool
    from django.core.exceptions import ImproperlyConfigured

    step = OutboxRelayStep(parent=mock.Mock())
    threads, prefork = mock.Mock(pool_cls=ThreadPool), mock.Mock(pool_cls=PreforkPool)
    solo = mock.Mock(pool_cls=SoloPool)

    settings.BOWTIE_OUTBOX_RELAY = False
    skipped = step.include_if(threads)
    settings.BOWTIE_OUTBOX_RELAY = True
    included = step.include_if(threads)

    assert (skipped, included, step.include_if(solo)) == (False, True, True)
    with pytest.raises(ImproperlyConfigured, match="--pool threads"):
        step.include_if(prefork)
    relay = step.create(threads)
    assert isinstance(relay, OutboxRelay)
    assert relay.sender_count == settings.BOWTIE_OUTBOX_SENDERS
