"""The outbox relay: each worker sends notifications the moment they commit.

Every insert into the outbox makes PostgreSQL notify the channel
`bowtie_outbox` when its transaction commits (migration bowtie 0029). Each
Celery worker runs a relay beside its pool (bowtie.celery.OutboxRelayStep):
a listener thread holds a connection of its own that listens on the channel
and wakes a sender; the sender claims the deliveries never tried, a batch at
a time, sends them, and claims again until a claim comes back short with no
notice since. While it is busy, notices only say there is more, so a burst
is sent in batches rather than woken one by one. A full batch calls in
another sender. Claims skip the rows another claim holds, so the relays of
several workers share the work and never take the same delivery.

It stands in for a broker message and a task per delivery, which cost the
web process a publish per lead and the worker more than the e-mail itself.

What the relay misses is still sent. A sender that dies mid-batch leaves
claims that lapse, and the outbox sweep sends those deliveries then. What
committed while the listener was away is drained as soon as it is back, and
a quiet relay claims once every POLL_SECONDS all the same.
"""

# TODO(outbox): a transaction that sends NOTIFY takes one lock for the whole
# database as it commits, so such commits go one at a time: nothing at the
# hundreds of intakes a second measured, a ceiling at some thousands. Past
# that, wake the relay after the commit (as the task path does) instead.

import logging
import threading
import time

import psycopg
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.utils import timezone

from bowtie import notifications

logger = logging.getLogger(__name__)

CHANNEL = "bowtie_outbox"
BATCH_SIZE = 50
# How long a woken sender waits for more notices before its first claim, so
# that a burst goes out in batches: a claim costs as much for one delivery
# as for fifty.
GATHER_SECONDS = 0.02
# A claim without a notice, in case one was lost; the outbox sweep is the
# backstop behind this.
POLL_SECONDS = 5.0
# How long the listener waits for a notice before it looks whether to stop.
LISTEN_TIMEOUT_SECONDS = 0.5
# Pauses after an error, the longest repeated until the database is back.
RETRY_PAUSES_SECONDS = (0.5, 1, 2, 5, 10)


class OutboxRelay:
    """A listener and `sender_count` senders, in threads of this process."""

    def __init__(self, sender_count: int):
        self.sender_count = sender_count
        # Only idle senders wait on the condition: pauses wait on `stopping`,
        # so a call meant for an idle sender never wakes a pausing one.
        self.condition = threading.Condition()
        self.stopping = threading.Event()
        # Set once the listener listens and has announced what was waiting.
        self.listening = threading.Event()
        # A notice came that no claim has covered yet.
        self.has_news = False
        # Senders between their first claim and a claim that came back short.
        self.draining_count = 0
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        self.threads = [
            threading.Thread(target=self.listen, name="outbox-listener", daemon=True)
        ] + [
            threading.Thread(target=self.send, name=f"outbox-sender-{n}", daemon=True)
            for n in range(1, self.sender_count + 1)
        ]
        for thread in self.threads:
            thread.start()
        logger.info("outbox relay started with %s senders", self.sender_count)

    def stop(self, timeout: float = 15.0) -> None:
        """Let each thread finish the delivery it is sending, then return."""
        self.stopping.set()
        with self.condition:
            self.condition.notify_all()
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        logger.info("outbox relay stopped")

    def is_idle(self) -> bool:
        """No news waits for a sender, and no sender is draining."""
        with self.condition:
            return not self.has_news and not self.draining_count

    def announce(self, *, another_sender: bool = False) -> None:
        """Say there may be deliveries to send.

        An idle sender is woken when nobody is draining, or when a sender
        asks for help; otherwise the one draining finds the news itself.
        """
        with self.condition:
            self.has_news = True
            if another_sender or not self.draining_count:
                self.condition.notify()

    def listen(self) -> None:
        failures = 0
        while not self.stopping.is_set():
            try:
                with listening_connection() as listener:
                    failures = 0
                    # What committed while nobody listened.
                    self.announce()
                    self.listening.set()
                    self.relay_notices(listener)
            except Exception as error:
                self.listening.clear()
                log_failure("outbox listener", error)
                self.pause(failures)
                failures += 1

    def relay_notices(self, listener: psycopg.Connection) -> None:
        polled_at = time.monotonic()
        while not self.stopping.is_set():
            notices = list(
                listener.notifies(timeout=LISTEN_TIMEOUT_SECONDS, stop_after=1)
            )
            if notices or time.monotonic() - polled_at >= POLL_SECONDS:
                self.announce()
                polled_at = time.monotonic()

    def send(self) -> None:
        failures = 0
        try:
            while self.wait_for_news():
                try:
                    self.drain()
                    failures = 0
                except Exception as error:
                    with self.condition:
                        self.draining_count -= 1
                    log_failure("outbox sender", error)
                    # Closed so the next claim starts on a new connection.
                    connections[DEFAULT_DB_ALIAS].close()
                    self.pause(failures)
                    failures += 1
                    self.announce()
        finally:
            connections.close_all()

    def wait_for_news(self) -> bool:
        """Wait until there is news to drain; False once stopping."""
        with self.condition:
            self.condition.wait_for(lambda: self.has_news or self.stopping.is_set())
            if self.stopping.is_set():
                return False
            self.has_news = False
            self.draining_count += 1
            return True

    def drain(self) -> None:
        """Claim and send until a claim comes back short with no news since.

        A notice arrives after its commit. Whatever committed before a claim
        began is in that claim; whatever committed after it brings news that
        arrives after the news was cleared for that claim.
        """
        stopped = self.stopping.wait(GATHER_SECONDS)
        while not stopped:
            with self.condition:
                self.has_news = False
            batch = notifications.claim_new_deliveries(BATCH_SIZE)
            if len(batch) == BATCH_SIZE:
                self.announce(another_sender=True)
            if batch:
                # What is left when the worker stops goes back, not out.
                notifications.send_claimed(
                    batch, timezone.now(), should_stop=self.stopping.is_set
                )

            with self.condition:
                stopped = self.stopping.is_set()
                if len(batch) < BATCH_SIZE and not self.has_news:
                    break
        with self.condition:
            self.draining_count -= 1

    def pause(self, failures: int) -> None:
        self.stopping.wait(
            RETRY_PAUSES_SECONDS[min(failures, len(RETRY_PAUSES_SECONDS) - 1)]
        )


def log_failure(who: str, error: Exception) -> None:
    # A lost connection is expected now and then (a restart, a failover):
    # a warning. Anything else is a bug a person must look at.
    if isinstance(error, psycopg.Error | DatabaseError):
        logger.warning("%s lost the database; trying again", who, exc_info=True)
    else:
        logger.exception("%s failed; trying again", who)


def listening_connection() -> psycopg.Connection:
    """A connection of its own, outside Django's, listening on the channel.

    Django would close a connection it considers idle or too old; this one
    must stay open for as long as the relay runs.
    """
    parameters = connections[DEFAULT_DB_ALIAS].get_connection_params()
    listener = psycopg.connect(**parameters, autocommit=True)
    try:
        listener.execute(f"LISTEN {CHANNEL}")
    except Exception:
        listener.close()
        raise
    return listener
