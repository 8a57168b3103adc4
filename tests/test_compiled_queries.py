"""A query compiled once answers as its queryset does, for any values."""

from datetime import UTC, datetime

import pytest
from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    connection,
    connections,
)

from bowtie.compiled_queries import CompiledQuery, run_together, write_together
from handoffs.models import Lead
from handoffs.services import LATEST_CYCLE_BY_EMAIL as LATEST_CYCLE
from handoffs.services import find_latest_cycle
from tests.factories import LeadFactory
from tests.round_trips import on_postgresql, pipelines_entered

NOW = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
# Only PostgreSQL's statements are prepared, pipelined and health-checked here.
postgresql_only = pytest.mark.skipif(
    not on_postgresql(), reason="what psycopg does on PostgreSQL"
)
BY_EMAIL = CompiledQuery(
    lambda email: (
        Lead.objects.filter(email=email, closed_at__isnull=True)
        .only("id", "cycle")
        .order_by("-cycle")[:1]
    ),
    "someone@example.org",
)


def first_instance(query: CompiledQuery, *values):
    return query.first_instance_of(query.fetched(*values))


@pytest.mark.django_db
def test_each_run_takes_its_own_values():
    first = LeadFactory(email="a@example.org")
    second = LeadFactory(email="b@example.org")

    found = [first_instance(BY_EMAIL, lead.email) for lead in (first, second)]

    assert [lead.pk for lead in found] == [first.pk, second.pk]
    assert found[1].get_deferred_fields() >= {"email", "closed_at"}
    assert first_instance(BY_EMAIL, "nobody@example.org") is None


@pytest.mark.django_db
def test_constants_of_the_query_stay_as_they_are():
    live = LeadFactory(email="c@example.org", cycle=1, closed_at=NOW)
    LeadFactory(email="c@example.org", cycle=2, is_historical=True)
    # 0 == False: the example 0 must not take the place of the constant False.
    live_from_cycle = CompiledQuery(
        lambda email, cycle: Lead.objects.filter(
            email=email, cycle__gte=cycle, is_historical=False
        ).values_list("id", flat=True),
        "x@example.org",
        0,
    )

    assert live_from_cycle.rows("c@example.org", 1) == [(live.pk,)]
    assert live_from_cycle.rows("c@example.org", 2) == []


@pytest.mark.django_db
def test_the_latest_cycle_is_found_by_email_and_by_external_id():
    LeadFactory(email="d@example.org", cycle=1, closed_at=NOW)
    latest = LeadFactory(email="d@example.org", cycle=2)
    by_id = LeadFactory(email="", external_source="crm", external_id="17")
    LeadFactory(email="", external_source="erp", external_id="17", cycle=3)

    assert find_latest_cycle({"email": "d@example.org"}).pk == latest.pk
    found = find_latest_cycle(
        {"email": "", "external_source": "crm", "external_id": "17"}
    )
    assert found.pk == by_id.pk


def test_a_lookup_that_changes_its_value_is_refused():
    query = CompiledQuery(
        lambda part: Lead.objects.filter(email__contains=part).values_list("id"),
        "example",
    )

    with pytest.raises(NotImplementedError, match="'example' is not among"):
        query.rows("other")


def test_values_rather_than_instances_are_not_made_into_instances():
    query = CompiledQuery(
        lambda email: Lead.objects.filter(email=email).values_list("id"),
        "x@example.org",
    )

    with pytest.raises(TypeError, match="gives values"):
        query.first_instance_of([(1,)])


@pytest.mark.django_db
def test_columns_are_converted_as_the_orm_converts_them():
    lead = LeadFactory(email="e@example.org", engagement={"visits": 3})
    query = CompiledQuery(
        lambda email: Lead.objects.filter(email=email).values_list(
            "engagement", "received_at"
        ),
        "x@example.org",
    )

    assert query.rows("e@example.org") == [({"visits": 3}, lead.received_at)]
    # Converted once, however the rows are read.
    assert query.first_value("e@example.org") == {"visits": 3}


def test_examples_must_differ():
    query = CompiledQuery(
        lambda a, b: Lead.objects.filter(first_name=a, last_name=b).values_list("id"),
        "Kim",
        "Kim",
    )

    with pytest.raises(ValueError, match="given twice"):
        query.rows("Kim", "Lee")


@pytest.mark.django_db
def test_statements_run_together_answer_each_in_order(django_assert_num_queries):
    lead = LeadFactory(email="e@example.org", cycle=2)
    together = [
        LATEST_CYCLE.statement("e@example.org"),
        ("SELECT %s", [7]),
        LATEST_CYCLE.statement("nobody@example.org"),
    ]

    with django_assert_num_queries(3), pipelines_entered() as pipelines:
        cycle_rows, number_rows, no_rows = run_together(together)

    assert LATEST_CYCLE.first_instance_of(cycle_rows).pk == lead.pk
    assert number_rows == [(7,)]
    assert LATEST_CYCLE.first_instance_of(no_rows) is None
    # One round trip on PostgreSQL; SQLite takes one statement at a time.
    assert pipelines == ([1] if on_postgresql() else [0])


@pytest.mark.django_db(transaction=True)
def test_a_failing_statement_undoes_those_before_it_and_stops_the_rest():
    LeadFactory(email="f@example.org", first_name="Kept", last_name="Kept")
    together = [
        ("UPDATE handoffs_lead SET first_name = %s", ["Changed"]),
        ("SELECT no_such_column FROM handoffs_lead", []),
        ("UPDATE handoffs_lead SET last_name = %s", ["Changed"]),
    ]

    with pytest.raises(DatabaseError, match="no_such_column"):
        write_together(together)

    lead = Lead.objects.get()
    # On SQLite the first ran in a transaction of its own.
    assert lead.first_name == ("Kept" if on_postgresql() else "Changed")
    assert lead.last_name == "Kept"


@postgresql_only
@pytest.mark.django_db
def test_statements_sent_together_are_prepared_once_per_connection():
    lead = LeadFactory(email="g@example.org", cycle=3)

    for _ in range(3):
        [cycle_rows] = run_together([LATEST_CYCLE.statement("g@example.org")])

    assert LATEST_CYCLE.first_instance_of(cycle_rows).pk == lead.pk
    assert prepared_statements_like("%handoffs_lead%") == 1
    # As BOWTIE_PREPARED_STATEMENTS set it, through Django's OPTIONS.
    assert connection.connection.prepare_threshold == 0


@postgresql_only
@pytest.mark.django_db
def test_nothing_is_prepared_when_prepared_statements_are_off(monkeypatch):
    lead = LeadFactory(email="h@example.org")
    connection.ensure_connection()
    monkeypatch.setattr(connection.connection, "prepare_threshold", None)

    for _ in range(3):
        [cycle_rows] = run_together([LATEST_CYCLE.statement("h@example.org")])

    assert LATEST_CYCLE.first_instance_of(cycle_rows).pk == lead.pk
    assert prepared_statements_like("%handoffs_lead%") == 0


def prepared_statements_like(pattern: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            [pattern],
        )
        return cursor.fetchone()[0]


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_connection_lost_between_requests_is_opened_again(monkeypatch):
    database = connections[DEFAULT_DB_ALIAS]
    database.ensure_connection()
    # As when the server went away while the connection was kept for reuse.
    database.connection.close()
    monkeypatch.setattr(database, "health_check_enabled", True)
    monkeypatch.setattr(database, "health_check_done", False)

    [[(answer,)]] = run_together([("SELECT %s", [7])])

    assert answer == 7
