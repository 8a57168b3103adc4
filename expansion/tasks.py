"""Beat jobs of the expansion app."""

from celery import shared_task
from django.utils import timezone

from bowtie.heartbeats import beat_job
from expansion import renewal_actions, rules


# Renewal actions are due on a day: hourly fires each within the hour its
# day begins, and a run after downtime catches up. Each action is claimed
# with a skipped lock and fires once.
@shared_task(ignore_result=True)
@beat_job("sweep-renewal-actions")
def sweep_renewal_actions() -> dict:
    return renewal_actions.sweep_renewal_actions(timezone.now())


# The rules read usage as of a day: every six hours evaluates today within
# hours of an import, and a run missed while the scheduler was down is made
# up the same day. A second run raises nothing new (one open signal a kind).
@shared_task(ignore_result=True)
@beat_job("evaluate-signal-rules")
def evaluate_signal_rules() -> dict:
    return rules.evaluate_signal_rules(now=timezone.now())
