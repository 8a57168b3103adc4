"""Import leads from a CSV export: python manage.py import_leads FILE --source S."""

import logging
import time
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_slug
from tqdm.contrib.logging import logging_redirect_tqdm

from handoffs.importing import ImportRefused, import_leads, write_error_report

# Beyond this many, the terminal shows a sample and the report file the rest.
PRINTED_ERROR_LIMIT = 100


def parse_override(text: str) -> tuple[str, str]:
    name, separator, column = text.partition("=")
    if not separator or not name.strip():
        raise CommandError(f"--map {text!r}: write it as field=Column header.")
    return name.strip(), column.strip()


class Command(BaseCommand):
    help = (
        "Import leads from a CSV export. Every row goes through lead intake, so "
        "it is validated, deduplicated, matched, scored and routed like a form "
        "submission. Nothing is stored if any row is invalid, unless "
        "--skip-invalid is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="The CSV file to import.")
        parser.add_argument(
            "--source",
            required=True,
            help="The system the file comes from, e.g. x-education; picks its "
            "saved column mapping and becomes the leads' external_source.",
        )
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            dest="overrides",
            metavar="FIELD=COLUMN",
            help="Take a lead field from this column header, over the saved "
            "mapping; an empty COLUMN drops the field. Repeatable.",
        )
        parser.add_argument(
            "--historical",
            action="store_true",
            help="Record every row as history: routed, but no clock is started.",
        )
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="Store the valid rows and report the invalid ones.",
        )
        parser.add_argument(
            "--report", type=Path, help="Write the row errors to this CSV file."
        )
        parser.add_argument(
            "--encoding",
            help="The file's encoding when it is not UTF-8, e.g. cp1252.",
        )

    def handle(
        self,
        *args,
        file,
        source,
        overrides,
        historical,
        skip_invalid,
        report,
        encoding,
        **options,
    ):
        try:
            validate_slug(source)
        except ValidationError:
            raise CommandError(
                f"--source {source!r}: use letters, digits, - and _ only."
            ) from None
        mapping_overrides = dict(parse_override(text) for text in overrides)

        # Intake logs a line per lead: thousands of them would bury the progress
        # bar, so they show only with --verbosity 2.
        if options["verbosity"] < 2:
            logging.getLogger("handoffs.services").setLevel(logging.WARNING)

        started = time.monotonic()
        try:
            with logging_redirect_tqdm():
                result = import_leads(
                    file,
                    source=source,
                    overrides=mapping_overrides,
                    historical=historical,
                    skip_invalid=skip_invalid,
                    encoding=encoding,
                    progress=True,
                )
        except ImportRefused as refused:
            raise CommandError(str(refused)) from refused
        seconds = time.monotonic() - started

        self.print_errors(result.errors, report)
        if report is not None:
            write_error_report(result.errors, report)

        if not result.is_stored:
            raise CommandError(
                f"{result.file_name}: {result.invalid_row_count} of "
                f"{result.row_count} rows are invalid, so nothing was stored. Fix "
                "them, or import the valid rows with --skip-invalid."
            )

        self.stdout.write(
            f"{result.file_name}: rows read: {result.row_count} ({result.encoding}); "
            f"new leads: {result.created_count} ({result.qualified_count} as "
            "qualified history); repeats recorded as touches: "
            f"{result.repeat_count}; invalid rows skipped: "
            f"{result.invalid_row_count}. Took {seconds:.1f} s."
        )

    def print_errors(self, errors, report_path) -> None:
        for error in errors[:PRINTED_ERROR_LIMIT]:
            self.stderr.write(str(error))
        hidden = len(errors) - PRINTED_ERROR_LIMIT
        if hidden > 0:
            where = report_path or "a file with --report PATH"
            self.stderr.write(f"... and {hidden} more errors; all are in {where}.")
