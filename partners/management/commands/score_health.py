"""Score customer health: python manage.py score_health [--on DAY | --from --to]."""

from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from bowtie.models import Account
from partners.health import current_weights, score_account_health, score_all_health


def day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{text!r} is not a day (YYYY-MM-DD).") from None


class Command(BaseCommand):
    help = (
        "Score the health of every account with something to score (or of one "
        "account) on a day, or on each day of a range to build the history. "
        "Scoring a day again rewrites its scores."
    )

    def add_arguments(self, parser):
        parser.add_argument("--on", type=day, help="The day; default today (UTC).")
        parser.add_argument("--from", dest="first_on", type=day, help="First day.")
        parser.add_argument("--to", dest="last_on", type=day, help="Last day.")
        parser.add_argument("--account", help="Only the account with this name.")

    def handle(self, *args, on, first_on, last_on, account, **options):
        days = self.days(on, first_on, last_on)
        now = timezone.now()

        if account is None:
            for scored_on in days:
                counts = score_all_health(scored_on, now)
                self.stdout.write(
                    f"{scored_on}: {counts['scored']} accounts scored, "
                    f"{counts['unmeasured']} with nothing to measure, "
                    f"{counts['before_kickoff']} before their kickoff"
                )
            return

        found = Account.objects.filter(name=account).first()
        if found is None:
            raise CommandError(f"No account is named {account!r}.")
        weights = current_weights()
        for scored_on in days:
            health = score_account_health(found, scored_on, now, weights)
            if health is None:
                self.stdout.write(f"{scored_on}: before the kickoff, not scored")
                continue
            parts = ", ".join(
                f"{name} {component['value']}"
                for name, component in health.components.items()
                if component["value"] is not None
            )
            score = "not measurable" if health.score is None else health.score
            self.stdout.write(
                f"{scored_on}: {score}" + (f" ({parts})" if parts else "")
            )

    def days(self, on, first_on, last_on) -> list[date]:
        if on and (first_on or last_on):
            raise CommandError("Give --on, or --from and --to, not both.")
        if bool(first_on) != bool(last_on):
            raise CommandError("Give both --from and --to.")
        if first_on is None:
            return [on or timezone.localdate()]
        if last_on < first_on:
            raise CommandError("--to comes before --from.")
        return [
            first_on + timedelta(days=offset)
            for offset in range((last_on - first_on).days + 1)
        ]
