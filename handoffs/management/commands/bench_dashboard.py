"""Benchmark the bow-tie dashboard at scale, beside the bare SQL of each page.

A fresh PostgreSQL database, migrated, then two years of data written in
set-based SQL (a million leads and a hundred thousand deals by default) and
analysed. Every dashboard page is then served as a RevOps admin, for the
default filters, a 52-week period and one team, and timed beside the
statements it ran, executed bare on the same connection; then every
registered metric beside its own SQL. The target: each page within 2x.
"""

import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import OperationalError
from django.utils import timezone

from bowtie.models import Person, Team
from handoffs.benchmarks import dashboard, dashboard_data, database

DASHBOARD_DATABASE_NAME = "bowtie_bench_dashboard"
LIMITS = {
    "leads": (1_000, 5_000_000),
    "deals": (100, 1_000_000),
    "runs": (1, 50),
    "warm_ups": (0, 10),
}


class Command(BaseCommand):
    help = (
        "Benchmark the dashboard pages on PostgreSQL with a million leads and "
        "a hundred thousand deals, each against the bare SQL it runs."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--database-url",
            default=None,
            help="PostgreSQL database the bench drops and recreates (default: "
            "the server of DATABASE_URL or 127.0.0.1:5432, database "
            f"{DASHBOARD_DATABASE_NAME}).",
        )
        parser.add_argument("--leads", type=int, default=1_000_000)
        parser.add_argument("--deals", type=int, default=100_000)
        parser.add_argument(
            "--runs", type=int, default=5, help="Timed runs of each page and metric."
        )
        parser.add_argument("--warm-ups", type=int, default=1)
        parser.add_argument(
            "--reuse-data",
            action="store_true",
            help="Measure again the data a previous run left in the database, "
            "without recreating it (to repeat a noisy measurement).",
        )
        parser.add_argument(
            "--report-dir",
            type=Path,
            default=None,
            help="Where dashboard.json and dashboard.md go (default: "
            "the data directory's bench_dashboard folder).",
        )

    def handle(self, *args, **options):
        for name, (low, high) in LIMITS.items():
            if not low <= options[name] <= high:
                raise CommandError(
                    f"--{name.replace('_', '-')} must be from {low:,} to {high:,}."
                )
        url = options["database_url"] or database.default_database_url(
            DASHBOARD_DATABASE_NAME
        )
        database.check_is_not_the_portal_database(url)

        if options["reuse_data"]:
            generated, generation_seconds = self.reuse(url)
        else:
            generated, generation_seconds = self.generate(url, options)

        team = Team.objects.get(name=dashboard_data.SALES_TEAMS[0][0])
        report = dashboard.measure(
            dashboard_data.admin_person(),
            team,
            runs=options["runs"],
            warm_ups=options["warm_ups"],
            scale={"leads": generated["leads"], "deals": generated["deals"]},
            generated=generated,
            generation_seconds=generation_seconds,
            say=self.say,
        )

        self.say("")
        self.say(dashboard.render_text(report))
        directory = options["report_dir"] or Path(settings.DATA_DIR) / "bench_dashboard"
        as_json, as_markdown = dashboard.write_report(report, directory)
        self.say(f"\nReport: {as_json} and {as_markdown}")

    def generate(self, url: str, options) -> tuple[dict, float]:
        self.say(f"Database {database.describe(url)}: recreating, migrating.")
        database.recreate_database(url)
        database.use_database(url)
        call_command("migrate", verbosity=0)

        scale = dashboard_data.Scale(options["leads"], options["deals"])
        self.say(
            f"Generating {scale.leads:,} leads and {scale.deals:,} deals over "
            f"{dashboard_data.SPAN_DAYS} days."
        )
        started = time.perf_counter()
        generated = dashboard_data.generate(scale, timezone.now(), self.say)
        return generated, time.perf_counter() - started

    def reuse(self, url: str) -> tuple[dict, None]:
        """The data of an earlier run, with any migration since applied."""
        self.say(f"Database {database.describe(url)}: reusing its data, migrating.")
        database.use_database(url)
        try:
            call_command("migrate", verbosity=0)
            dashboard_data.admin_person()
        except (OperationalError, Person.DoesNotExist):
            raise CommandError(
                f"{database.describe(url)} holds no bench data: run once "
                "without --reuse-data."
            ) from None
        # The data stays as of its generation: periods ending today reach
        # past its newest rows by the time since then.
        return dashboard_data.generated_counts(), None

    def say(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()
