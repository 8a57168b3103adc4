"""Background jobs of the core: deliver notifications and webhooks, sweep both.

Also the hourly leading indicators and clean-up of idempotency keys past
their lifetime.
"""

from datetime import datetime

from celery import shared_task
from django.utils import timezone

from bowtie import heartbeats, indicators, notifications, webhooks
from bowtie.api import idempotency
from bowtie.heartbeats import beat_job


@shared_task(ignore_result=True)
def deliver(delivery_id: int) -> str:
    return notifications.deliver_one(delivery_id)


@shared_task(ignore_result=True)
@beat_job("redeliver-outbox")
def redeliver_outbox() -> int:
    return notifications.redeliver_pending()


# Limits below the send lease (bowtie.webhooks.SEND_LEASE): an attempt that
# a slow receiver holds ends before another worker may take the delivery.
@shared_task(ignore_result=True, soft_time_limit=60, time_limit=90)
def deliver_webhook(delivery_id: int, due_at: str | None = None) -> str:
    attempt = datetime.fromisoformat(due_at) if due_at else None
    return webhooks.deliver(delivery_id, timezone.now(), attempt)


@shared_task(ignore_result=True)
@beat_job("send-due-webhooks")
def send_due_webhooks() -> int:
    return webhooks.send_due(timezone.now())


@shared_task(ignore_result=True)
@beat_job("watch-heartbeats")
def watch_heartbeats() -> dict:
    return heartbeats.alert_on_missed_heartbeats()


@shared_task(ignore_result=True)
@beat_job("evaluate-indicators")
def evaluate_indicators() -> dict:
    return indicators.evaluate_indicators(timezone.now())


@shared_task(ignore_result=True)
@beat_job("delete-expired-idempotency-keys")
def delete_expired_idempotency_keys() -> int:
    return idempotency.delete_expired_keys(timezone.now())
