"""Send events to the systems that asked for them: signed, retried, logged.

`publish` writes the event and one delivery per active endpoint that wants
it inside the caller's transaction, so an event exists exactly when the
change behind it committed. After commit a worker posts each delivery; the
beat job `send_due_webhooks` queues what comes due later (retries) and what
the broker lost. A worker claims a delivery with a conditional update, so
two never post it at once, and once a receiver answered 2xx it is not sent
again unless someone replays it. A task names the attempt it was queued for
(the delivery's `next_attempt_at` then), not a time to compare with the
worker's clock: a worker a moment behind the web host still sends a new
delivery at once, and a task left over from an earlier attempt sends nothing.

Every attempt posts the event's stored bytes under the same event id, signed
anew with the time of the attempt (`bowtie.signatures`). Retries back off
from a minute, doubling up to six hours, until three days after the event; a
client error other than 408 and 429 is final. An endpoint that has failed
for three days running, twenty attempts or more, is switched off, and its
creator and the RevOps admins are told.

An event published with a `key` has an id drawn from it, the same every
time, and is written once: published again, it is skipped. Changes applied
from a CRM's inbound endpoint run inside `changes_from(endpoint)`, and
their events go to every endpoint but the ones of that same CRM (those
whose `crm_source` it is): the CRM has the change already.

The event types are `EventType` (bowtie.models.webhooks), where the model
validates an endpoint's choice against them.
"""

import contextvars
import ipaddress
import json
import logging
import socket
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import DateTimeField, F, Q, Value
from django.db.models.functions import Coalesce
from django.urls import reverse

from bowtie.models import (
    EventType,
    InboundCrmEndpoint,
    Person,
    Topic,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from bowtie.notifications import notify
from bowtie.signatures import HEADER, sign

logger = logging.getLogger(__name__)

Status = WebhookDelivery.Status

RETRY_WINDOW = timedelta(days=3)
FIRST_BACKOFF = timedelta(minutes=1)
MAX_BACKOFF = timedelta(hours=6)
# Per phase (connect, send, answer); a receiver that drips its answer could
# outlast them, so the task's time limit (bowtie.tasks) ends a whole attempt
# within the send lease.
TIMEOUT = httpx.Timeout(10.0)
SEND_LEASE = timedelta(minutes=2)
# How long a queued task is trusted to reach a worker before the sweep
# queues the delivery again; a second task for it is harmless, only wasted.
QUEUE_LEASE = timedelta(minutes=2)
SWEEP_BATCH = 500
DISABLE_AFTER_FAILURES = 20
DISABLE_AFTER = RETRY_WINDOW
RETRIED_CLIENT_ERRORS = frozenset({408, 429})
# RFC 9110 defines Retry-After for these two answers.
ANSWERS_WITH_RETRY_AFTER = frozenset({429, 503})
USER_AGENT = "Bowtie-Webhooks/1"
# The ids of keyed events are drawn from their keys in this namespace, so
# that one key always names one event id.
KEYED_EVENTS = uuid.UUID("5d3c1f0e-8b1a-4f6e-9c2d-7a4b3e2f1d0c")

# The inbound CRM endpoint whose delivery is being applied, while it is.
# A context variable, not a parameter: the events are published deep in the
# services a delivery calls (a close publishes closed-won), which need not
# know where a change came from.
applying_from: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "webhooks_applying_from", default=None
)


@contextmanager
def changes_from(endpoint: InboundCrmEndpoint):
    """Publish what is changed inside to all but the endpoints of this CRM.

    The CRM sent the change, so telling it back would only echo it: it would
    apply the change a second time, or send it here again as its own.
    """
    token = applying_from.set(endpoint.pk)
    try:
        yield
    finally:
        applying_from.reset(token)


def event_id_for(event_type: str, key: str) -> uuid.UUID:
    """The id of the keyed event: the same for the same type and key."""
    return uuid.uuid5(KEYED_EVENTS, f"{event_type}:{key}")


def publish(
    event_type: str,
    data: dict,
    now,
    key: str | None = None,
    endpoints: list[WebhookEndpoint] | None = None,
) -> list[WebhookDelivery]:
    """Record one event for every active endpoint that wants it.

    See `publish_many`, which this is for a single event.
    """
    return publish_many([(event_type, data, key)], now, endpoints=endpoints)


def publish_many(
    events: list[tuple], now, endpoints: list[WebhookEndpoint] | None = None
) -> list[WebhookDelivery]:
    """Record events and their deliveries in the caller's transaction.

    `events` are pairs of an `EventType` and the `data` the receiver reads:
    ids and the key fields, in JSON types (datetimes, dates, decimals and
    UUIDs become text); or triples with a `key` that names the event for
    good (see `event_id_for`): one already recorded is not recorded again.
    One read of the endpoints however many events, and nothing written for
    an event no endpoint wants; inside `changes_from(crm)` the endpoints of
    that CRM are left out. The deliveries are sent after commit; a
    transaction that rolls back leaves nothing to send. Returns the
    deliveries written. `endpoints` are the active ones, in name order, when
    the caller has them already (intake keeps them with its configuration).
    """
    # A pair is a triple without a key.
    events = [(*event, None)[:3] for event in events]
    unknown = {event_type for event_type, _, _ in events} - set(EventType.values)
    if unknown:
        raise ValueError(f"Unregistered webhook event type(s): {sorted(unknown)}")
    if not events:
        return []
    origin = applying_from.get()
    if endpoints is None:
        active = WebhookEndpoint.objects.filter(is_active=True)
        if origin is not None:
            # An endpoint of no CRM in particular (crm_source empty) stays in.
            active = active.exclude(crm_source_id=origin)
        endpoints = list(active.only("event_types"))
    elif origin is not None:
        endpoints = [e for e in endpoints if e.crm_source_id != origin]
    keyed_ids = {event_id_for(event_type, key) for event_type, _, key in events if key}
    # A keyed event published before is skipped; the claim that publishes it
    # (a fired action, under its lock) keeps two from racing past this.
    recorded = set()
    if keyed_ids:
        recorded = set(
            WebhookEvent.objects.filter(pk__in=keyed_ids).values_list("pk", flat=True)
        )

    records = []
    deliveries = []
    for event_type, data, key in events:
        wanting = [endpoint for endpoint in endpoints if endpoint.wants(event_type)]
        event_id = event_id_for(event_type, key) if key else uuid.uuid4()
        if not wanting or event_id in recorded:
            continue
        recorded.add(event_id)
        event = WebhookEvent(id=event_id, type=event_type, occurred_at=now)
        event.body = event_body(event, data)
        records.append(event)
        deliveries += [
            WebhookDelivery(
                endpoint=endpoint,
                event=event,
                next_attempt_at=now,
                # The task queued on commit is on its way.
                queued_until=now + QUEUE_LEASE,
                give_up_at=now + RETRY_WINDOW,
            )
            for endpoint in wanting
        ]
    if not records:
        return []

    WebhookEvent.objects.bulk_create(records)
    deliveries = WebhookDelivery.objects.bulk_create(deliveries)
    queued = [(delivery.pk, now) for delivery in deliveries]
    transaction.on_commit(lambda: enqueue(queued))
    logger.info(
        "%s webhook event(s) published to %s delivery(ies)",
        len(records),
        len(deliveries),
    )
    return deliveries


def event_body(event: WebhookEvent, data: dict) -> str:
    """The JSON every attempt sends: keys sorted, no spaces, ASCII only."""
    envelope = {
        "id": event.pk,
        "type": event.type,
        "occurred_at": event.occurred_at,
        "data": data,
    }
    return json.dumps(
        envelope, cls=DjangoJSONEncoder, sort_keys=True, separators=(",", ":")
    )


def enqueue(attempts: list[tuple[int, datetime]]) -> None:
    """Queue a task per delivery and the attempt it is for, over one connection."""
    from bowtie.tasks import deliver_webhook

    queued = 0
    try:
        with deliver_webhook.app.producer_or_acquire() as producer:
            for delivery_id, due_at in attempts:
                deliver_webhook.apply_async(
                    (delivery_id, due_at.isoformat()), producer=producer
                )
                queued += 1
    except Exception:
        # The broker is down: the rows stay pending and the sweep queues them.
        logger.warning(
            "webhook deliveries %s left for the sweep",
            ", ".join(str(pk) for pk, _ in attempts[queued:]),
            exc_info=True,
        )


def send_due(now, limit: int = SWEEP_BATCH) -> int:
    """Queue the due deliveries that no task is known to wait for; say how many.

    Retries come due here, and so does a first attempt whose task the broker
    lost. The rows are marked under a lock that skips rows another sweep
    holds, so two sweeps do not queue one delivery twice.
    """
    # A delivery past its window whose last attempt never recorded (the
    # worker died mid-send) would otherwise be sent on and on.
    # Only a lost lease sits past the deadline: a scheduled retry never does,
    # and a switched-off endpoint's deliveries wait for it to come back.
    WebhookDelivery.objects.filter(
        status=Status.PENDING,
        endpoint__is_active=True,
        next_attempt_at__gt=F("give_up_at"),
        next_attempt_at__lte=now,
    ).update(status=Status.GAVE_UP, next_attempt_at=None, last_error="Gave up.")

    with transaction.atomic():
        due = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(Q(queued_until__isnull=True) | Q(queued_until__lt=now))
            .filter(
                status=Status.PENDING,
                next_attempt_at__lte=now,
                endpoint__is_active=True,
            )
            .order_by("next_attempt_at", "pk")
            .values_list("pk", "next_attempt_at")[:limit]
        )
        WebhookDelivery.objects.filter(pk__in=[pk for pk, _ in due]).update(
            queued_until=now + QUEUE_LEASE
        )

    # Not on commit: the rows were committed already, only the mark is new.
    if due:
        enqueue(due)
    return len(due)


@dataclass(frozen=True)
class Attempt:
    """What one post came to: the answer's status, or why there was none."""

    status_code: int | None = None
    retry_after: str | None = None
    error: str = ""


def deliver(delivery_id: int, now: datetime, due_at: datetime | None = None) -> str:
    """Post one due delivery if this worker wins its claim; say what came of it.

    `due_at` is the attempt a task was queued for; without it, the delivery
    must be due by `now`. Returns "not claimed" when the delivery is not
    pending, not at that attempt or not due, its endpoint is inactive, or
    another worker holds it; otherwise its status after the attempt
    ("pending" when a retry is scheduled).
    """
    attempt_is_on = (
        Q(next_attempt_at__lte=now) if due_at is None else Q(next_attempt_at=due_at)
    )
    # Moving next_attempt_at on is the claim, and the lease's end its token:
    # a worker whose lease ran out finds another holder's token and records
    # nothing. The attempt is counted here, so an attempt that crashes the
    # worker still counts towards giving up.
    lease_until = now + SEND_LEASE
    claimed = WebhookDelivery.objects.filter(
        attempt_is_on,
        pk=delivery_id,
        status=Status.PENDING,
        endpoint__is_active=True,
    ).update(
        next_attempt_at=lease_until,
        queued_until=None,
        attempt_count=F("attempt_count") + 1,
    )
    if not claimed:
        return "not claimed"

    delivery = WebhookDelivery.objects.select_related("endpoint", "event").get(
        pk=delivery_id
    )
    attempt = post(delivery, now)
    return record_attempt(delivery, attempt, now, lease_until)


def headers_for(delivery: WebhookDelivery, now: datetime) -> dict[str, str]:
    event = delivery.event
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Bowtie-Event-Id": str(event.pk),
        "Bowtie-Event-Type": event.type,
        HEADER: sign(delivery.endpoint.secret, event.body_bytes, now),
    }


def http_client() -> httpx.Client:
    """The client every attempt posts with; tests give it a fake transport.

    No proxy or .netrc from the environment, no redirects, and only public
    addresses unless the installation allows its own network.
    """
    return httpx.Client(
        timeout=TIMEOUT,
        follow_redirects=False,
        trust_env=False,
        transport=PublicAddressTransport(),
    )


class PublicAddressTransport(httpx.HTTPTransport):
    """Refuse to post to this network's own addresses (loopback, private,
    link-local, the cloud metadata address), so an endpoint cannot be made
    to probe the servers beside Bowtie."""

    def handle_request(self, request):
        if not settings.BOWTIE_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES:
            refuse_private_host(request.url.host, request.url.port or 443)
        # TODO(webhooks): the name is resolved again to connect, so a host
        # that changes its answer in between (DNS rebinding) gets through;
        # pin the checked address in the connection when that matters.
        return super().handle_request(request)


def refuse_private_host(host: str, port: int) -> None:
    try:
        addresses = {
            info[4][0]
            for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
        }
    except OSError as error:
        raise httpx.ConnectError("The receiver's name does not resolve.") from error
    for address in addresses:
        if not ipaddress.ip_address(address.split("%")[0]).is_global:
            raise httpx.ConnectError("The receiver is on a private network.")


def post(delivery: WebhookDelivery, now: datetime) -> Attempt:
    """Post the event's stored bytes once; never raise for the receiver's sake."""
    headers = headers_for(delivery, now)
    try:
        with http_client() as client:
            # Streamed and never read: only the status counts, and a long
            # answer should not fill the worker's memory.
            with client.stream(
                "POST",
                delivery.endpoint.url,
                content=delivery.event.body_bytes,
                headers=headers,
            ) as response:
                return Attempt(
                    response.status_code, response.headers.get("Retry-After")
                )
    except httpx.TimeoutException as error:
        return Attempt(error=f"Timed out ({type(error).__name__})")
    except (httpx.HTTPError, httpx.InvalidURL) as error:
        # The type alone: an exception's text may quote the address.
        return Attempt(error=f"No answer ({type(error).__name__})")


def verdict(status_code: int | None) -> str:
    """Delivered, refused for good, or worth another try (pending)."""
    if status_code is None:
        return Status.PENDING
    if 200 <= status_code < 300:
        return Status.DELIVERED
    if status_code >= 500 or status_code in RETRIED_CLIENT_ERRORS:
        return Status.PENDING
    # A redirect is refused too: it is not followed, so sending it again
    # changes nothing until someone gives the endpoint its final address.
    return Status.FAILED


def describe(attempt: Attempt) -> str:
    if attempt.status_code is None:
        return attempt.error
    phrase = httpx.codes.get_reason_phrase(attempt.status_code)
    return f"HTTP {attempt.status_code} {phrase}".strip()


def retry_after(attempt: Attempt, now: datetime) -> timedelta | None:
    """The wait a 429 or 503 asked for, in seconds or as an HTTP date."""
    if attempt.status_code not in ANSWERS_WITH_RETRY_AFTER or not attempt.retry_after:
        return None
    value = attempt.retry_after.strip()
    if value.isascii() and value.isdigit():
        window = int(RETRY_WINDOW.total_seconds())
        # Compared as text first: a number of thousands of digits is refused
        # by int() itself, and any wait past the window is the window.
        seconds = int(value) if len(value) <= len(str(window)) else window
        return timedelta(seconds=min(seconds, window))
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return max(moment - now, timedelta(0))


def retry_time(
    attempt_count: int,
    now: datetime,
    give_up_at: datetime,
    asked_wait: timedelta | None = None,
) -> datetime | None:
    """When to try again after `attempt_count` tries; None to give up.

    A minute after the first, doubling up to the cap; never sooner than the
    receiver asked. The last try falls on the deadline itself.
    """
    if now >= give_up_at:
        return None
    wait = min(MAX_BACKOFF, FIRST_BACKOFF * 2 ** min(attempt_count - 1, 16))
    if asked_wait is not None:
        wait = max(wait, asked_wait)
    return min(now + wait, give_up_at)


def record_attempt(
    delivery: WebhookDelivery, attempt: Attempt, now, lease_until: datetime
) -> str:
    """Store what the attempt came to, and what it says about the endpoint.

    Only while this attempt's lease holds: one that outlived it (a receiver
    that answered slower than the lease) lost the delivery to a newer
    attempt, whose answer must not be overwritten.
    """
    status = verdict(attempt.status_code)
    changes = {
        "attempt_count": delivery.attempt_count,
        "last_attempt_at": now,
        "last_status_code": attempt.status_code,
        "last_error": "" if status == Status.DELIVERED else describe(attempt),
        "next_attempt_at": None,
    }
    if status == Status.PENDING:
        changes["next_attempt_at"] = retry_time(
            changes["attempt_count"],
            now,
            delivery.give_up_at,
            retry_after(attempt, now),
        )
        if changes["next_attempt_at"] is None:
            status = Status.GAVE_UP
    if status == Status.DELIVERED:
        changes["delivered_at"] = now
    recorded = WebhookDelivery.objects.filter(
        pk=delivery.pk, status=Status.PENDING, next_attempt_at=lease_until
    ).update(status=status, **changes)
    if not recorded:
        logger.warning("webhook delivery %s answered after its lease", delivery.pk)
        return "superseded"

    if status == Status.DELIVERED:
        note_success(delivery.endpoint)
        logger.info(
            "webhook delivery %s delivered (attempt %s)",
            delivery.pk,
            changes["attempt_count"],
        )
        return status
    logger.log(
        logging.ERROR if status == Status.GAVE_UP else logging.WARNING,
        "webhook delivery %s failed (attempt %s, now %s): %s",
        delivery.pk,
        changes["attempt_count"],
        status,
        changes["last_error"],
    )
    note_failure(
        delivery.endpoint,
        changes["last_error"],
        now,
        gave_up=status == Status.GAVE_UP,
    )
    return status


def note_success(endpoint: WebhookEndpoint) -> None:
    # Conditional, so a healthy endpoint's deliveries write nothing to it.
    WebhookEndpoint.objects.filter(pk=endpoint.pk, consecutive_failures__gt=0).update(
        consecutive_failures=0, failing_since=None
    )


def note_failure(
    endpoint: WebhookEndpoint, error: str, now, *, gave_up: bool = False
) -> None:
    """Count the failure; switch the endpoint off once it failed for days.

    Both conditions, so that neither a burst of failures in a short outage
    nor one slow retry in a quiet week switches off a receiver. A delivery
    that gave up has failed for its whole three days, which is the time
    condition met: its first failure came a little after its event.
    """
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        consecutive_failures=F("consecutive_failures") + 1,
        failing_since=Coalesce(
            "failing_since", Value(now, output_field=DateTimeField())
        ),
    )

    days = DISABLE_AFTER.days
    reason = (
        f"Nothing was delivered for {days} days and at least "
        f"{DISABLE_AFTER_FAILURES} attempts in a row failed; the last: {error}."
    )
    failed_long_enough = Q() if gave_up else Q(failing_since__lte=now - DISABLE_AFTER)
    with transaction.atomic():
        # Conditional on being active: of two workers failing at once, one
        # switches the endpoint off and tells people.
        disabled = (
            WebhookEndpoint.objects.filter(
                pk=endpoint.pk,
                is_active=True,
                consecutive_failures__gte=DISABLE_AFTER_FAILURES,
            )
            .filter(failed_long_enough)
            .update(is_active=False, disabled_at=now, disabled_reason=reason[:300])
        )
        if disabled:
            tell_disabled(endpoint, reason, now)


def tell_disabled(endpoint: WebhookEndpoint, reason: str, now) -> None:
    admins = Person.objects.filter(role=Person.Role.REVOPS_ADMIN, is_active=True)
    recipients = {person.pk: person for person in admins}
    creator = endpoint.created_by
    if creator is not None and creator.is_active:
        recipients.setdefault(creator.pk, creator)

    for person in recipients.values():
        notify(
            person,
            event_key=f"webhook-endpoint:{endpoint.pk}:disabled:{int(now.timestamp())}",
            topic=Topic.SYSTEM,
            subject=f"Webhook endpoint {endpoint.name} switched off",
            body=f"{reason} Fix the receiver, then enable the endpoint again in "
            "the admin: its pending deliveries go out then, and its delivery "
            "log replays the others.",
            url=reverse("admin:bowtie_webhookendpoint_change", args=[endpoint.pk]),
            now=now,
        )
    logger.error("webhook endpoint %s switched off: %s", endpoint.pk, reason)


def enable_endpoints(endpoint_ids: list[int]) -> int:
    """Switch endpoints on again with a clean record; say how many.

    Their pending deliveries resume at the next sweep; one past its three
    days gets a single try.
    """
    return WebhookEndpoint.objects.filter(pk__in=endpoint_ids).update(
        is_active=True,
        disabled_at=None,
        disabled_reason="",
        consecutive_failures=0,
        failing_since=None,
    )


def replay(delivery_ids: list[int], now) -> int:
    """Send deliveries again as they were: the same event id, the same bytes.

    Each starts over: due now, and retried for three days from now should it
    fail. A delivery of an inactive endpoint is left as it is (enable the
    endpoint first). One in flight may reach the receiver twice, which its
    check of the event id absorbs. Returns how many were scheduled.
    """
    with transaction.atomic():
        ids = list(
            WebhookDelivery.objects.filter(
                pk__in=delivery_ids, endpoint__is_active=True
            ).values_list("pk", flat=True)
        )
        WebhookDelivery.objects.filter(pk__in=ids).update(
            status=Status.PENDING,
            next_attempt_at=now,
            queued_until=now + QUEUE_LEASE,
            give_up_at=now + RETRY_WINDOW,
        )
        if ids:
            transaction.on_commit(lambda: enqueue([(pk, now) for pk in ids]))
            logger.info("webhook deliveries %s replayed", ", ".join(map(str, ids)))
    return len(ids)
