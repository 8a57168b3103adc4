"""Replay a lead file through POST /api/leads at a steady rate.

Each row becomes one API submission, mapped as `import_leads` maps it: the
columns, value translations and constants of the source's ImportMapping, with
--map overrides; without a saved mapping, headers named like the API fields.
Requests leave at fixed times whatever the answers (an open loop), so the
server sees the rate a busy form or a CRM sync would send, and a slow answer
shows as latency instead of slowing the replay down.
"""

import asyncio
import json
import logging
import time
from collections import Counter
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from handoffs.benchmarks.load import LoadResult, Sample, json_client, open_loop
from handoffs.importing import (
    CONVERTED,
    ImportRefused,
    parse_csv,
    read_text,
    resolve_mapping,
)
from handoffs.management.commands.import_leads import parse_override

LEADS_PATH = "/api/leads"
SHOWN_REFUSALS = 5
PROGRESS_EVERY_SECONDS = 5.0


def count_line(samples: list[Sample]) -> str:
    counts = Counter(sample.status for sample in samples)
    parts = [
        f"{status or 'no answer'} x {number}"
        for status, number in sorted(counts.items())
    ]
    return ", ".join(parts) or "none yet"


class Command(BaseCommand):
    help = (
        "Send the rows of a lead CSV to POST /api/leads at a steady rate, as an "
        "open loop, and report the answers and their latency."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="The CSV file to replay.")
        parser.add_argument(
            "--url",
            default="http://127.0.0.1:8000",
            help="Base address of the portal (default http://127.0.0.1:8000).",
        )
        parser.add_argument(
            "--token",
            required=True,
            help="An API token key with the leads:write scope.",
        )
        parser.add_argument(
            "--rate", type=float, default=20.0, help="Requests per second (default 20)."
        )
        parser.add_argument(
            "--source",
            default="",
            help="The system the file comes from, e.g. x-education: picks its "
            "saved column mapping and becomes the leads' external_source.",
        )
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            dest="overrides",
            metavar="FIELD=COLUMN",
            help="Take a field from this column header; an empty COLUMN drops "
            "the field. Repeatable.",
        )
        parser.add_argument("--limit", type=int, help="Send only the first N rows.")
        parser.add_argument(
            "--encoding", help="The file's encoding when it is not UTF-8."
        )
        parser.add_argument(
            "--timeout",
            type=float,
            default=30.0,
            help="Seconds to wait for one answer (default 30).",
        )
        parser.add_argument(
            "--max-in-flight",
            type=int,
            default=500,
            help="Most requests waiting at once; past that the replay waits too.",
        )

    def handle(
        self,
        *args,
        file,
        url,
        token,
        rate,
        source,
        overrides,
        limit,
        encoding,
        timeout,
        max_in_flight,
        **options,
    ):
        if not 0 < rate <= 1000:
            raise CommandError("--rate must be more than 0 and at most 1000.")
        if limit is not None and limit < 1:
            raise CommandError("--limit must be 1 or more.")
        if not url.startswith(("http://", "https://")):
            raise CommandError(f"--url {url!r} must start with http:// or https://.")

        # A log line per request would drown the progress lines.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        rows, mapping = self.read_rows(file, source, overrides, encoding)
        if limit is not None:
            rows = rows[:limit]
        if not rows:
            raise CommandError(f"{file.name} has no rows to send.")

        bodies = [json.dumps(submission).encode() for _, submission in rows]
        fields = ", ".join(sorted(set(mapping.columns) - {CONVERTED})) or "none"
        self.stdout.write(
            f"Replaying {len(bodies)} rows of {file.name} to {url.rstrip('/')}"
            f"{LEADS_PATH} at {rate:g}/s (about {len(bodies) / rate:.0f} s). "
            f"Fields from columns: {fields}."
        )

        try:
            result = asyncio.run(
                self.replay(
                    url.rstrip("/"), token, bodies, rate, timeout, max_in_flight
                )
            )
        except KeyboardInterrupt:
            self.stderr.write("Interrupted; requests already sent were not undone.")
            raise SystemExit(130) from None
        self.summarise(result, [number for number, _ in rows], rate)

    def read_rows(
        self, file: Path, source: str, overrides: list[str], encoding: str | None
    ):
        """Map every non-blank row to the submission the API should get."""
        try:
            text, _ = read_text(file, encoding)
            table = parse_csv(text, file.name)
            header = table[0]
            mapping = resolve_mapping(
                source,
                header,
                dict(parse_override(item) for item in overrides),
                file.name,
            )
        except ImportRefused as refused:
            # The importer's messages end with its outcome, which is not ours.
            message = str(refused).removesuffix(" Nothing was imported.")
            raise CommandError(message) from None

        if CONVERTED in mapping.columns:
            self.stdout.write(
                f"Column {mapping.columns[CONVERTED]!r} ({CONVERTED}) is left out: "
                "the API takes new submissions, not their outcome."
            )

        rows = []
        for number, cells in enumerate(table[1:], start=2):
            if not any(cell.strip() for cell in cells):
                continue
            submission = mapping.submission(cells)
            submission.pop(CONVERTED, None)
            rows.append((number, submission))
        return rows, mapping

    async def replay(self, url, token, bodies, rate, timeout, max_in_flight):
        started = time.monotonic()

        def progress(samples: list[Sample], sent: int) -> None:
            self.stdout.write(
                f"  {time.monotonic() - started:5.0f} s: {sent}/{len(bodies)} sent, "
                f"{len(samples)} answered ({count_line(samples)})"
            )
            self.stdout.flush()

        async with json_client(
            url, token, connections=max_in_flight, timeout=timeout
        ) as client:
            return await open_loop(
                client,
                LEADS_PATH,
                bodies,
                rate,
                max_in_flight=max_in_flight,
                progress=progress,
                progress_every=PROGRESS_EVERY_SECONDS,
            )

    def summarise(self, result: LoadResult, row_numbers: list[int], rate: float):
        counts = result.status_counts()
        answered = len(result.samples)
        others = [
            sample for sample in result.samples if sample.status not in (200, 201, 400)
        ]
        p50, p99 = result.latency_ms(50), result.latency_ms(99)
        achieved = answered / result.elapsed_seconds if result.elapsed_seconds else 0

        lines = [
            "",
            f"Sent {answered} in {result.elapsed_seconds:.1f} s "
            f"({achieved:.1f}/s of {rate:g}/s asked).",
            f"  201 new leads   {counts[201]}",
            f"  200 repeats     {counts[200]}",
            f"  400 refused     {counts[400]}",
            f"  other           {len(others)}"
            + (f" ({count_line(others)})" if others else ""),
            "  latency of answered requests: "
            + ("-" if p50 is None else f"p50 {p50:.1f} ms, p99 {p99:.1f} ms"),
        ]
        if result.most_behind_seconds > 0.05:
            lines.append(
                f"  (the replay fell up to {result.most_behind_seconds:.1f} s behind "
                "its schedule; the latencies include that.)"
            )

        failures = [sample for sample in result.samples if not sample.is_success]
        refused = [sample for sample in failures if sample.status == 400]
        shown = (refused or failures)[:SHOWN_REFUSALS]
        if shown:
            lines.append(f"First {'refusals' if refused else 'failures'}:")
        for sample in shown:
            status = sample.status or "no answer"
            lines.append(
                f"  row {row_numbers[sample.index]} ({status}): {sample.body.strip()}"
            )
        self.stdout.write("\n".join(lines))

        if counts[401] or counts[403]:
            raise CommandError(
                "The token was refused: check --token and that it "
                "has the leads:write scope."
            )
        if not result.successes():
            raise CommandError("No row was accepted.")
