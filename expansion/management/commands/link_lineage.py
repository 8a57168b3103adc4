"""Link imported account histories into lineage: python manage.py link_lineage."""

from django.core.management.base import BaseCommand

from bowtie.crm_import import DEFAULT_SOURCE
from expansion.lineage import link_history
from expansion.whitespace import find_whitespace


class Command(BaseCommand):
    help = (
        "Link each account's won deals imported from a CRM export into a chain: "
        "every later won deal grows from the one won before it (ties on a close "
        "date by external id). Running it again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--source",
            default=DEFAULT_SOURCE,
            help=f"The external source of the history; default {DEFAULT_SOURCE}.",
        )

    def handle(self, *args, source, **options):
        results = link_history(source)

        linked = sum(result.linked_count for result in results)
        changed = sum(result.changed_count for result in results)
        with_lineage = sum(1 for result in results if result.linked_count)
        with_whitespace = sum(
            1 for result in results if find_whitespace(result.account)
        )
        self.stdout.write(
            f"{linked} deals linked at {with_lineage} of {len(results)} accounts; "
            f"{changed} links written."
        )
        self.stdout.write(
            f"{with_whitespace} accounts have products they never won (whitespace)."
        )
