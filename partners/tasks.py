"""Beat jobs of the partners app."""

from celery import shared_task
from django.utils import timezone

from bowtie.heartbeats import beat_job
from partners import handover, health, invitations


# Several runs a day score the same day again, which only rewrites its row:
# a run missed while the scheduler was down is made up within hours.
@shared_task(ignore_result=True)
@beat_job("score-health")
def score_health() -> dict:
    now = timezone.now()
    return health.score_all_health(timezone.localdate(now), now)


@shared_task(ignore_result=True)
def send_partner_invitation(invitation_id: int) -> str:
    return invitations.send_invitation(invitation_id, timezone.now())


# Invitations a crashed worker or an unreachable broker left pending.
@shared_task(ignore_result=True)
@beat_job("send-pending-partner-invitations")
def send_pending_partner_invitations() -> int:
    return invitations.send_pending_invitations(timezone.now())


# Hypercare ends on a day: an hourly sweep hands an account over within the
# hour its end day begins, and tells of an incomplete packet once.
@shared_task(ignore_result=True)
@beat_job("sweep-hypercare")
def sweep_hypercare() -> dict:
    return handover.sweep_hypercare(timezone.now())
