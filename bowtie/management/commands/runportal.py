"""Run the whole portal in one terminal: web server, Celery worker and beat."""

import os
import sys

from django.conf import settings
from django.core.management.base import BaseCommand
from honcho.manager import Manager


class Command(BaseCommand):
    help = "Start the web server, the Celery worker and the beat scheduler together."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default="127.0.0.1:8000")
        parser.add_argument("--web-workers", type=int, default=2)

    def handle(self, *args, bind, web_workers, **options):
        python = sys.executable
        processes = {
            "web": (
                f"{python} -m gunicorn bowtie.wsgi --bind {bind} "
                f"--workers {web_workers} --threads 4 --access-logfile -"
            ),
            # Threads, not prefork: the embedded SQLite database and folder
            # broker are happiest with one worker process.
            "worker": f"{python} -m celery -A bowtie worker --pool threads "
            "--concurrency 4 --loglevel INFO",
            "beat": f"{python} -m celery -A bowtie beat --loglevel INFO "
            f"--schedule {settings.CELERY_BEAT_SCHEDULE_FILENAME}",
        }

        self.stdout.write(
            f"\nBowtie is starting on http://{bind}/ "
            f"(database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}, "
            f"broker: {settings.CELERY_BROKER_URL.split(':', 1)[0]})\n"
            f"Public lead form: http://{bind}/form/ · Stop with Ctrl-C.\n"
        )
        manager = Manager()
        for name, command in processes.items():
            manager.add_process(name, command, env=dict(os.environ))
        manager.loop()
        sys.exit(manager.returncode)
