"""The Celery application shared by the worker and the beat scheduler."""

import os

from celery import Celery, bootsteps
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bowtie.settings")

celery_app = Celery("bowtie")
celery_app.config_from_object("django.conf:settings", namespace="CELERY")
celery_app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def close_stale_connections(task=None, **kwargs):
    """Around each task, what Django does around each request: a connection
    past CONN_MAX_AGE or left broken is closed, a healthy one is kept.

    Not for a task run in place (eagerly, by a test or a management command):
    it runs inside its caller's work, perhaps inside a transaction, whose
    connection is not the task's to close.
    """
    from django.db import close_old_connections, connection

    if getattr(getattr(task, "request", None), "is_eager", False):
        return
    if connection.in_atomic_block:
        return
    close_old_connections()


class OutboxRelayStep(bootsteps.StartStopStep):
    """The outbox relay (bowtie.outbox_relay) beside the worker's pool.

    Every worker runs one when settings ask for it, so a worker added on
    another host sends its share without being told.
    """

    requires = {"celery.worker.components:Pool"}

    def include_if(self, worker) -> bool:
        from django.conf import settings

        return settings.BOWTIE_OUTBOX_RELAY

    def create(self, worker):
        from django.conf import settings

        from bowtie.outbox_relay import OutboxRelay

        self.relay = OutboxRelay(settings.BOWTIE_OUTBOX_SENDERS)
        return self

    def start(self, worker) -> None:
        self.relay.start()

    def stop(self, worker) -> None:
        self.relay.stop()


celery_app.steps["worker"].add(OutboxRelayStep)
