"""Notify people: in-app at once, e-mail and webhook after the commit.

`notify` writes the in-app notification and one outbox delivery per channel
inside the caller's transaction. After commit a worker delivers them; the beat
job `redeliver_outbox` picks up whatever a crashed worker or an unreachable
broker left pending. A delivery is claimed with a conditional update, so two
workers never send the same one.
"""

import logging
import zoneinfo
from datetime import timedelta

import httpx
from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from bowtie.models import Delivery, Notification, Person

logger = logging.getLogger(__name__)

CLAIM_LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 8


def in_zone_of(person: Person, moment) -> str:
    """Format a stored UTC time as the recipient reads it, zone included."""
    local = moment.astimezone(zoneinfo.ZoneInfo(person.time_zone))
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def notify(
    person: Person, event_key: str, subject: str, body: str, url: str, now
) -> Notification:
    """Record a notification for one event; a repeated event changes nothing."""
    existing = Notification.objects.filter(
        recipient=person, event_key=event_key
    ).first()
    if existing:
        return existing

    try:
        with transaction.atomic():
            notification = Notification.objects.create(
                recipient=person,
                event_key=event_key,
                subject=subject[:200],
                body=body,
                url=url,
                created_at=now,
            )
    except IntegrityError:
        return Notification.objects.get(recipient=person, event_key=event_key)

    channels = []
    if person.notify_by_email and person.email:
        channels.append(Delivery.Channel.EMAIL)
    if person.slack_webhook_url:
        channels.append(Delivery.Channel.SLACK)
    deliveries = Delivery.objects.bulk_create(
        Delivery(notification=notification, channel=channel) for channel in channels
    )

    for delivery in deliveries:
        transaction.on_commit(lambda pk=delivery.pk: enqueue_delivery(pk))
    return notification


def enqueue_delivery(delivery_id: int) -> None:
    from bowtie.tasks import deliver

    try:
        deliver.delay(delivery_id)
    except Exception:
        # The broker is down: the row stays pending and the outbox sweep sends it.
        logger.warning(
            "delivery %s left for the outbox sweep", delivery_id, exc_info=True
        )


def claim_delivery(delivery_id: int, now) -> bool:
    claimed = Delivery.objects.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
        pk=delivery_id,
        status=Delivery.Status.PENDING,
    ).update(claimed_until=now + CLAIM_LEASE)
    return claimed == 1


def deliver_one(delivery_id: int, now=None) -> str:
    """Send one pending delivery if this worker wins its claim."""
    now = now or timezone.now()
    if not claim_delivery(delivery_id, now):
        return "not claimed"

    delivery = Delivery.objects.select_related("notification__recipient").get(
        pk=delivery_id
    )
    try:
        send_through_channel(delivery)
    except Exception as error:
        return record_failed_attempt(delivery, error, now)

    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.SENT,
        sent_at=timezone.now(),
        attempt_count=delivery.attempt_count + 1,
        last_error="",
    )
    logger.info("delivery %s sent by %s", delivery.pk, delivery.channel)
    return "sent"


def send_through_channel(delivery: Delivery) -> None:
    notification = delivery.notification
    link = settings.BOWTIE_BASE_URL + notification.url if notification.url else ""
    if delivery.channel == Delivery.Channel.EMAIL:
        send_mail(
            subject=notification.subject,
            message=f"{notification.body}\n\n{link}".strip(),
            from_email=None,
            recipient_list=[notification.recipient.email],
        )
        return
    response = httpx.post(
        notification.recipient.slack_webhook_url,
        json={"text": f"*{notification.subject}*\n{notification.body}\n{link}"},
        timeout=10,
    )
    response.raise_for_status()


def record_failed_attempt(delivery: Delivery, error: Exception, now) -> str:
    attempts = delivery.attempt_count + 1
    gave_up = attempts >= MAX_ATTEMPTS
    # Back off exponentially: the claim doubles as the time of the next try.
    retry_at = now + timedelta(seconds=min(3600, 15 * 2**attempts))
    Delivery.objects.filter(pk=delivery.pk).update(
        attempt_count=attempts,
        status=Delivery.Status.FAILED if gave_up else Delivery.Status.PENDING,
        claimed_until=retry_at,
        last_error=str(error)[:2000],
    )
    logger.warning(
        "delivery %s failed (attempt %s)", delivery.pk, attempts, exc_info=True
    )
    return "failed" if gave_up else "retry"


def redeliver_pending(now=None, limit: int = 200) -> int:
    """Send deliveries left pending, oldest first; return how many were sent."""
    now = now or timezone.now()
    stale_before = now - settings.BOWTIE_OUTBOX_RETRY_AFTER
    pending_ids = list(
        Delivery.objects.filter(
            Q(claimed_until__isnull=True, notification__created_at__lt=stale_before)
            | Q(claimed_until__lt=now),
            status=Delivery.Status.PENDING,
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(deliver_one(pk, now) == "sent" for pk in pending_ids)
