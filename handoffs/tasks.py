"""Beat jobs of the handoffs app."""

from celery import shared_task
from django.utils import timezone

from bowtie.heartbeats import beat_job
from handoffs import compliance, escalation, quality


@shared_task(ignore_result=True)
@beat_job("sweep-clocks")
def sweep_clocks() -> dict:
    return escalation.sweep(timezone.now())


@shared_task(ignore_result=True)
@beat_job("weekly-compliance-reports")
def send_weekly_compliance_reports() -> dict:
    now = timezone.now()
    return {
        "compliance": compliance.send_weekly_compliance_reports(now),
        "handoff_reviews": quality.send_weekly_quality_reviews(now),
    }
