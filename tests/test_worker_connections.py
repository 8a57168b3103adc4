"""A Celery worker keeps its database connection from one task to the next."""

import time
from types import SimpleNamespace

import pytest
from celery.fixups.django import DjangoWorkerFixup
from celery.signals import task_postrun
from django.db import connection, transaction

from bowtie.celery import celery_app
from bowtie.models import Delivery
from bowtie.tasks import deliver


def run_task_hooks(fixup: DjangoWorkerFixup) -> None:
    task = SimpleNamespace(request=SimpleNamespace(is_eager=False))
    fixup.on_task_prerun(sender=task)
    fixup.on_task_postrun(sender=task)


@pytest.mark.django_db(transaction=True)
def test_a_task_leaves_a_healthy_connection_open():
    if connection.vendor == "sqlite":
        pytest.skip("Django never closes the in-memory test database.")
    # Celery's own hooks close every connection around each task unless
    # told to reuse them: then every e-mail opened a new PostgreSQL session.
    fixup = DjangoWorkerFixup(celery_app)
    connection.ensure_connection()
    opened = connection.connection

    for _ in range(3):
        run_task_hooks(fixup)

    assert connection.connection is opened


@pytest.mark.django_db(transaction=True)
def test_a_connection_past_its_age_is_closed_after_the_task():
    if connection.vendor == "sqlite":
        pytest.skip("Django never closes the in-memory test database.")
    connection.ensure_connection()
    # Past CONN_MAX_AGE: what Django closes after a request, bowtie.celery
    # closes after a task.
    connection.close_at = time.monotonic() - 1

    task_postrun.send(sender=deliver, task_id="t", task=deliver, args=(), kwargs={})

    assert connection.connection is None


@pytest.mark.django_db(transaction=True)
def test_a_task_run_in_place_inside_a_transaction_keeps_its_connection():
    with transaction.atomic():
        opened = connection.connection
        deliver.apply(args=(0,))

        assert connection.connection is opened
        assert Delivery.objects.count() == 0
