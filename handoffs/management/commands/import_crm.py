"""Import a CRM export folder: python manage.py import_crm FOLDER."""

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm.contrib.logging import logging_redirect_tqdm

from bowtie.crm_import import DEFAULT_EMAIL_DOMAIN, DEFAULT_SOURCE, CrmImportError
from handoffs.history import import_crm_history

KINDS = ("accounts", "people", "teams", "products", "deals")


class Command(BaseCommand):
    help = (
        "Import accounts, people, teams, products and deals (as history) from a "
        "folder holding accounts.csv, products.csv, sales_teams.csv and "
        "sales_pipeline.csv. All or nothing; running it again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("folder", type=Path, help="The folder of the export.")
        parser.add_argument(
            "--email-domain",
            default=DEFAULT_EMAIL_DOMAIN,
            help="Domain of the people's derived addresses (firstname.lastname@"
            f"DOMAIN); default {DEFAULT_EMAIL_DOMAIN}.",
        )
        parser.add_argument(
            "--source",
            default=DEFAULT_SOURCE,
            help=f"Marks the deals' external ids; default {DEFAULT_SOURCE}.",
        )

    def handle(self, *args, folder, email_domain, source, **options):
        started = time.monotonic()
        try:
            with logging_redirect_tqdm():
                summary = import_crm_history(
                    folder, source=source, email_domain=email_domain, progress=True
                )
        except CrmImportError as error:
            for problem in error.problems:
                self.stderr.write(problem)
            raise CommandError(
                f"{folder}: nothing was imported, because of the problems above."
            ) from error
        seconds = time.monotonic() - started

        counts = {
            "accounts": summary.account_count,
            "people": summary.person_count,
            "teams": summary.team_count,
            "products": summary.product_count,
            "deals": summary.deal_count,
        }
        changes = summary.changes
        for kind in KINDS:
            self.stdout.write(
                f"{kind:>9}: {counts[kind]:>5} in the export, "
                f"{changes.created[kind]} created, {changes.updated[kind]} updated"
            )
        self.stdout.write(
            f"{'renewals':>9}: {changes.created['renewals']} created, "
            f"{changes.removed['renewals']} removed; "
            f"{changes.updated['packets']} won deals' packets derived"
        )
        if changes.unrated["deals"]:
            # Not guessed: without a rate of creation they have no owner band.
            self.stdout.write(
                f"{changes.unrated['deals']} deals created without a rate of "
                "creation: their currency had no exchange rate today."
            )
        self.stdout.write(f"Imported {folder} in {seconds:.1f} s.")
