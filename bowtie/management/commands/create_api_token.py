from django.core.management.base import BaseCommand, CommandError

from bowtie.models import ApiToken
from bowtie.services import issue_api_token


class Command(BaseCommand):
    help = "Create an API token for an integration and print its key once."

    def add_arguments(self, parser):
        parser.add_argument("name", help="The integration, e.g. 'Website form'.")
        parser.add_argument(
            "--scope",
            action="append",
            dest="scopes",
            choices=[scope for scope, _ in ApiToken.Scope.choices],
            help="Repeat for several; default: leads:write.",
        )

    def handle(self, *args, name, scopes, **options):
        try:
            token, key = issue_api_token(name, scopes or ["leads:write"])
        except ValueError as error:
            raise CommandError(str(error)) from None
        self.stderr.write(
            f"Token {token.name!r} with scopes {', '.join(token.scopes)}."
        )
        self.stderr.write("Copy the key now; only its hash is stored:")
        self.stdout.write(key)
