"""Benchmark lead intake over HTTP, side by side with a one-row baseline.

A fresh PostgreSQL database, gunicorn and a Celery worker on Redis, both
endpoints served by the same processes with the same settings. For each: the
throughput of a closed loop of clients, then the latency at a steady rate;
for intake also the time until the owner's e-mail is delivered.
"""

import asyncio
import logging
import os
import secrets
import shutil
import signal
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from bowtie.environment import load_environment
from handoffs.benchmarks import database, load, report, workspace
from handoffs.benchmarks.processes import (
    ProcessGroup,
    check_port_is_free,
    check_redis,
    cpu_seconds_between,
    cpu_table,
    log_tail,
    machine_busy_seconds,
    tree_cpu_seconds,
)

HOST = "127.0.0.1"
INTAKE_PATH = "/api/leads"
BASELINE_PATH = "/api/benchmark/baseline"
STORED_ROWS_PATH = "/api/benchmark/rows"
# A Redis database of its own, so a portal worker on the same server never
# takes the bench's tasks, and the bench's purge never drops the portal's.
BENCH_REDIS_DATABASE = 15
WARM_UP_REQUESTS = 60
DRAIN_TIMEOUT_SECONDS = 60
# Bounds on a phase when the server is far slower than asked of it.
CLOSED_LOOP_TIME_LIMIT_SECONDS = 120
OPEN_LOOP_GRACE_SECONDS = 30
REQUEST_TIMEOUT_SECONDS = 30
CPU_COLUMNS = ("web", "worker", "database", "generator", "other")


def default_redis_url() -> str:
    configured = load_environment().redis_url or "redis://127.0.0.1:6379"
    parts = urlsplit(configured)
    return urlunsplit(parts._replace(path=f"/{BENCH_REDIS_DATABASE}"))


def per_request_ms(seconds: dict, count: int) -> dict[str, float | None]:
    """Milliseconds of CPU per answered request, by kind of process."""
    return {
        column: None if used is None or not count else used * 1000 / count
        for column, used in seconds.items()
    }


def stop_on_signal(signum, frame):
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = (
        "Benchmark POST /api/leads against a one-row baseline on gunicorn, "
        "PostgreSQL and a Celery worker, and check the intake targets."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--database-url",
            default=None,
            help="PostgreSQL database the bench drops and recreates (default: "
            "the server of DATABASE_URL or 127.0.0.1:5432, database bowtie_bench).",
        )
        parser.add_argument(
            "--redis-url",
            default=None,
            help=f"Broker for the worker (default: the server of REDIS_URL or "
            f"127.0.0.1:6379, database {BENCH_REDIS_DATABASE}).",
        )
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--web-workers", type=int, default=2)
        parser.add_argument("--web-threads", type=int, default=4)
        parser.add_argument("--worker-concurrency", type=int, default=4)
        parser.add_argument(
            "--reps", type=int, default=6, help="Eligible reps in the routed team."
        )
        parser.add_argument(
            "--clients",
            type=int,
            default=16,
            help="Concurrent clients of the closed loop.",
        )
        parser.add_argument(
            "--requests",
            type=int,
            default=1000,
            help="Requests per endpoint in the closed loop.",
        )
        parser.add_argument(
            "--rounds",
            type=int,
            default=5,
            help="Rounds the closed loop's requests are split into, each "
            "endpoint taking its turn in every round.",
        )
        parser.add_argument(
            "--rate",
            type=float,
            default=100.0,
            help="Requests per second of the open loop.",
        )
        parser.add_argument(
            "--duration",
            type=float,
            default=25.0,
            help="Seconds of the open loop, per endpoint.",
        )
        parser.add_argument(
            "--profile",
            type=int,
            default=0,
            metavar="N",
            help="Afterwards, profile N intake requests in this process.",
        )
        parser.add_argument(
            "--profile-only",
            action="store_true",
            help="Skip the load phases: set up, profile, stop.",
        )

    def handle(self, *args, **options):
        self.check_bounds(options)
        if options["profile_only"] and not options["profile"]:
            options["profile"] = 100
        # One line per request would cost the load generator more than its sends.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        # Both stop the run through the cleanup below, also when the shell that
        # started the bench in the background had set SIGINT to be ignored.
        previous_handlers = {
            signal.SIGTERM: signal.signal(signal.SIGTERM, stop_on_signal),
            signal.SIGINT: signal.signal(signal.SIGINT, signal.default_int_handler),
        }
        self.group = None
        try:
            self.prepare(options)
            run = uuid.uuid4().hex[:8]
            if not options["profile_only"]:
                self.measure(run, options)
            if options["profile"]:
                self.profile(run, options["profile"])
        except KeyboardInterrupt:
            self.stderr.write("Interrupted: stopping the servers.")
            raise SystemExit(130) from None
        finally:
            if self.group is not None:
                self.group.stop()
            for signum, handler in previous_handlers.items():
                signal.signal(signum, handler)

    def check_bounds(self, options):
        limits = {
            "web_workers": (1, 16),
            "web_threads": (1, 64),
            "worker_concurrency": (1, 64),
            "reps": (1, 200),
            "clients": (1, 256),
            "requests": (10, 100_000),
            "rounds": (1, 100),
            "rate": (1, 2000),
            "duration": (1, 600),
            "profile": (0, 10_000),
            "port": (1024, 65535),
        }
        for name, (low, high) in limits.items():
            if not low <= options[name] <= high:
                raise CommandError(
                    f"--{name.replace('_', '-')} must be from {low} to {high}."
                )

    def prepare(self, options):
        """Check the services, build the database, start web server and worker."""
        database_url = options["database_url"] or database.default_database_url()
        redis_url = options["redis_url"] or default_redis_url()
        database.check_is_not_the_portal_database(database_url)
        check_redis(redis_url)
        check_port_is_free(HOST, options["port"])

        work_dir = Path(settings.DATA_DIR) / "bench"
        shutil.rmtree(work_dir, ignore_errors=True)
        (work_dir / "data" / "static").mkdir(parents=True)
        self.base_url = f"http://{HOST}:{options['port']}"
        self.redis_url = redis_url
        self.work_dir = work_dir

        self.group = group = ProcessGroup(
            work_dir, self.child_environment(database_url, redis_url)
        )
        self.say(f"Database {database.describe(database_url)}: recreating, migrating.")
        database.recreate_database(database_url)
        group.run("migrate", ["manage.py", "migrate", "--no-input"], timeout=600)

        database.use_database(database_url)
        self.token = workspace.seed_workspace(options["reps"])

        self.say(
            f"Starting gunicorn ({options['web_workers']} workers x "
            f"{options['web_threads']} threads) on {self.base_url} and a Celery "
            f"worker ({options['worker_concurrency']} threads) on {redis_url}."
        )
        group.start(
            "web",
            [
                "-m",
                "gunicorn",
                "bowtie.wsgi",
                "--bind",
                f"{HOST}:{options['port']}",
                "--workers",
                str(options["web_workers"]),
                "--threads",
                str(options["web_threads"]),
                "--worker-class",
                "gthread",
                "--keep-alive",
                "5",
                "--graceful-timeout",
                "5",
            ],
        )
        group.start(
            "worker",
            [
                "-m",
                "celery",
                "-A",
                "bowtie",
                "worker",
                "--pool",
                "threads",
                "--concurrency",
                str(options["worker_concurrency"]),
                "--hostname",
                "bench@%h",
                "--loglevel",
                "INFO",
                "--purge",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
        )
        group.wait_for_http(self.base_url + "/login/", timeout=60)
        group.wait_for_log_line("worker", " ready.", timeout=60)

    def child_environment(self, database_url: str, redis_url: str) -> dict[str, str]:
        # Production mode: DEBUG off, as the portal runs for real. No mail host,
        # so the file-based backend renders and writes every message to disk.
        return os.environ | {
            "DJANGO_SETTINGS_MODULE": "bowtie.settings",
            "BOWTIE_MODE": "production",
            "BOWTIE_SECRET_KEY": secrets.token_urlsafe(48),
            "BOWTIE_ALLOWED_HOSTS": HOST,
            "BOWTIE_BASE_URL": self.base_url,
            "BOWTIE_DATA_DIR": str(self.work_dir / "data"),
            "BOWTIE_EMAIL_HOST": "",
            "BOWTIE_BENCHMARK_ENDPOINTS": "true",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "PYTHONUNBUFFERED": "1",
        }

    def measure(self, run: str, options):
        endpoints = {
            "baseline": BASELINE_PATH,
            "stored rows": STORED_ROWS_PATH,
            "intake": INTAKE_PATH,
        }

        self.say("Warming up the endpoints.")
        for name, path in endpoints.items():
            bodies = workspace.encoded_submissions(
                run, f"warmup-{name}", WARM_UP_REQUESTS
            )
            result = self.run_load(path, bodies, clients=4)
            self.check_answers(name, result, strict=True)
        if not self.wait_for_deliveries():
            raise CommandError(
                "The worker did not send the warm-up notifications:\n"
                + log_tail(self.group.log_path("worker"))
            )

        # In rounds, each taking every endpoint in turn (the order reversed every
        # other round), so a spell of a slower machine falls on all of them.
        rounds = options["rounds"]
        per_round = max(1, options["requests"] // rounds)
        results = {name: [] for name in endpoints}
        seconds = {name: dict.fromkeys(CPU_COLUMNS, 0.0) for name in endpoints}
        self.say(
            f"Closed loop: {rounds} rounds of {per_round} requests per endpoint "
            f"from {options['clients']} clients."
        )
        for number in range(rounds):
            order = list(endpoints) if number % 2 == 0 else list(reversed(endpoints))
            for name in order:
                bodies = workspace.encoded_submissions(
                    run, f"closed-{name}-{number}", per_round
                )
                backends_before = database.backend_pids()
                before = (cpu_table(), machine_busy_seconds())
                result = self.run_load(
                    endpoints[name],
                    bodies,
                    clients=options["clients"],
                    time_limit=CLOSED_LOOP_TIME_LIMIT_SECONDS,
                )
                self.check_answers(name, result)
                # The worker's share is only complete once it has sent everything.
                self.wait_for_deliveries()
                after = (cpu_table(), machine_busy_seconds())
                backends = set(backends_before) | set(database.backend_pids())
                results[name].append(result)
                for column, used in self.cpu_seconds(before, after, backends).items():
                    seconds[name][column] = (
                        None
                        if used is None or seconds[name][column] is None
                        else seconds[name][column] + used
                    )

        closed = {name: load.combined(runs) for name, runs in results.items()}
        cpu = {
            name: per_request_ms(seconds[name], len(closed[name].successes()))
            for name in endpoints
        }

        opened = {}
        sent_at_by_email = {}
        count = round(options["rate"] * options["duration"])
        # The targets at a steady rate are intake's; the baseline shows what
        # the machine adds to any request at that rate.
        for name in ("baseline", "intake"):
            path = endpoints[name]
            self.say(f"Open loop, {name}: {count} requests at {options['rate']:g}/s.")
            phase = f"open-{name}"
            bodies = workspace.encoded_submissions(run, phase, count)
            opened[name] = self.run_load(
                path,
                bodies,
                rate=options["rate"],
                time_limit=options["duration"] + OPEN_LOOP_GRACE_SECONDS,
            )
            self.check_answers(name, opened[name])
            if name == "intake":
                for sample in opened[name].samples:
                    email = workspace.lead_submission(run, phase, sample.index)["email"]
                    sent_at_by_email[email] = sample.sent_at
        self.wait_for_deliveries()
        delays = workspace.notification_delays("open-intake", sent_at_by_email)

        self.say("")
        self.stdout.write(
            report.render(
                closed=closed,
                opened=opened,
                cpu=cpu,
                delays=delays,
                options=options,
                cpu_count=os.cpu_count(),
            )
        )
        self.say(f"Logs and mail files: {self.work_dir}")

    def profile(self, run: str, count: int):
        from handoffs.benchmarks import profiling

        self.say(f"\nProfiling intake in this process, {count} requests per pass.")
        self.stdout.write(
            profiling.profile_intake(run, count, self.token, self.redis_url)
        )
        self.wait_for_deliveries()

    def cpu_seconds(
        self, before: tuple, after: tuple, backends: set[int]
    ) -> dict[str, float | None]:
        """CPU seconds used between two readings, by kind of process.

        `before` and `after` are each a process table and the machine's busy
        seconds. The load generator is this process; "other" is what the
        machine spent beside the four (Redis, the kernel's network work,
        PostgreSQL's background writers), so that the columns add up to all
        the CPU the requests cost.
        """
        (table_before, busy_before), (table_after, busy_after) = before, after
        if not table_before or not table_after:
            return dict.fromkeys(CPU_COLUMNS)

        def used(pid: int) -> float:
            return tree_cpu_seconds(table_after, pid) - tree_cpu_seconds(
                table_before, pid
            )

        generator = os.getpid()
        seconds = {
            "web": used(self.group.pid("web")),
            "worker": used(self.group.pid("worker")),
            "database": cpu_seconds_between(table_before, table_after, list(backends)),
            "generator": table_after[generator][1] - table_before[generator][1],
        }
        seconds["other"] = (
            None
            if busy_before is None or busy_after is None
            else max(0.0, busy_after - busy_before - sum(seconds.values()))
        )
        return seconds

    def run_load(
        self,
        path: str,
        bodies: list[bytes],
        clients: int = 0,
        rate: float = 0.0,
        time_limit: float | None = None,
    ) -> load.LoadResult:
        async def drive():
            async with load.json_client(
                self.base_url,
                self.token,
                connections=max(clients, 64),
                timeout=REQUEST_TIMEOUT_SECONDS,
                trust_env=False,
            ) as client:
                if rate:
                    return await load.open_loop(
                        client, path, bodies, rate, time_limit=time_limit
                    )
                return await load.closed_loop(
                    client, path, bodies, clients, time_limit=time_limit
                )

        return asyncio.run(drive())

    def check_answers(self, name: str, result: load.LoadResult, strict=False):
        """Warm-up must answer every request; a measured phase reports failures."""
        failures = [sample for sample in result.samples if not sample.is_success]
        if not failures:
            return
        first = failures[0]
        message = (
            f"{name}: {len(failures)} of {len(result.samples)} requests failed; "
            f"first: {first.status or 'no answer'} {first.body}"
        )
        if strict:
            raise CommandError(message)
        self.stderr.write(message)

    def wait_for_deliveries(self) -> bool:
        """Let the worker send what is queued, so one phase does not load the next."""
        deadline = time.monotonic() + DRAIN_TIMEOUT_SECONDS
        while workspace.pending_delivery_count():
            self.group.check_running()
            if time.monotonic() > deadline:
                self.stderr.write(
                    f"Deliveries still pending after {DRAIN_TIMEOUT_SECONDS} s; "
                    f"see {self.group.log_path('worker')}."
                )
                return False
            time.sleep(0.2)
        return True

    def say(self, text: str):
        self.stdout.write(text)
        self.stdout.flush()
