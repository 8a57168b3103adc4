"""The sweeper benchmark runs end to end on a small workspace.

A smoke test, not a measurement: it keeps `make bench` from rotting, and
checks that its exactly-once check and lag report come out.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_bench_sweeper_acts_on_every_due_clock_exactly_once():
    if connection.vendor != "postgresql" or not settings.CELERY_BROKER_URL.startswith(
        "redis://"
    ):
        pytest.skip("the sweeper bench needs PostgreSQL and Redis")

    run = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "bench_sweeper",
            "--milestones",
            "300",
            "--due",
            "40",
            "--spread",
            "1",
            "--interval",
            "0.5",
        ],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert run.returncode == 0, run.stderr
    assert "Each run acted on all 40 due clocks exactly once." in run.stdout
    assert "acted on 40 of 40; 0 early." in run.stdout
