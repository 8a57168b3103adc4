"""Rows written in a batch read back as the ORM would have stored them."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db import connection, models, transaction
from django.test.utils import CaptureQueriesContext, isolate_apps
from django.utils.translation import gettext_lazy
from simple_history.models import HistoricalRecords

from bowtie.audit import history_model_of
from bowtie.models import Delivery, Notification
from bowtie.row_writes import (
    allocate_ids,
    assign_ids,
    insert_fields,
    insert_rows,
    key_sequence,
)
from handoffs.models import Handoff, Lead, Milestone, RoutingDecision, Touch
from tests.factories import AccountFactory, PersonFactory, TeamFactory, UserFactory
from tests.round_trips import batches_sent_together, round_trips

NOW = datetime(2025, 3, 4, 9, 0, 0, 123456, tzinfo=UTC)
# Kept out of the comparison: keys and the moment auto_now stamps.
UNCOMPARED = {
    "id",
    "history_id",
    "lead_id",
    "handoff_id",
    "notification_id",
    "updated_at",
    "history_date",
}


def lead_and_handoff(email: str, team, owner, account) -> tuple[Lead, Handoff]:
    lead = Lead(
        email=email,
        first_name="Zoë",
        last_name="Müller",
        company_name="Müller GmbH",
        country="DE",
        account=account,
        team=team,
        owner=owner,
        engagement={"pages": ["/pricing"], "visits": 3, "nested": {"a": None}},
        score_weights={"fit": 40, "intent": 40, "third_party": 20},
        employee_count=250,
        fit_score=30,
        received_at=NOW,
        first_response_at=None,
        do_not_email=True,
    )
    handoff = Handoff(
        kind=Handoff.Kind.LEAD_TO_SALES,
        lead=lead,
        receiving_team=team,
        receiver=owner,
        opened_at=NOW,
        packet={"score": {"total": 55}, "buying_group": []},
        annual_value_eur=Decimal("12500.50"),
    )
    return lead, handoff


def stored(instance) -> dict:
    fresh = type(instance).objects.get(pk=instance.pk)
    return {
        field.attname: getattr(fresh, field.attname)
        for field in fresh._meta.concrete_fields
        if field.attname not in UNCOMPARED
    }


def history_of(instance) -> list[dict]:
    history_model = history_model_of(type(instance))
    return [
        {
            field.attname: getattr(row, field.attname)
            for field in history_model._meta.concrete_fields
            if field.attname not in UNCOMPARED
        }
        for row in history_model.objects.filter(id=instance.pk)
    ]


def related_rows(lead, handoff, team, owner) -> list:
    decision = RoutingDecision(
        lead=lead,
        step="default_team",
        team=team,
        person=owner,
        reason="Round-robin in the team.",
        candidates=[{"id": owner.pk, "eligible": True, "why": None}],
        decided_at=NOW,
    )
    milestone = Milestone(
        handoff=handoff,
        key="first_response",
        label="First response",
        target_seconds=300,
        started_at=NOW,
        due_at=NOW + timedelta(minutes=5),
    )
    notification = Notification(
        recipient=owner,
        event_key=f"test:{lead.email}",
        topic="new_work",
        subject="New lead",
        body="Hand-raiser lead from Müller GmbH.",
        url="/leads/1/",
        created_at=NOW,
    )
    delivery = Delivery(notification=notification, channel="email")
    return [decision, milestone, notification, delivery]


@pytest.mark.django_db(transaction=True)
def test_batch_rows_and_their_history_read_back_as_the_orm_writes_them():
    team, account = TeamFactory(), AccountFactory()
    owner = PersonFactory(team=team)
    user = UserFactory()
    by_orm, by_orm_handoff = lead_and_handoff("a@example.org", team, owner, account)
    batched, batched_handoff = lead_and_handoff("b@example.org", team, owner, account)
    orm_rows = related_rows(by_orm, by_orm_handoff, team, owner)
    batch_rows = related_rows(batched, batched_handoff, team, owner)
    # Audit history names the signed-in person who made the change.
    HistoricalRecords.context.request = SimpleNamespace(user=user)

    try:
        with transaction.atomic():
            for row in [by_orm, by_orm_handoff, *orm_rows]:
                row.save()
        with transaction.atomic():
            rows = [batched, batched_handoff, *batch_rows]
            assign_ids(rows)
            insert_rows(rows)
    finally:
        del HistoricalRecords.context.request

    different = {"email": "a@example.org", "event_key": "test:a@example.org"}
    assert stored(batched) | {"email": "a@example.org"} == stored(by_orm)
    assert stored(batched_handoff) == stored(by_orm_handoff)
    for batch_row, orm_row in zip(batch_rows, orm_rows, strict=True):
        assert without(stored(batch_row), different) == without(
            stored(orm_row), different
        )
    assert stored(batched_handoff)["annual_value_eur"] == Decimal("12500.50")
    for batched_row, orm_row in [
        (batched, by_orm),
        (batched_handoff, by_orm_handoff),
        (batch_rows[1], orm_rows[1]),
    ]:
        assert without(history_of(batched_row)[0], different) == without(
            history_of(orm_row)[0], different
        )
        assert history_of(batched_row)[0]["history_user_id"] == user.pk
    # The row and its history carry the same automatic update time.
    assert (
        history_model_of(Lead).objects.get(id=batched.pk).updated_at
        == Lead.objects.get(pk=batched.pk).updated_at
    )


def without(values: dict, keys) -> dict:
    return {key: value for key, value in values.items() if key not in keys}


@pytest.mark.django_db(transaction=True)
def test_allocated_ids_are_never_handed_out_again():
    with transaction.atomic():
        allocated = allocate_ids({Lead: 3, Touch: 1})
    team, account = TeamFactory(), AccountFactory()
    lead, _ = lead_and_handoff("c@example.org", team, PersonFactory(), account)
    lead.save()

    assert len(set(allocated[Lead])) == 3
    assert lead.pk > max(allocated[Lead])
    with transaction.atomic():
        assert min(allocate_ids({Lead: 1})[Lead]) > lead.pk


@pytest.mark.django_db(transaction=True)
def test_on_postgresql_the_whole_batch_is_two_round_trips():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite takes one statement at a time.")
    team, account = TeamFactory(), AccountFactory()
    owner = PersonFactory(team=team)
    lead, handoff = lead_and_handoff("d@example.org", team, owner, account)
    rows = [lead, handoff, *related_rows(lead, handoff, team, owner)]
    # Each table's sequence is looked up once per process, before the first.
    for model in {type(row) for row in rows}:
        key_sequence(model)

    # Between the transaction's two statements: the ids, then every row.
    with CaptureQueriesContext(connection) as log, batches_sent_together() as batches:
        with transaction.atomic():
            assign_ids(rows)
            insert_rows(rows)

    assert round_trips(len(log.captured_queries), batches) == 4

    assert Lead.objects.filter(pk=lead.pk).exists()
    assert history_model_of(Milestone).objects.count() == 1


@isolate_apps("handoffs")
def test_a_field_the_json_path_cannot_store_is_refused():
    class Timed(models.Model):
        spent = models.DurationField()

        class Meta:
            app_label = "handoffs"

        def __str__(self):
            return str(self.spent)

    with pytest.raises(NotImplementedError, match="ORM's insert compiler"):
        insert_fields(Timed, True)


@pytest.mark.django_db(transaction=True)
def test_a_row_pointing_at_an_unsaved_row_is_refused_naming_the_field():
    team = TeamFactory()
    lead, _ = lead_and_handoff("e@example.org", team, PersonFactory(), None)
    touch = Touch(lead=lead, kind=Touch.Kind.SUBMISSION, occurred_at=NOW)

    with pytest.raises(ValueError, match="Touch.lead points at an unsaved Lead"):
        with transaction.atomic():
            insert_rows([touch])

    assert not Touch.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_new_row_that_keeps_history_must_come_with_its_key():
    lead, _ = lead_and_handoff("f@example.org", TeamFactory(), PersonFactory(), None)

    with pytest.raises(ValueError, match="give it its key first"):
        with transaction.atomic():
            insert_rows([lead])

    assert not Lead.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_lazy_text_is_stored_as_its_text():
    owner = PersonFactory()
    notification = Notification(
        recipient=owner,
        event_key="test:lazy",
        topic="new_work",
        subject=gettext_lazy("New lead"),
        body="",
        created_at=NOW,
    )

    with transaction.atomic():
        assign_ids([notification])
        insert_rows([notification])

    assert Notification.objects.get(pk=notification.pk).subject == "New lead"


@pytest.mark.django_db(transaction=True)
def test_lazy_text_inside_a_json_value_is_refused_as_the_orm_refuses_it():
    lead, _ = lead_and_handoff("g@example.org", TeamFactory(), PersonFactory(), None)
    lead.engagement = {"last_activity": gettext_lazy("Email Opened")}

    with pytest.raises(TypeError, match="not JSON serializable"):
        with transaction.atomic():
            assign_ids([lead])
            insert_rows([lead])

    assert not Lead.objects.exists()
