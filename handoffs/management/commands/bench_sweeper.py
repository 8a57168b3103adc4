"""Benchmark the clock sweeper beside a bare indexed SELECT of the same rows.

A fresh PostgreSQL database with a million running milestones, ten thousand
of them due. Three measurements, in this process, in one run:

1. the bare SELECT that finds the due rows (the baseline);
2. sweeps that act on every due clock, by one sweeper and by two at once,
   checked to act exactly once;
3. detection lag: the sweeper runs every interval while clocks run out one
   after another, and each breach's lag from its due time is measured.
"""

import logging
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from bowtie.celery import celery_app
from handoffs.benchmarks import database, sweeper
from handoffs.benchmarks.processes import check_redis
from handoffs.management.commands.bench import default_redis_url

SWEEPER_DATABASE_NAME = "bowtie_bench_sweeper"
# A clock due just after one sweep started waits for the next beat: the lag
# then is the interval plus however late that beat's timer went off.
BEAT_JITTER_MS = 50


class Command(BaseCommand):
    help = (
        "Benchmark the SLA sweeper on PostgreSQL: a million running milestones, "
        "ten thousand due, against a bare indexed SELECT of the due rows."
    )

    def add_arguments(self, parser):
        parser.add_argument("--database-url", default=None)
        parser.add_argument("--redis-url", default=None)
        parser.add_argument("--milestones", type=int, default=1_000_000)
        parser.add_argument("--due", type=int, default=10_000)
        parser.add_argument(
            "--interval",
            type=float,
            default=settings.BOWTIE_SWEEP_INTERVAL.total_seconds(),
            help="Seconds between sweeps in the lag run (default: the setting).",
        )
        parser.add_argument(
            "--spread",
            type=float,
            default=60.0,
            help="Seconds over which the due clocks run out in the lag run.",
        )

    def handle(self, *args, **options):
        if not 1 <= options["due"] <= options["milestones"] <= 5_000_000:
            raise CommandError("Give 1 <= --due <= --milestones <= 5,000,000.")
        if not 0.5 <= options["interval"] <= 60:
            raise CommandError("--interval must be from 0.5 to 60 seconds.")
        # Every breach logs a line; a million would drown the table.
        logging.getLogger("handoffs").setLevel(logging.WARNING)
        logging.getLogger("bowtie").setLevel(logging.WARNING)

        url = options["database_url"] or database.default_database_url(
            SWEEPER_DATABASE_NAME
        )
        redis_url = options["redis_url"] or default_redis_url()
        database.check_is_not_the_portal_database(url)
        check_redis(redis_url)
        # The breach notices publish their deliveries as a real sweep does, to
        # the bench's own Redis database, where no worker takes them.
        celery_app.conf.update(broker_url=redis_url, task_always_eager=False)

        self.say(f"Database {database.describe(url)}: recreating, migrating.")
        database.recreate_database(url)
        database.use_database(url)
        call_command("migrate", verbosity=0)

        total, due = options["milestones"], options["due"]
        now = timezone.now()
        self.say(f"Seeding {total:,} running milestones, {due:,} of them due.")
        started = time.perf_counter()
        sweeper.seed(total, due, now)
        self.say(f"Seeded in {time.perf_counter() - started:.1f} s.")

        try:
            self.measure(options, now, total, due)
        finally:
            self.purge_broker()

    def measure(self, options, now, total, due):
        bare = sweeper.bare_select_seconds(now, due)
        single = sweeper.catch_up("sweep, one sweeper", now, sweepers=1)
        self.check_exactly_once(due)
        sweeper.reset_due(now, due)
        double = sweeper.catch_up("sweep, two sweepers at once", now, sweepers=2)
        self.check_exactly_once(due)

        self.say("")
        self.say(f"Sweeper on PostgreSQL: {total:,} running milestones, {due:,} due")
        self.say(f"{'':34} {'seconds':>9} {'clocks/s':>10} {'x bare SELECT':>14}")
        self.say(
            f"{'bare indexed SELECT of due rows':34} {bare:9.3f} "
            f"{due / bare:10,.0f} {1:14.1f}"
        )
        for run in (single, double):
            self.say(
                f"{run.label:34} {run.seconds:9.3f} {run.per_second:10,.0f} "
                f"{run.seconds / bare:14.1f}"
            )
        self.say(f"Each run acted on all {due:,} due clocks exactly once.")

        interval, spread = options["interval"], options["spread"]
        self.say("")
        self.say(
            f"Detection lag: {due:,} clocks running out over {spread:g} s, "
            f"a sweep every {interval:g} s."
        )
        lag = sweeper.detection_lag(due, spread, interval)
        self.say(f"acted on {lag.acted:,} of {due:,}; {lag.early} early.")
        for name, spread_ms in (
            ("due -> sweep that took it", lag.fired),
            ("due -> breach and notice committed", lag.written),
        ):
            self.say(
                f"{name:36} p50 {spread_ms.p50_ms:7,.0f} ms   "
                f"p99 {spread_ms.p99_ms:7,.0f} ms   max {spread_ms.max_ms:7,.0f} ms"
            )
        is_met = (
            lag.acted == due
            and not lag.early
            and lag.fired.max_ms <= interval * 1000 + BEAT_JITTER_MS
        )
        self.say(
            f"Target: never early, taken by a sweep at most one interval "
            f"({interval:g} s, give or take {BEAT_JITTER_MS} ms of the beat's own "
            f"timing) after the due time: {'met' if is_met else 'MISSED'}."
        )

    def check_exactly_once(self, due: int) -> None:
        breaches, notices = sweeper.breach_and_notification_counts()
        if (breaches, notices) != (due, due):
            raise CommandError(
                f"Expected {due} breaches and notices, found {breaches} and {notices}."
            )

    def purge_broker(self) -> None:
        with celery_app.connection_for_write() as broker:
            broker.default_channel.queue_purge("celery")

    def say(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()
