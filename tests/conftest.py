"""Fixtures shared across the test suite."""

import importlib
import os
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.core.cache import caches
from django.db import connections
from django.utils import timezone

from tests.factories import PersonFactory, RoutingRuleFactory, TeamFactory


@pytest.fixture(autouse=True)
def _isolated_side_effects(settings, tmp_path):
    settings.MAILERS = {
        "default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
    }
    settings.CELERY_TASK_ALWAYS_EAGER = True
    # Deliveries go out through eager tasks, in the test's own thread; the
    # relay's tests start one themselves (tests/test_outbox_relay.py).
    settings.BOWTIE_OUTBOX_RELAY = False
    # Tests create many users; the production hasher is slow on purpose.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    }
    # A local-memory cache outlives the test, and so would the API throttle's
    # counts: on SQLite the next test's token reuses the same id, and under a
    # frozen clock those counts never leave their minute.
    caches["default"].clear()
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
    business_time = importlib.import_module(
        "handoffs.migrations.0009_business_time_responses"
    )
    implementation = importlib.import_module(
        "handoffs.migrations.0015_sales_to_implementation_defaults"
    )
    resubmission = importlib.import_module(
        "handoffs.migrations.0023_packet_resubmission_clock"
    )
    cs_handoff = importlib.import_module(
        "handoffs.migrations.0024_implementation_to_cs_defaults"
    )
    health_weights = importlib.import_module(
        "partners.migrations.0002_default_health_weights"
    )
    expansion_pipelines = importlib.import_module(
        "bowtie.migrations.0019_expansion_pipelines"
    )
    ownership = importlib.import_module(
        "bowtie.migrations.0020_default_ownership_bands"
    )
    signal_rules = importlib.import_module(
        "expansion.migrations.0002_default_signal_rules"
    )
    subscription_rules = importlib.import_module(
        "expansion.migrations.0003_default_subscription_rules"
    )
    expansion_handoff = importlib.import_module(
        "handoffs.migrations.0025_cs_to_sales_defaults"
    )
    indicators = importlib.import_module("bowtie.migrations.0025_default_indicators")
    defaults.create_defaults(apps, None)
    ladders.create_ladders(apps, None)
    business_time.count_business_time(apps, None)
    pipelines.create_pipelines(apps, None)
    implementation.create_defaults(apps, None)
    resubmission.create_resubmission_clock(apps, None)
    cs_handoff.create_defaults(apps, None)
    health_weights.create_weights(apps, None)
    expansion_pipelines.create_pipelines(apps, None)
    ownership.create_bands(apps, None)
    signal_rules.create_rules(apps, None)
    subscription_rules.create_rules(apps, None)
    expansion_handoff.create_defaults(apps, None)
    indicators.add_default_indicators(apps, None)


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


# Browser tests: Debian's Chromium, driven by Playwright.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_browser() -> None:
    """Skip without Chromium and Playwright, or fail if the run requires them."""
    problem = None
    if not CHROMIUM.exists():
        problem = f"Chromium is not installed at {CHROMIUM}"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "the Python package playwright is not installed"
    if problem is None:
        return
    if os.environ.get("BOWTIE_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{problem}, and BOWTIE_REQUIRE_BROWSER=1 requires browser tests.")
    pytest.skip(f"{problem}; set BOWTIE_REQUIRE_BROWSER=1 to make this a failure.")


@pytest.fixture
def frozen_now():
    """Server time, frozen at the start of the current minute; shift it by hand.

    Close to the real time on purpose: Chromium judges cookie expiry by its own
    clock, so a session issued far in the past would be dropped at once.
    """
    start = timezone.now().replace(second=0, microsecond=0)
    with time_machine.travel(start, tick=False) as traveller:
        yield traveller


@pytest.fixture
def page(monkeypatch):
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    # The sync API keeps an event loop running in this thread. The test's ORM
    # calls between browser steps are plain synchronous ones all the same, but
    # Django keys their connection to that loop, so it is closed here by hand;
    # left open, it keeps PostgreSQL from dropping the test database.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    expect.set_options(timeout=10_000)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        context = browser.new_context(
            locale="en-GB",
            timezone_id="Europe/Berlin",
            viewport={"width": 1280, "height": 900},
        )
        context.set_default_timeout(10_000)
        yield context.new_page()
        connections.close_all()
        context.close()
        browser.close()
