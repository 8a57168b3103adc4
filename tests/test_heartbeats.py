"""Heartbeats of the scheduled jobs, the status page and the alerts."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.core.management import CommandError, call_command
from django.urls import reverse

from bowtie import heartbeats
from bowtie.heartbeats import beat_job, job_statuses
from bowtie.models import JobHeartbeat, Notification
from tests.factories import PersonFactory

NOW = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)


def state_of(name, now) -> str:
    return next(job for job in job_statuses(now) if job.name == name).state


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def test_a_run_records_its_start_end_and_result(db, frozen):
    @beat_job("sweep-clocks")
    def job():
        return {"breaches": 2, "steps": 3}

    job()

    beat = JobHeartbeat.objects.get(name="sweep-clocks")
    assert (beat.last_started_at, beat.last_succeeded_at) == (NOW, NOW)
    assert beat.expected_every_seconds == 5
    assert beat.last_result == "{'breaches': 2, 'steps': 3}"
    assert beat.run_count == 1
    assert state_of("sweep-clocks", NOW) == "ok"


def test_a_failed_run_shows_as_failing_and_the_error_is_kept(db, frozen):
    @beat_job("sweep-clocks")
    def job():
        raise ConnectionError("db down")

    with pytest.raises(ConnectionError):
        job()

    beat = JobHeartbeat.objects.get(name="sweep-clocks")
    assert beat.last_error == "ConnectionError"
    assert state_of("sweep-clocks", NOW) == "failing"


def test_a_job_is_late_after_three_missed_runs_and_at_least_a_minute(db, frozen):
    beat_job("sweep-clocks")(lambda: None)()

    assert state_of("sweep-clocks", NOW + timedelta(seconds=60)) == "ok"
    assert state_of("sweep-clocks", NOW + timedelta(seconds=66)) == "late"


def test_a_job_that_never_ran_is_late_once_the_others_have_long_been_running(
    db, frozen
):
    beat_job("sweep-clocks")(lambda: None)()

    assert state_of("redeliver-outbox", NOW + timedelta(minutes=1)) == "waiting"
    assert state_of("redeliver-outbox", NOW + timedelta(minutes=10)) == "late"


def test_revops_is_told_once_when_a_job_stops_and_once_when_it_is_back(db, frozen):
    admin = PersonFactory(role="revops_admin")
    others = (
        "redeliver-outbox",
        "send-due-webhooks",
        "watch-heartbeats",
        "send-pending-partner-invitations",
    )
    for name in ("sweep-clocks", *others):
        beat_job(name)(lambda: None)()

    frozen.move_to(NOW + timedelta(minutes=5))
    for name in others:
        beat_job(name)(lambda: None)()
    first = heartbeats.alert_on_missed_heartbeats()
    again = heartbeats.alert_on_missed_heartbeats()
    beat_job("sweep-clocks")(lambda: None)()
    back = heartbeats.alert_on_missed_heartbeats()

    assert (first, again, back) == (
        {"raised": 1, "resolved": 0},
        {"raised": 0, "resolved": 0},
        {"raised": 0, "resolved": 1},
    )
    assert list(
        Notification.objects.filter(recipient=admin)
        .order_by("pk")
        .values_list("subject", flat=True)
    ) == [
        "Scheduled job sweep-clocks is late",
        "Scheduled job sweep-clocks is running again",
    ]


def test_check_heartbeats_exits_with_an_error_naming_the_late_jobs(db, frozen):
    others = (
        "redeliver-outbox",
        "send-due-webhooks",
        "watch-heartbeats",
        "send-pending-partner-invitations",
    )
    for name in ("sweep-clocks", *others):
        beat_job(name)(lambda: None)()
    call_command("check_heartbeats")

    frozen.move_to(NOW + timedelta(minutes=3))
    for name in others:
        beat_job(name)(lambda: None)()

    with pytest.raises(CommandError) as late:
        call_command("check_heartbeats")
    assert str(late.value) == "Not on schedule: sweep-clocks."


def test_status_page_shows_each_job_to_revops_only(client, db, frozen):
    beat_job("sweep-clocks")(lambda: None)()
    revops = PersonFactory(role="revops_admin")
    rep = PersonFactory(role="sdr")

    client.force_login(rep.user)
    refused = client.get(reverse("status"))
    client.force_login(revops.user)
    page = client.get(reverse("status"))

    assert refused.status_code == 403
    assert page.status_code == 200
    text = page.content.decode()
    assert "sweep-clocks" in text and "Running on schedule." in text
    assert "redeliver-outbox" in text and "Not run yet." in text


def test_status_json_answers_503_when_a_job_is_late(client, db, frozen):
    for name in settings.CELERY_BEAT_SCHEDULE:
        beat_job(name)(lambda: None)()
    healthy = client.get(reverse("status-json"))

    frozen.move_to(NOW + timedelta(hours=1))
    late = client.get(reverse("status-json"))

    assert healthy.status_code == 200
    assert healthy.json()["healthy"] is True
    assert late.status_code == 503
    assert {job["name"]: job["state"] for job in late.json()["jobs"]} == {
        "sweep-clocks": "late",
        "redeliver-outbox": "late",
        "send-due-webhooks": "late",
        "watch-heartbeats": "late",
        "send-pending-partner-invitations": "late",
        # Hourly: an hour late is within its grace.
        "weekly-compliance-reports": "ok",
        "weekly-operating-reviews": "ok",
        "evaluate-indicators": "ok",
        "delete-expired-idempotency-keys": "ok",
        "sweep-hypercare": "ok",
        "sweep-renewal-actions": "ok",
        "evaluate-signal-rules": "ok",
        "score-health": "ok",
    }
