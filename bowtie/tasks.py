"""Background jobs of the core: deliver notifications, sweep the outbox."""

from celery import shared_task

from bowtie import notifications


@shared_task(ignore_result=True)
def deliver(delivery_id: int) -> str:
    return notifications.deliver_one(delivery_id)


@shared_task(ignore_result=True)
def redeliver_outbox() -> int:
    return notifications.redeliver_pending()
