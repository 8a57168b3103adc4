"""The Celery application shared by the worker and the beat scheduler."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bowtie.settings")

celery_app = Celery("bowtie")
celery_app.config_from_object("django.conf:settings", namespace="CELERY")
celery_app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def close_old_connections(**kwargs):
    """Around each task, what Django does around each request: a connection
    past CONN_MAX_AGE or left broken is closed, a healthy one is kept."""
    from django.db import close_old_connections

    close_old_connections()
