"""Beat jobs of the handoffs app."""

from celery import shared_task
from django.utils import timezone

from handoffs import clocks


@shared_task(ignore_result=True)
def sweep_clocks() -> int:
    return clocks.sweep_due_milestones(timezone.now())
