"""Heartbeats of the scheduled jobs, their status, and alerts when one stops.

Every beat job runs inside `beat_job`, which records its start and its end.
The status is worked out when it is read, from the schedule in settings, so a
job that never runs again still shows as late even though nothing writes.
"""

import functools
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from bowtie.models import JobHeartbeat, Person, Topic
from bowtie.notifications import notify

logger = logging.getLogger(__name__)

# A job is late once it missed this many runs in a row, and never sooner than
# the grace below: a sweep every 5 s that is 6 s late is a hiccup, not news.
MISSED_RUNS_BEFORE_LATE = 3
MINIMUM_GRACE = timedelta(minutes=1)


def expected_interval(name: str) -> timedelta:
    schedule = settings.CELERY_BEAT_SCHEDULE[name]["schedule"]
    if isinstance(schedule, timedelta):
        return schedule
    if isinstance(schedule, int | float):
        return timedelta(seconds=schedule)
    # A crontab: the gap between two of its runs.
    now = timezone.now()
    first = now + schedule.remaining_estimate(now)
    second = first + schedule.remaining_estimate(first + timedelta(seconds=1))
    return max(second - first, timedelta(seconds=1))


def beat_job(name: str):
    """Record the heartbeat of a scheduled job around each run."""

    def decorate(job):
        @functools.wraps(job)
        def run(*args, **kwargs):
            every = expected_interval(name)
            JobHeartbeat.objects.update_or_create(
                name=name,
                defaults={
                    "last_started_at": timezone.now(),
                    "expected_every_seconds": max(1, int(every.total_seconds())),
                },
            )
            try:
                result = job(*args, **kwargs)
            except Exception as error:
                JobHeartbeat.objects.filter(name=name).update(
                    last_finished_at=timezone.now(),
                    last_error=type(error).__name__,
                    run_count=F("run_count") + 1,
                )
                raise
            finished = timezone.now()
            JobHeartbeat.objects.filter(name=name).update(
                last_finished_at=finished,
                last_succeeded_at=finished,
                last_error="",
                last_result=str(result)[:200],
                run_count=F("run_count") + 1,
            )
            return result

        return run

    return decorate


@dataclass
class JobStatus:
    name: str
    every: timedelta
    heartbeat: JobHeartbeat | None
    state: str  # "ok", "late", "failing" or "waiting"
    explanation: str

    @property
    def is_healthy(self) -> bool:
        return self.state in ("ok", "waiting")


def grace_for(every: timedelta) -> timedelta:
    return max(every * MISSED_RUNS_BEFORE_LATE, every + MINIMUM_GRACE)


def job_statuses(now: datetime | None = None) -> list[JobStatus]:
    """Every scheduled job with its state, in the schedule's order."""
    now = now or timezone.now()
    beats = {beat.name: beat for beat in JobHeartbeat.objects.all()}
    # A job with no heartbeat yet is late only once the scheduler has been
    # running long enough for it to have run: the oldest heartbeat tells.
    scheduler_since = min(
        (beat.last_started_at for beat in beats.values() if beat.last_started_at),
        default=None,
    )
    statuses = []
    for name in settings.CELERY_BEAT_SCHEDULE:
        every = expected_interval(name)
        statuses.append(status_of(name, every, beats.get(name), scheduler_since, now))
    return statuses


def status_of(name, every, beat, scheduler_since, now) -> JobStatus:
    grace = grace_for(every)
    if beat is None or beat.last_started_at is None:
        if scheduler_since is not None and now - scheduler_since > grace:
            return JobStatus(name, every, beat, "late", "Has never run.")
        return JobStatus(name, every, beat, "waiting", "Not run yet.")

    last_success = beat.last_succeeded_at
    if beat.last_error and (
        last_success is None or beat.last_finished_at > last_success
    ):
        return JobStatus(
            name, every, beat, "failing", f"Last run failed: {beat.last_error}."
        )
    reference = last_success or beat.last_started_at
    if now - reference > grace:
        minutes = int((now - reference).total_seconds() // 60)
        return JobStatus(
            name, every, beat, "late", f"No successful run for {minutes} min."
        )
    return JobStatus(name, every, beat, "ok", "Running on schedule.")


def alert_on_missed_heartbeats(now: datetime | None = None) -> dict:
    """Tell RevOps once when a job goes late or failing, and once when it is back.

    This runs as a beat job itself, so it cannot report a dead scheduler: the
    status page and `check_heartbeats` (for an outside monitor) do that.
    """
    now = now or timezone.now()
    admins = list(Person.objects.filter(role=Person.Role.REVOPS_ADMIN, is_active=True))
    counts = {"raised": 0, "resolved": 0}
    for status in job_statuses(now):
        beat = status.heartbeat
        if not status.is_healthy and (beat is None or beat.alerted_since is None):
            if beat is None:
                beat, _ = JobHeartbeat.objects.get_or_create(
                    name=status.name,
                    defaults={
                        "expected_every_seconds": int(status.every.total_seconds())
                    },
                )
            beat.alerted_since = now
            beat.save(update_fields=["alerted_since"])
            tell(admins, status, beat, "down", now)
            counts["raised"] += 1
        elif status.is_healthy and beat is not None and beat.alerted_since:
            tell(admins, status, beat, "back", now)
            beat.alerted_since = None
            beat.save(update_fields=["alerted_since"])
            counts["resolved"] += 1
    return counts


def tell(admins, status: JobStatus, beat: JobHeartbeat, what: str, now) -> None:
    episode = int(beat.alerted_since.timestamp())
    if what == "down":
        subject = f"Scheduled job {status.name} is {status.state}"
        body = f"{status.explanation} It should run every {status.every}."
    else:
        subject = f"Scheduled job {status.name} is running again"
        body = "Its heartbeat is back on schedule."
    for admin in admins:
        notify(
            admin,
            event_key=f"heartbeat:{status.name}:{episode}:{what}",
            topic=Topic.SYSTEM,
            subject=subject,
            body=body,
            url=reverse("status"),
            now=now,
        )
    logger.warning("%s: %s", subject, body)
