"""The dashboard bench writes its data and times every page, at a tiny scale.

Smoke tests, not measurements: they keep `make bench` from rotting. The data
is drawn from hashes of row numbers at a frozen time, so its counts are exact;
the timings are only checked to have been taken.
"""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest
import time_machine
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from bowtie import measurement
from bowtie.models import Team
from handoffs.benchmarks import dashboard, dashboard_data
from handoffs.models import Handoff, Lead

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
SCALE = dashboard_data.Scale(leads=2_000, deals=200)


def skip_unless_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("the dashboard bench writes its data with PostgreSQL's SQL")


@pytest.mark.django_db
def test_bench_data_has_every_row_asked_for_and_what_hangs_off_them():
    skip_unless_postgresql()
    said = []

    with time_machine.travel(NOW, tick=False):
        counts = dashboard_data.generate(SCALE, timezone.now(), said.append)

    assert {
        name: counts[name]
        for name in (
            "teams",
            "accounts",
            "leads",
            "historical_leads",
            "lead_to_sales_handoffs",
            "first_response_milestones",
            "deals",
            "new_business_deals",
            "won_new_business_deals",
            "renewal_deals",
            "expansion_deals",
            "sales_to_implementation_handoffs",
            "cs_to_sales_handoffs",
            "signals",
            "subscriptions",
        )
    } == {
        "teams": 12,
        "accounts": 40,
        "leads": 2_000,
        "historical_leads": 40,
        "lead_to_sales_handoffs": 1_960,
        "first_response_milestones": 1_960,
        "deals": 200,
        "new_business_deals": 120,
        "won_new_business_deals": 33,
        "renewal_deals": 33,
        "expansion_deals": 47,
        "sales_to_implementation_handoffs": 33,
        "cs_to_sales_handoffs": 47,
        "signals": 47,
        "subscriptions": 33,
    }
    assert (
        counts["engagements"]
        == Handoff.objects.filter(
            kind=Handoff.Kind.SALES_TO_IMPLEMENTATION, accepted_at__isnull=False
        ).count()
    )
    assert counts["implementation_milestones"] == 4 * counts["engagements"]
    assert counts["readiness_conditions"] == 5 * counts["engagements"]
    assert not Lead.objects.filter(is_historical=False, handoffs__isnull=True).exists()
    assert said[-1].startswith("Generated in ")


@pytest.mark.django_db
def test_bench_report_has_a_timed_row_per_page_and_per_metric():
    skip_unless_postgresql()
    with time_machine.travel(NOW, tick=True):
        counts = dashboard_data.generate(SCALE, timezone.now(), lambda text: None)
        team = Team.objects.get(name=dashboard_data.SALES_TEAMS[0][0])

        report = dashboard.measure(
            dashboard_data.admin_person(),
            team,
            runs=1,
            warm_ups=0,
            scale={"leads": SCALE.leads, "deals": SCALE.deals},
            generated=counts,
        )

    rows = [(page.subject, page.filters) for page in report.pages]
    assert rows == [
        (path, filters)
        for path in [
            "/dashboard/",
            "/dashboard/lead_to_sales/",
            "/dashboard/sales_to_implementation/",
            "/dashboard/implementation_to_cs/",
            "/dashboard/cs_to_sales/",
        ]
        for filters in [
            "default (13 weeks)",
            "52 weeks",
            "52 weeks, Inbound DACH",
        ]
    ]
    assert [(metric.subject, metric.filters) for metric in report.metrics] == [
        (metric.key, filters.label)
        for filters in dashboard.filter_variants(team)
        for metric in measurement.metrics()
    ]
    for row in [*report.pages, *report.metrics]:
        assert row.error == ""
        assert row.query_count > 0
        assert len(row.served_ms) == len(row.sql_ms) == 1
        assert row.served_median > 0
        assert row.sql_median > 0


def test_bench_command_refuses_sqlite_with_the_reason():
    with pytest.raises(CommandError) as refusal:
        call_command("bench_dashboard", "--database-url", "sqlite:///bench.sqlite3")

    assert str(refusal.value) == "The bench needs PostgreSQL, not sqlite."


@pytest.mark.django_db
def test_bench_generator_refuses_sqlite_with_the_reason():
    if connection.vendor != "sqlite":
        pytest.skip("this is what SQLite gets")

    with pytest.raises(ImproperlyConfigured) as refusal:
        dashboard_data.generate(SCALE, NOW, lambda text: None)

    assert str(refusal.value) == (
        "The dashboard bench generates its data with PostgreSQL's "
        "generate_series and hash functions; this database is sqlite."
    )


def test_bench_insert_names_the_column_it_cannot_fill():
    with pytest.raises(ImproperlyConfigured) as refusal:
        dashboard_data.insert_select(
            None, Lead, {"email": "'a@example.com'"}, "FROM nowhere", {}
        )

    assert str(refusal.value) == (
        "handoffs.Lead.received_at has no default: the dashboard bench must give "
        "it a value."
    )


@pytest.mark.django_db
def test_bench_command_writes_its_report_with_a_row_per_page(tmp_path):
    skip_unless_postgresql()
    # A database of its own beside the test database, which it drops first.
    server = connection.settings_dict
    credentials = quote(server["USER"] or "postgres") + (
        f":{quote(server['PASSWORD'])}" if server["PASSWORD"] else ""
    )
    url = (
        f"postgres://{credentials}@{server['HOST'] or '127.0.0.1'}:"
        f"{server['PORT'] or 5432}/{server['NAME']}_dashboard"
    )

    run = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "bench_dashboard",
            "--database-url",
            url,
            "--leads",
            "1000",
            "--deals",
            "100",
            "--runs",
            "1",
            "--warm-ups",
            "0",
            "--report-dir",
            str(tmp_path),
        ],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=600,
    )

    assert run.returncode == 0, run.stderr
    written = json.loads((tmp_path / "dashboard.json").read_text())
    assert written["scale"] == {"leads": 1000, "deals": 100}
    assert written["generated"]["leads"] == 1000
    assert len(written["pages"]) == 15
    assert all(page["served_median_ms"] > 0 for page in written["pages"])
    assert "| /dashboard/ | default (13 weeks) |" in (
        (tmp_path / "dashboard.md").read_text()
    )
