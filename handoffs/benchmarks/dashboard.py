"""Time each dashboard page beside the bare SQL that produces its numbers.

A page is served through Django's test client as a signed-in RevOps admin,
the way a browser's request would be, middleware and templates included. Its
baseline is the very statements it ran, captured once and executed again on
the raw database cursor with nothing around them. Both are timed in the same
process on the same data, run after run in turns (the page first, then its
SQL, then the other way round), so a noisy neighbour slows both alike.

The same is done for every registered metric's `measure` against its own SQL,
so a page that is slow points at the metric that makes it slow. Whatever is
registered when the bench runs is measured: new metrics need no change here.
"""

import json
import os
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse
from django.utils import timezone

from bowtie import measurement
from bowtie.dashboard_forms import ScopeForm
from bowtie.models import Person, Team

MAX_RATIO = 2.0
# Statements that only make sense inside the page's own transaction.
TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")
DECLARED_CURSOR = re.compile(r'DECLARE ("[^"]+"|\S+) ', re.IGNORECASE)


@dataclass(frozen=True)
class Filters:
    label: str
    query: dict[str, str]


def filter_variants(team: Team) -> list[Filters]:
    """The default page, a 52-week period, and 52 weeks of one team."""
    return [
        Filters("default (13 weeks)", {}),
        Filters("52 weeks", {"days": "364"}),
        Filters(f"52 weeks, {team.name}", {"days": "364", "team": str(team.pk)}),
    ]


def dashboard_pages() -> list[str]:
    return [reverse("dashboard")] + [
        reverse("dashboard-handoff", args=[key])
        for key, _ in measurement.Handoff.choices
    ]


@dataclass
class Comparison:
    """One subject timed beside its own SQL; samples in milliseconds."""

    subject: str
    filters: str
    served_ms: list[float] = field(default_factory=list)
    sql_ms: list[float] = field(default_factory=list)
    query_count: int = 0
    # For a metric: the records its reading counts, and its value.
    record_count: int | None = None
    value: float | None = None
    # Why it could not be timed: a page or metric that fails is reported, and
    # the others are still measured.
    error: str = ""

    @property
    def served_median(self) -> float | None:
        return statistics.median(self.served_ms) if self.served_ms else None

    @property
    def sql_median(self) -> float | None:
        return statistics.median(self.sql_ms) if self.sql_ms else None

    @property
    def ratio(self) -> float | None:
        if self.served_median is None or not self.sql_median:
            return None
        return self.served_median / self.sql_median

    @property
    def is_within(self) -> bool | None:
        if self.error:
            return False
        return None if self.ratio is None else self.ratio <= MAX_RATIO

    def as_dict(self) -> dict:
        return asdict(self) | {
            "served_median_ms": self.served_median,
            "sql_median_ms": self.sql_median,
            "ratio": self.ratio,
            "is_within_target": self.is_within,
        }


def captured_statements(run: Callable[[], object]) -> list[str]:
    """The SQL `run` sends, exactly as sent, bar transaction control."""
    with CaptureQueriesContext(connection) as captured:
        run()
    return [
        query["sql"]
        for query in captured.captured_queries
        if not query["sql"].upper().startswith(TRANSACTION_CONTROL)
    ]


def execute_bare(statements: list[str]) -> None:
    """Run the statements on the driver's own cursor and fetch every row.

    A server-side cursor (`.iterator()`, as a form's choices use) is logged as
    its DECLARE alone; its rows are fetched and it is closed, as Django does.
    """
    connection.ensure_connection()
    with connection.connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
            if cursor.description is not None:
                cursor.fetchall()
            declared = DECLARED_CURSOR.match(statement)
            if declared:
                cursor.execute(f"FETCH FORWARD ALL FROM {declared[1]}")
                cursor.fetchall()
                cursor.execute(f"CLOSE {declared[1]}")


def milliseconds(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return (time.perf_counter() - started) * 1000


def compare(
    comparison: Comparison, run: Callable[[], object], runs: int, warm_ups: int
) -> Comparison:
    """Time `run` and its bare SQL `runs` times each, in turns."""
    try:
        for _ in range(warm_ups):
            run()
        statements = captured_statements(run)
    except Exception as error:  # noqa: BLE001 - reported, and the bench goes on
        comparison.error = f"{type(error).__name__}: {error}"
        return comparison

    comparison.query_count = len(statements)
    execute_bare(statements)

    for number in range(runs):
        timed = [
            (comparison.served_ms, run),
            (comparison.sql_ms, lambda: execute_bare(statements)),
        ]
        # Alternate who goes first, so neither always finds the caches warm.
        for samples, target in timed if number % 2 == 0 else reversed(timed):
            samples.append(milliseconds(target))
    return comparison


def signed_in_client(person: Person) -> Client:
    client = Client()
    client.force_login(person.user)
    return client


def time_pages(
    client: Client, variants: list[Filters], runs: int, warm_ups: int
) -> list[Comparison]:
    comparisons = []
    for path in dashboard_pages():
        for filters in variants:

            def serve(path=path, filters=filters):
                response = client.get(path, filters.query)
                if response.status_code != 200:
                    raise RuntimeError(
                        f"{path} {filters.label} answered {response.status_code}"
                    )
                return response

            comparisons.append(
                compare(Comparison(path, filters.label), serve, runs, warm_ups)
            )
    return comparisons


def time_metrics(
    person: Person, variants: list[Filters], now, runs: int, warm_ups: int
) -> list[Comparison]:
    """Each registered metric's `measure` for the scope each page variant reads."""
    comparisons = []
    for filters in variants:
        form = ScopeForm(filters.query or None, person=person, today=now.date())
        scope = form.scope()
        for metric in measurement.metrics():
            readings = []

            def read(metric=metric, scope=scope, readings=readings):
                readings.append(metric.measure(scope, now))

            comparison = compare(
                Comparison(metric.key, filters.label), read, runs, warm_ups
            )
            if readings and not comparison.error:
                comparison.record_count = readings[-1].count
                comparison.value = readings[-1].value
            comparisons.append(comparison)
    return comparisons


@dataclass
class Report:
    scale: dict
    generated: dict
    generation_seconds: float | None
    runs: int
    warm_ups: int
    pages: list[Comparison]
    metrics: list[Comparison]
    cpu_count: int | None = field(default_factory=os.cpu_count)
    load_before: tuple[float, ...] = ()
    load_after: tuple[float, ...] = ()

    def as_dict(self) -> dict:
        return {
            "scale": self.scale,
            "generated": self.generated,
            "generation_seconds": self.generation_seconds,
            "runs": self.runs,
            "warm_ups": self.warm_ups,
            "cpu_count": self.cpu_count,
            "load_average_before": self.load_before,
            "load_average_after": self.load_after,
            "max_ratio": MAX_RATIO,
            "pages": [page.as_dict() for page in self.pages],
            "metrics": [metric.as_dict() for metric in self.metrics],
        }


def measure(
    person: Person,
    team: Team,
    *,
    runs: int,
    warm_ups: int,
    scale: dict,
    generated: dict,
    generation_seconds: float | None = None,
    say: Callable[[str], None] = lambda text: None,
) -> Report:
    """Time every page and every metric; the data must be in place."""
    variants = filter_variants(team)
    load_before = os.getloadavg()
    # Served as in production: no query log kept beside each request.
    with override_settings(
        DEBUG=False, ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]
    ):
        say(f"Timing {len(dashboard_pages()) * len(variants)} pages, {runs} runs each.")
        pages = time_pages(signed_in_client(person), variants, runs, warm_ups)
        say(
            f"Timing {len(measurement.metrics())} metrics for {len(variants)} "
            f"filters, {runs} runs each."
        )
        metrics = time_metrics(person, variants, timezone.now(), runs, warm_ups)
    return Report(
        scale=scale,
        generated=generated,
        generation_seconds=generation_seconds,
        runs=runs,
        warm_ups=warm_ups,
        pages=pages,
        metrics=metrics,
        load_before=load_before,
        load_after=os.getloadavg(),
    )


# The report, as text and Markdown ------------------------------------------------


def number(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def verdict(comparison: Comparison) -> str:
    if comparison.error:
        return "FAILED"
    if comparison.is_within is None:
        return "no SQL"
    return "yes" if comparison.is_within else "NO"


def page_rows(report: Report) -> list[list[str]]:
    return [
        [
            page.subject,
            page.filters,
            number(page.served_median),
            number(page.sql_median),
            number(page.ratio, 2),
            str(page.query_count),
            verdict(page),
        ]
        for page in report.pages
    ]


def metric_rows(report: Report) -> list[list[str]]:
    return [
        [
            metric.subject,
            metric.filters,
            number(metric.served_median),
            number(metric.sql_median),
            number(metric.ratio, 2),
            str(metric.query_count),
            "FAILED"
            if metric.error
            else f"{metric.record_count:,}"
            if metric.record_count is not None
            else "-",
        ]
        for metric in report.metrics
    ]


PAGE_HEADERS = ["page", "filters", "page ms", "SQL ms", "ratio", "queries", "<= 2x"]
METRIC_HEADERS = [
    "metric",
    "filters",
    "measure ms",
    "SQL ms",
    "ratio",
    "queries",
    "records",
]


def summary(report: Report) -> list[str]:
    scale = report.scale
    generated = (
        f" Data generated in {report.generation_seconds:.0f} s."
        if report.generation_seconds is not None
        else " Data of an earlier run."
    )
    loads = " / ".join(f"{load:.1f}" for load in report.load_before)
    loads_after = " / ".join(f"{load:.1f}" for load in report.load_after)
    lines = [
        f"Dashboard on PostgreSQL: {scale['leads']:,} leads, {scale['deals']:,} "
        f"deals.{generated}",
        f"Medians of {report.runs} runs after {report.warm_ups} warm-up; each page "
        "through Django's test client as a RevOps admin, beside its own",
        "statements run on the raw cursor, in turns. "
        f"{report.cpu_count or '?'} CPUs; load average {loads} before, "
        f"{loads_after} after.",
    ]
    missed = [page for page in report.pages if page.is_within is False]
    lines.append(
        f"Target: each page within {MAX_RATIO:g}x of its SQL: "
        + (
            "met by every page."
            if not missed
            else f"MISSED by {len(missed)} of {len(report.pages)}."
        )
    )
    for comparison in [*report.pages, *report.metrics]:
        if comparison.error:
            lines.append(
                f"FAILED: {comparison.subject} ({comparison.filters}): "
                f"{comparison.error}"
            )
    counted = {metric.subject for metric in report.metrics if metric.record_count}
    empty = sorted(
        {
            metric.subject
            for metric in report.metrics
            if metric.subject not in counted and not metric.error
        }
    )
    if empty:
        lines.append(
            "Counting no records for any filters (the bench writes nothing they "
            "read): " + ", ".join(empty) + "."
        )
    return lines


def render_text(report: Report) -> str:
    def table(headers, rows, left=2):
        widths = [
            max(len(str(cell)) for cell in column)
            for column in zip(headers, *rows, strict=True)
        ]
        lines = []
        for row in [headers, *rows]:
            cells = [
                cell.ljust(width) if index < left else cell.rjust(width)
                for index, (cell, width) in enumerate(zip(row, widths, strict=True))
            ]
            lines.append("  ".join(cells))
        return lines

    lines = summary(report)
    lines += ["", *table(PAGE_HEADERS, page_rows(report))]
    lines += ["", "Per metric:", *table(METRIC_HEADERS, metric_rows(report))]
    return "\n".join(lines)


def render_markdown(report: Report) -> str:
    def table(headers, rows):
        lines = ["| " + " | ".join(headers) + " |"]
        lines.append("|" + "|".join("---" for _ in headers) + "|")
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return lines

    lines = ["# Dashboard benchmark", "", *summary(report), "", "## Pages", ""]
    lines += table(PAGE_HEADERS, page_rows(report))
    lines += ["", "## Metrics", ""]
    lines += table(METRIC_HEADERS, metric_rows(report))
    return "\n".join(lines) + "\n"


def write_report(report: Report, directory) -> tuple:
    directory.mkdir(parents=True, exist_ok=True)
    as_json = directory / "dashboard.json"
    as_markdown = directory / "dashboard.md"
    as_json.write_text(json.dumps(report.as_dict(), indent=2, default=str) + "\n")
    as_markdown.write_text(render_markdown(report))
    return as_json, as_markdown
