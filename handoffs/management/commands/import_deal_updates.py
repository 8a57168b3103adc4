"""Apply a CSV of live deal updates: python manage.py import_deal_updates FILE."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from handoffs.deal_updates import DealUpdatesRefused, import_deal_updates


class Command(BaseCommand):
    help = (
        "Apply a CSV of updates to live deals, each row through the same deal "
        "service as the API. Columns: external_source and external_id, which "
        "find the deal, and any of name, stage, amount, currency, "
        "expected_close_on (YYYY-MM-DD), term_months; an empty cell leaves its "
        "field as it is. A stage of Won closes the deal through the packet "
        "gate. Each row is applied on its own: a refused row (a bad value, or "
        "Won with an incomplete packet) is reported with its row number and "
        "reasons and changes nothing, and the other rows are still applied. "
        "Deals are never created: a row whose external id is unknown is "
        "reported. Exits non-zero when any row was not applied."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="The CSV file, in UTF-8.")

    def handle(self, *args, file, **options):
        if not file.is_file():
            raise CommandError(f"{file}: no such file.")
        try:
            report = import_deal_updates(file)
        except DealUpdatesRefused as refused:
            raise CommandError(str(refused)) from refused

        for refusal in report.refusals:
            self.stderr.write(str(refusal))
        self.stdout.write(
            f"{report.file_name}: rows read: {report.row_count}; closed won: "
            f"{report.closed_count}; updated: {report.updated_count}; unchanged: "
            f"{report.unchanged_count}; refused: {report.refused_count} (unknown "
            f"external ids among them: {report.unknown_count})."
        )

        if report.refusals:
            raise CommandError(
                f"{report.refused_count} of {report.row_count} rows were not "
                "applied; each is listed above."
            )
