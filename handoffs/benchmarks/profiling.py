"""Where one intake request spends its time: its queries and a call profile.

The requests go through the whole Django stack in this process (middleware,
token authentication, the view, its serializer) against the bench database,
one at a time, so the numbers are those of a request without the web
server's queueing. Three passes over fresh leads: plain timings, then the
queries, then a call profile: pyinstrument's tree of wall-clock time when it
is installed, else cProfile's list of this process's CPU time.
"""

import cProfile
import io
import logging
import pstats
import re
import time
from collections import defaultdict

from django.core.management.base import CommandError
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from handoffs.benchmarks.load import percentile
from handoffs.benchmarks.workspace import encoded_submissions

INTAKE_PATH = "/api/leads"
SHOWN_QUERY_SHAPES = 25
SHOWN_FUNCTIONS = 40


def query_shape(sql: str) -> str:
    """The statement with its values taken out, so repeats group together."""
    shape = re.sub(r"'(?:[^']|'')*'", "?", sql)
    shape = re.sub(r"\b\d+(\.\d+)?\b", "?", shape)
    shape = re.sub(r"\((?:\?, )+\?\)", "(...)", shape)
    return re.sub(r"\s+", " ", shape)


def post_all(client: Client, bodies: list[bytes]) -> list[tuple[float, float]]:
    """Send each body; return the wall-clock and CPU seconds of each request."""
    timings = []
    for body in bodies:
        started, cpu_started = time.perf_counter(), time.process_time()
        response = client.post(INTAKE_PATH, body, content_type="application/json")
        timings.append(
            (time.perf_counter() - started, time.process_time() - cpu_started)
        )
        if response.status_code != 201:
            raise CommandError(
                f"Intake answered {response.status_code}: {response.content[:300]!r}"
            )
    return timings


def profile_intake(run: str, count: int, token: str, redis_url: str) -> str:
    from bowtie.celery import celery_app

    # After commit the intake queues its deliveries: on the bench's broker, so
    # the bench's worker sends them and the portal's queue stays untouched.
    celery_app.conf.broker_url = redis_url
    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {token}")
    # The servers run with DEBUG off; so does this process while it measures.
    logging.disable(logging.INFO)
    try:
        with override_settings(DEBUG=False):
            lines = profile_passes(client, run, count)
    finally:
        logging.disable(logging.NOTSET)
    return "\n".join(lines)


def profile_passes(client: Client, run: str, count: int) -> list[str]:
    post_all(client, encoded_submissions(run, "profile-warm", 5))

    lines = profile_timings(client, encoded_submissions(run, "profile-time", count))
    lines += profile_queries(client, encoded_submissions(run, "profile-sql", count))
    lines += profile_calls(client, encoded_submissions(run, "profile-call", count))
    return lines


def profile_timings(client: Client, bodies: list[bytes]) -> list[str]:
    """Time each request, its transaction, and how long it holds the team's lock.

    Routing locks the chosen team's row until the intake commits, so every
    intake into that team waits for the one before: the lock time bounds the
    intakes per second one team can take, however many web workers run.
    """
    marks = {}

    def mark_commit():
        marks.setdefault("commit", time.perf_counter())

    def watch(execute, sql, params, many, context):
        now = time.perf_counter()
        if connection.in_atomic_block:
            marks.setdefault("transaction", now)
        if "FOR UPDATE" in sql and 'FROM "bowtie_team"' in sql:
            marks.setdefault("team_lock", now)
            connection.on_commit(mark_commit)
        return execute(sql, params, many, context)

    requests, cpu, transactions, locks = [], [], [], []
    with connection.execute_wrapper(watch):
        for body in bodies:
            marks.clear()
            [(elapsed, cpu_used)] = post_all(client, [body])
            requests.append(elapsed)
            cpu.append(cpu_used)
            if "commit" in marks:
                transactions.append(marks["commit"] - marks["transaction"])
                locks.append(marks["commit"] - marks["team_lock"])

    lines = [f"{len(bodies)} requests one at a time, in-process:"]
    for label, values in (
        ("request", requests),
        ("CPU of this process", cpu),
        ("its transaction", transactions),
        ("team row locked until commit", locks),
    ):
        if values:
            lines.append(
                f"  {label:<30} mean {sum(values) / len(values) * 1000:6.1f} ms"
                f"   p50 {percentile(values, 50) * 1000:6.1f} ms"
                f"   p99 {percentile(values, 99) * 1000:6.1f} ms"
            )
    if locks:
        lines.append(
            f"  one team takes at most ~{len(locks) / sum(locks):.0f} intakes/s "
            "at this lock time, whatever the number of web workers."
        )
    return lines


def profile_queries(client: Client, bodies: list[bytes]) -> list[str]:
    by_shape = defaultdict(lambda: [0, 0.0])
    counts = []
    for body in bodies:
        # The log keeps 9000 queries at most; each request starts it afresh.
        connection.queries_log.clear()
        with CaptureQueriesContext(connection) as captured:
            post_all(client, [body])
        counts.append(len(captured.captured_queries))
        for query in captured.captured_queries:
            entry = by_shape[query_shape(query["sql"])]
            entry[0] += 1
            entry[1] += float(query["time"])

    total_ms = sum(seconds for _, seconds in by_shape.values()) * 1000
    lines = [
        f"Statements per request: {min(counts)} to {max(counts)}, mean "
        f"{sum(counts) / len(counts):.1f}; time in the database driver "
        f"{total_ms / len(bodies):.1f} ms per request.",
        "(Statements sent in a pipeline, bowtie.compiled_queries, are timed "
        "as they are queued: the wait for their answers is in no line below.)",
        f"{'per req':>8} {'ms/req':>7}  statement",
    ]
    ranked = sorted(by_shape.items(), key=lambda item: -item[1][1])
    for shape, (number, seconds) in ranked[:SHOWN_QUERY_SHAPES]:
        per_request_ms = seconds / len(bodies) * 1000
        lines.append(
            f"{number / len(bodies):>8.2f} {per_request_ms:>7.2f}  {shape[:150]}"
        )
    return lines


def profile_calls(client: Client, bodies: list[bytes]) -> list[str]:
    try:
        from pyinstrument import Profiler
    except ImportError:
        # CPU time, not wall-clock: throughput is bound by the CPU, and the
        # waits for the database would otherwise crowd out the Python work.
        profiler = cProfile.Profile(time.process_time)
        profiler.runcall(post_all, client, bodies)
        output = io.StringIO()
        stats = pstats.Stats(profiler, stream=output).sort_stats("cumulative")
        stats.print_stats(SHOWN_FUNCTIONS)
        return [
            "",
            "cProfile, CPU time of this process (install pyinstrument for a "
            "call tree):",
            output.getvalue(),
        ]

    profiler = Profiler(interval=0.0005)
    profiler.start()
    post_all(client, bodies)
    profiler.stop()
    return [
        "",
        "pyinstrument, all requests of the pass together:",
        profiler.output_text(unicode=False, color=False, show_all=False),
    ]
