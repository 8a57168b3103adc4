"""Import customer usage: python manage.py import_usage --source ravenstack [FOLDER]."""

import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from bowtie.usage_import import (
    ACCOUNTS_FILE,
    DEFAULT_FOLDER_NAME,
    RAVENSTACK,
    SOURCE_LABELS,
    SUBSCRIPTIONS_FILE,
    TICKETS_FILE,
    USAGE_FILE,
    UsageImportError,
    import_usage,
)


class Command(BaseCommand):
    help = (
        "Import accounts, subscriptions, daily feature usage and support tickets "
        "from a product's export, for the health scores. --source ravenstack "
        "reads the RavenStack synthetic SaaS data set by River @ Rivalytics "
        "(credit them wherever the data is shown). All or nothing; running it "
        "again adds nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--source",
            choices=sorted(SOURCE_LABELS),
            default=RAVENSTACK,
            help=f"The export's layout; default {RAVENSTACK}.",
        )
        parser.add_argument(
            "folder",
            nargs="?",
            type=Path,
            help="The folder of the export; default BOWTIE_SAMPLE_DATA/"
            f"{DEFAULT_FOLDER_NAME}.",
        )

    def handle(self, *args, source, folder, **options):
        folder = folder or Path(settings.BOWTIE_SAMPLE_DATA) / DEFAULT_FOLDER_NAME
        self.stdout.write(f"Importing {SOURCE_LABELS[source]} from {folder}")
        started = time.monotonic()

        try:
            summary = import_usage(folder, source=source, report=self.stdout.write)
        except UsageImportError as error:
            for problem in error.problems:
                self.stderr.write(problem)
            raise CommandError(
                f"{folder}: nothing was imported, because of the "
                f"{len(error.problems)} problem(s) above."
            ) from error
        seconds = time.monotonic() - started

        duplicates = summary.duplicates
        self.stdout.write(
            f"Accounts: {summary.accounts_created} created, "
            f"{summary.accounts_matched} matched "
            f"({summary.accounts_completed} with blanks filled in); "
            f"subscriptions: {summary.subscriptions_added}; "
            f"usage rows: {summary.usage_added}; "
            f"tickets: {summary.tickets_added}."
        )
        self.stdout.write(
            f"Skipped as duplicates: {duplicates[ACCOUNTS_FILE]} accounts, "
            f"{duplicates[SUBSCRIPTIONS_FILE]} subscriptions, "
            f"{duplicates[USAGE_FILE]} usage rows, {duplicates[TICKETS_FILE]} tickets."
        )
        self.stdout.write(
            f"Imported in {seconds:.1f} s. Data: {SOURCE_LABELS[source]}."
        )
