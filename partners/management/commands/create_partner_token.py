from django.core.management.base import BaseCommand, CommandError

from partners.models import Partner
from partners.services import FieldsRefused
from partners.tokens import READ_ONLY, READ_WRITE, issue_partner_token


class Command(BaseCommand):
    help = (
        "Create an API token that reaches one partner's engagements only, and "
        "print its key once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--partner", required=True, metavar="SLUG")
        parser.add_argument(
            "--name", required=True, help="The partner's system, e.g. 'Acme PSA'."
        )
        parser.add_argument(
            "--read-only",
            action="store_true",
            help="partner:read only; without it, partner:read and partner:write.",
        )
        parser.add_argument(
            "--rate-per-minute",
            type=int,
            help="Its own API rate; default: BOWTIE_API_RATE_PER_MINUTE. 0: none.",
        )

    def handle(self, *args, partner, name, read_only, rate_per_minute, **options):
        found = Partner.objects.filter(slug=partner).first()
        if found is None:
            raise CommandError(f"No partner has the slug {partner!r}.")

        try:
            token, key = issue_partner_token(
                found,
                name,
                None,
                scopes=READ_ONLY if read_only else READ_WRITE,
                rate_per_minute=rate_per_minute,
            )
        except FieldsRefused as refused:
            raise CommandError(str(refused)) from None

        self.stderr.write(
            f"Token {token.name!r} for {found} with scopes {', '.join(token.scopes)}."
        )
        self.stderr.write("Copy the key now; only its hash is stored:")
        self.stdout.write(key)
