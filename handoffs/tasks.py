"""Beat jobs of the handoffs app."""

from celery import shared_task
from django.utils import timezone

from bowtie.heartbeats import beat_job
from handoffs import escalation


@shared_task(ignore_result=True)
@beat_job("sweep-clocks")
def sweep_clocks() -> dict:
    return escalation.sweep(timezone.now())
