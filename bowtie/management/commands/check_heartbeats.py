"""Say whether every scheduled job is on schedule; exit 1 when one is not.

For cron or a monitoring agent outside the portal: it notices a dead
scheduler, which the portal's own alerting job cannot.
"""

from django.core.management.base import BaseCommand, CommandError

from bowtie.heartbeats import job_statuses


class Command(BaseCommand):
    help = "Check the heartbeat of every scheduled job; exit 1 if one is late."

    def handle(self, *args, **options):
        statuses = job_statuses()
        for status in statuses:
            self.stdout.write(
                f"{status.name:<20} {status.state:<8} {status.explanation}"
            )
        unhealthy = [status.name for status in statuses if not status.is_healthy]
        if unhealthy:
            raise CommandError(f"Not on schedule: {', '.join(unhealthy)}.")
