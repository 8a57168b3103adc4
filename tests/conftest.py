"""Fixtures shared across the test suite."""

import importlib
from pathlib import Path

import pytest
from django.conf import settings

from tests.factories import PersonFactory, RoutingRuleFactory, TeamFactory


@pytest.fixture(autouse=True)
def _isolated_side_effects(settings, tmp_path):
    settings.MAILERS = {
        "default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
    }
    settings.CELERY_TASK_ALWAYS_EAGER = True
    # Tests create many users; the production hasher is slow on purpose.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    }
    from bowtie.celery import celery_app

    celery_app.conf.task_always_eager = True


@pytest.fixture(autouse=True)
def _default_configuration(request):
    """Put back the rows the data migrations create.

    Tests with real transactions end with a flush that also removes the
    default SLA targets and scoring weights; tests after them need them back.
    """
    marker = request.node.get_closest_marker("django_db")
    uses_transactions = bool(
        {"transactional_db", "live_server"} & set(request.fixturenames)
    ) or bool(marker and marker.kwargs.get("transaction"))
    if not uses_transactions:
        return
    request.getfixturevalue("transactional_db")
    from django.apps import apps

    defaults = importlib.import_module(
        "handoffs.migrations.0002_default_targets_and_weights"
    )
    ladders = importlib.import_module(
        "handoffs.migrations.0006_default_escalation_ladders"
    )
    pipelines = importlib.import_module("bowtie.migrations.0002_default_pipelines")
    defaults.create_defaults(apps, None)
    ladders.create_ladders(apps, None)
    pipelines.create_pipelines(apps, None)


@pytest.fixture
def sample_data() -> Path:
    """The real input files; tests that need them skip when they are absent."""
    folder = Path(settings.BOWTIE_SAMPLE_DATA)
    if not folder.is_dir():
        pytest.skip(f"sample data folder {folder} is absent (set BOWTIE_SAMPLE_DATA)")
    return folder


@pytest.fixture
def sales_team(db):
    """A round-robin team of three SDRs, caught by a default rule."""
    team = TeamFactory(name="Inbound EMEA")
    manager = PersonFactory(full_name="Mara Manager", role="manager", team=team)
    team.head = manager
    team.save()
    reps = [PersonFactory(full_name=f"Rep {letter}", team=team) for letter in "ABC"]
    RoutingRuleFactory(
        name="Everything else", team=team, is_default=True, priority=1000
    )
    return {"team": team, "manager": manager, "reps": reps}
