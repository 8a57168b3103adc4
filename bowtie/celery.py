"""The Celery application shared by the worker and the beat scheduler."""

import os

from celery import Celery, bootsteps
from celery.concurrency.solo import TaskPool as SoloPool
from celery.concurrency.thread import TaskPool as ThreadPool
from celery.signals import task_postrun, task_prerun
from django.core.exceptions import ImproperlyConfigured

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


# The pools beside which the relay's threads may run.
RELAY_POOLS = (ThreadPool, SoloPool)


class OutboxRelayStep(bootsteps.StartStopStep):
    """The outbox relay (bowtie.outbox_relay) beside the worker's pool.

    Every worker runs one when settings ask for it, so a worker added on
    another host sends its share without being told. Celery starts and stops
    the relay `create` returns.
    """

    requires = {"celery.worker.components:Pool"}

    def include_if(self, worker) -> bool:
        from django.conf import settings

        if not settings.BOWTIE_OUTBOX_RELAY:
            return False
        pool = getattr(worker, "pool_cls", None)
        if not (isinstance(pool, type) and issubclass(pool, RELAY_POOLS)):
            # A forking pool would fork beside the relay's running threads,
            # which can leave a child stuck on a lock one of them held; a
            # green-thread pool would turn them into greenlets, untried.
            raise ImproperlyConfigured(
                "The outbox relay runs in threads beside the pool: start the "
                "worker with --pool threads (or solo), or set "
                "BOWTIE_OUTBOX_RELAY=off to send each notification as a task."
            )
        return True

    def create(self, worker):
        from django.conf import settings

        from bowtie.outbox_relay import OutboxRelay

        return OutboxRelay(settings.BOWTIE_OUTBOX_SENDERS)


celery_app.steps["worker"].add(OutboxRelayStep)
