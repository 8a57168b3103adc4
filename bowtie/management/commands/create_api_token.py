from django.core.management.base import BaseCommand, CommandError

from bowtie.models import ApiToken, Person
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
        parser.add_argument(
            "--rate-per-minute",
            type=int,
            help="Its own API rate; default: BOWTIE_API_RATE_PER_MINUTE. 0: none.",
        )
        parser.add_argument(
            "--person",
            metavar="EMAIL",
            help="The person the token acts as; without it, an integration's.",
        )

    def handle(self, *args, name, scopes, rate_per_minute, person, **options):
        if rate_per_minute is not None and rate_per_minute < 0:
            raise CommandError("--rate-per-minute must be 0 or more.")
        try:
            token, key = issue_api_token(
                name,
                scopes or ["leads:write"],
                rate_per_minute=rate_per_minute,
                person=find_person(person) if person else None,
            )
        except ValueError as error:
            raise CommandError(str(error)) from None
        self.stderr.write(
            f"Token {token.name!r} with scopes {', '.join(token.scopes)}."
        )
        self.stderr.write("Copy the key now; only its hash is stored:")
        self.stdout.write(key)


def find_person(email: str) -> Person:
    person = Person.objects.filter(email__iexact=email).first()
    if person is None:
        raise CommandError(f"No person has the address {email}.")
    return person
