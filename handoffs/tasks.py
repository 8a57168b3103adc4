"""Beat jobs of the handoffs app."""

from celery import shared_task
from django.utils import timezone

from bowtie.heartbeats import beat_job
from handoffs import compliance, escalation, operating_review


@shared_task(ignore_result=True)
@beat_job("sweep-clocks")
def sweep_clocks() -> dict:
    return escalation.sweep(timezone.now())


@shared_task(ignore_result=True)
@beat_job("weekly-compliance-reports")
def send_weekly_compliance_reports() -> dict:
    return compliance.send_weekly_compliance_reports(timezone.now())


@shared_task(ignore_result=True)
@beat_job("weekly-operating-reviews")
def send_weekly_operating_reviews() -> dict:
    return operating_review.send_weekly_operating_reviews(timezone.now())
