"""Parallel intake on PostgreSQL: the rotation and deduplication under load.

Each client is a thread with its own database connection, so the one-statement
rotation claim, the team row lock of capacity routing and the partial unique
index are what keep the outcome exact.
"""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core import mail
from django.db import connection

from bowtie.models import Notification, Team
from handoffs.models import Handoff, Lead, RoutingDecision, Touch
from handoffs.services import intake_lead
from tests.factories import PersonFactory, RoutingRuleFactory, TeamFactory

CLIENT_COUNT = 10

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL: SQLite has no row locks and serialises every "
            "writer, so parallel intake proves nothing there"
        )


@pytest.fixture
def team_of_five():
    team = TeamFactory(name="Parallel")
    reps = [
        PersonFactory(full_name=f"Rep {number}", team=team) for number in range(1, 6)
    ]
    RoutingRuleFactory(name="All", team=team, is_default=True)
    return {"team": team, "reps": reps}


def run_clients(submissions_per_client: list[list[dict]]) -> list[list[bool]]:
    """Send each client's submissions from its own thread, all at once."""
    start = threading.Barrier(len(submissions_per_client))

    def client(submissions):
        try:
            start.wait()
            return [
                intake_lead(submission, channel="api").created
                for submission in submissions
            ]
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(submissions_per_client)) as pool:
        return list(pool.map(client, submissions_per_client))


def test_fifty_parallel_leads_give_each_of_five_reps_exactly_ten(team_of_five):
    batches = [
        [{"email": f"client{client}-lead{number}@globex.com"} for number in range(5)]
        for client in range(CLIENT_COUNT)
    ]

    created = run_clients(batches)

    owners = Counter(Lead.objects.values_list("owner__full_name", flat=True))
    assert sum(flag for flags in created for flag in flags) == 50
    assert owners == {f"Rep {number}": 10 for number in range(1, 6)}
    assert Team.objects.get(pk=team_of_five["team"].pk).rotation_position == 50
    assert RoutingDecision.objects.filter(step="default_team").count() == 50
    assert len(mail.outbox) == 50


def test_ten_parallel_repeats_of_one_email_make_one_lead_with_ten_touches(
    team_of_five,
):
    submissions = [
        [{"email": "Zoe@Globex.com", "form_type": "demo_request"}]
        for _ in range(CLIENT_COUNT)
    ]

    created = run_clients(submissions)

    lead = Lead.objects.get()
    assert sorted(flags[0] for flags in created) == [False] * 9 + [True]
    assert lead.email == "zoe@globex.com"
    assert lead.touch_count == 10
    assert Touch.objects.filter(lead=lead, kind="submission").count() == 10
    assert Handoff.objects.count() == 1
    assert RoutingDecision.objects.count() == 1
    assert Notification.objects.count() == 1
    assert Team.objects.get(pk=team_of_five["team"].pk).rotation_position == 1


def test_parallel_leads_never_take_a_capacity_team_past_its_limits():
    team = TeamFactory(name="By load", distribution="capacity")
    for number in range(1, 5):
        PersonFactory(full_name=f"Rep {number}", team=team, capacity=3)
    RoutingRuleFactory(name="All", team=team, is_default=True)
    batches = [
        [{"email": f"client{client}-lead{number}@globex.com"} for number in range(2)]
        for client in range(CLIENT_COUNT)
    ]

    run_clients(batches)

    owners = Counter(
        Lead.objects.exclude(owner=None).values_list("owner__full_name", flat=True)
    )
    assert owners == {f"Rep {number}": 3 for number in range(1, 5)}
    assert Lead.objects.filter(owner=None, team=team).count() == 8
    assert RoutingDecision.objects.filter(step="fallback_queue").count() == 8


def test_parallel_leads_keep_capacity_limits_in_a_round_robin_team():
    team = TeamFactory(name="Capped")
    for number in range(1, 6):
        PersonFactory(full_name=f"Rep {number}", team=team, capacity=2)
    RoutingRuleFactory(name="All", team=team, is_default=True)
    batches = [
        [{"email": f"client{client}-lead{number}@globex.com"} for number in range(2)]
        for client in range(CLIENT_COUNT)
    ]

    run_clients(batches)

    owners = Counter(
        Lead.objects.exclude(owner=None).values_list("owner__full_name", flat=True)
    )
    assert owners == {f"Rep {number}": 2 for number in range(1, 6)}
    assert Lead.objects.filter(owner=None, team=team).count() == 10
    assert Team.objects.get(pk=team.pk).rotation_position == 10


def test_two_sweepers_at_once_take_every_ladder_step_exactly_once(team_of_five):
    from datetime import UTC, datetime, timedelta

    from handoffs.escalation import sweep
    from handoffs.models import LadderStep

    started = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
    for number in range(20):
        intake_lead(
            {"email": f"lead{number}@globex.com", "form_type": "demo_request"},
            channel="api",
            now=started,
        )
    # Past every rung of the response clocks, before the disposition ones.
    swept_at = started + timedelta(days=3)
    start = threading.Barrier(2)

    def sweeper(_):
        try:
            start.wait()
            return sweep(swept_at, batch_size=7)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(sweeper, range(2)))

    response_steps = LadderStep.objects.filter(milestone__key="first_response")
    assert sum(result["steps"] for result in results) == 80
    assert sum(result["breaches"] for result in results) == 20
    assert response_steps.filter(taken_at=swept_at).count() == 80
    # A step taken twice would have moved a lead twice.
    assert RoutingDecision.objects.filter(step="sla_reassignment").count() == 20


def advisory_locks_held() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")
        return cursor.fetchone()[0]


def test_a_failed_intake_gives_back_its_person_lock(team_of_five):
    from unittest import mock

    from django.db import transaction

    with mock.patch("handoffs.services.classify_lead", side_effect=ZeroDivisionError):
        with pytest.raises(ZeroDivisionError):
            intake_lead({"email": "zoe@globex.com"}, channel="api")
        with pytest.raises(ZeroDivisionError), transaction.atomic():
            intake_lead({"email": "zoe@globex.com"}, channel="import")

    assert advisory_locks_held() == 0


def test_a_read_that_fails_beside_the_lock_gives_the_lock_back(team_of_five):
    from unittest import mock

    from psycopg.errors import DivisionByZero

    # The lock is the first statement of the round trip; the token's read,
    # which follows it, fails.
    failing = mock.patch(
        "handoffs.services.configuration_token_statement",
        return_value=("SELECT 1 / %s", [0]),
    )
    with failing, pytest.raises(Exception) as failed:
        intake_lead({"email": "zoe@globex.com"}, channel="api")

    assert isinstance(failed.value.__cause__, DivisionByZero)
    assert advisory_locks_held() == 0
    assert intake_lead({"email": "zoe@globex.com"}, channel="api").created


def test_a_live_submission_during_an_import_of_the_same_person_succeeds(
    team_of_five,
):
    from django.db import transaction

    imported = threading.Event()
    live_done = threading.Event()
    outcome = {}

    def importer():
        try:
            with transaction.atomic():
                intake_lead(
                    {"email": "zoe@globex.com"},
                    channel="import",
                    historical=True,
                    status=Lead.Status.NURTURE,
                )
                imported.set()
                # Hold the import open while the live submission arrives.
                live_done.wait(timeout=2)
        finally:
            connection.close()

    def live():
        try:
            imported.wait(timeout=5)
            outcome["result"] = intake_lead({"email": "zoe@globex.com"}, channel="api")
        except Exception as error:  # reported below, not swallowed
            outcome["error"] = error
        finally:
            live_done.set()
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        for future in [pool.submit(importer), pool.submit(live)]:
            future.result()

    assert "error" not in outcome
    cycles = list(
        Lead.objects.filter(email="zoe@globex.com")
        .order_by("cycle")
        .values_list("cycle", "is_historical", "status")
    )
    assert cycles == [(1, True, "nurture"), (2, False, "new")]
    assert outcome["result"].created is True


def test_a_sweep_passes_by_a_clock_another_transaction_holds(team_of_five):
    from datetime import timedelta
    from unittest import mock

    from django.db import transaction
    from django.utils import timezone

    from handoffs import clocks
    from handoffs.escalation import sweep
    from handoffs.models import Milestone

    for number in range(3):
        intake_lead(
            {"email": f"held{number}@globex.com", "form_type": "demo_request"},
            channel="api",
        )
    held_pk = Milestone.objects.filter(key="first_response").order_by("pk")[0].pk
    locked, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                Milestone.objects.select_for_update().get(pk=held_pk)
                locked.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    locked.wait(timeout=5)
    fetches = mock.Mock(wraps=clocks.due_milestone_ids)
    try:
        with mock.patch.object(clocks, "due_milestone_ids", fetches):
            done = sweep(timezone.now() + timedelta(hours=1), time_budget_seconds=20)
    finally:
        release.set()
        holder.join()

    # The two others breached; the held one is left for the next run, which
    # this run did not spin waiting for.
    assert done["breaches"] == 2
    assert fetches.call_count == 2
    assert Milestone.objects.get(pk=held_pk).breached_at is None
