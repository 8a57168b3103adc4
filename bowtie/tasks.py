"""Background jobs of the core: deliver notifications, sweep the outbox."""

from celery import shared_task

from bowtie import heartbeats, notifications
from bowtie.heartbeats import beat_job


@shared_task(ignore_result=True)
def deliver(delivery_id: int) -> str:
    return notifications.deliver_one(delivery_id)


@shared_task(ignore_result=True)
@beat_job("redeliver-outbox")
def redeliver_outbox() -> int:
    return notifications.redeliver_pending()


@shared_task(ignore_result=True)
@beat_job("watch-heartbeats")
def watch_heartbeats() -> dict:
    return heartbeats.alert_on_missed_heartbeats()
