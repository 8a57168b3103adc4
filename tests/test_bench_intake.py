"""The intake benchmark: its endpoints, its rounds, and a small run end to end.

The run is a smoke test, not a measurement: it keeps `make bench` from
rotting, and it is the one test where the outbox relay sends e-mails from a
real Celery worker, woken by a real trigger, for leads taken in by gunicorn.
"""

import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIRequestFactory

from bowtie.environment import load_environment
from bowtie.models import Delivery, Notification
from bowtie.services import issue_api_token
from handoffs.benchmarks import views, workspace
from handoffs.benchmarks.load import LoadResult, Sample, combined
from handoffs.models import Handoff, LadderStep, Lead, Milestone, RoutingDecision, Touch
from handoffs.services import intake_lead

ROOT = Path(__file__).resolve().parent.parent


def rows_of_one_lead() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (
            Lead,
            RoutingDecision,
            Touch,
            Handoff,
            Milestone,
            LadderStep,
            Notification,
            Delivery,
        )
    } | {
        f"history of {model.__name__}": model.history.count()
        for model in (Lead, Handoff, Milestone)
    }


@pytest.mark.django_db
def test_the_stored_rows_endpoint_writes_what_intake_writes_for_a_lead():
    key = workspace.seed_workspace(rep_count=2)
    forget_earlier_workspaces()
    submission = workspace.lead_submission("run", "rows", 0)
    request = APIRequestFactory().post(
        "/api/benchmark/rows",
        submission,
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )

    response = views.StoredRowsView.as_view()(request)
    stored = rows_of_one_lead()
    intake_lead(submission | {"email": "another@example.org"}, channel="api")
    taken_in = {
        table: count - stored[table] for table, count in rows_of_one_lead().items()
    }

    assert response.status_code == 201
    assert submission["form_type"] == "demo_request"
    assert stored == taken_in
    assert stored["LadderStep"] > 0
    assert set(Delivery.objects.values_list("channel", flat=True)) == {"email"}


@pytest.mark.django_db
def test_only_the_bench_token_may_call_the_bench_endpoints():
    workspace.seed_workspace(rep_count=1)
    forget_earlier_workspaces()
    _, other_key = issue_api_token("Website", ["leads:write"])

    answers = [
        view.as_view()(
            APIRequestFactory().post(
                "/api/benchmark",
                workspace.lead_submission("run", "other", 0),
                format="json",
                HTTP_AUTHORIZATION=f"Bearer {other_key}",
            )
        )
        for view in (views.BaselineView, views.StoredRowsView)
    ]

    assert [answer.status_code for answer in answers] == [403, 403]
    assert answers[0].data == {"detail": "Only the bench's own token may call this."}
    assert not Lead.objects.exists()
    assert not Notification.objects.exists()


def forget_earlier_workspaces():
    # Read once a process: this test's workspace, not an earlier test's.
    views.bench_team.cache_clear()
    views.load_generator_id.cache_clear()


def test_rounds_count_as_one_run():
    first = LoadResult([Sample(0, 201, 0.010, 0.0), Sample(1, 500, 0.5, 0.0)], 2.0)
    second = LoadResult([Sample(0, 201, 0.030, 0.0)], 1.0, most_behind_seconds=0.2)

    both = combined([first, second])

    assert both.throughput() == 2 / 3
    assert both.latency_ms(100) == 30.0
    assert both.most_behind_seconds == 0.2


@pytest.mark.django_db
def test_bench_takes_leads_in_and_the_relay_sends_every_e_mail():
    if connection.vendor != "postgresql" or not settings.CELERY_BROKER_URL.startswith(
        "redis://"
    ):
        pytest.skip("the intake bench needs PostgreSQL and Redis")
    # The test database's server, a database of the bench's own on it.
    server = urlsplit(load_environment().database_url)
    bench_database = urlunsplit(server._replace(path="/bowtie_bench_smoke"))

    run = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "bench",
            "--database-url",
            bench_database,
            "--redis-url",
            settings.CELERY_BROKER_URL.rsplit("/", 1)[0] + "/14",
            "--port",
            "8791",
            "--requests",
            "40",
            "--rounds",
            "2",
            "--clients",
            "4",
            "--rate",
            "20",
            "--duration",
            "2",
        ],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert run.returncode == 0, run.stderr
    for endpoint in ("baseline", "stored rows", "intake"):
        assert re.search(rf"^{endpoint} +\d+\.\d", run.stdout, re.MULTILINE)
    assert "intake/baseline" in run.stdout
    assert "40 leads, 40 notifications, 0 e-mails not sent." in run.stdout
