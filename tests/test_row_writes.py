"""Rows written in a batch read back as the ORM would have stored them."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from bowtie.audit import history_model_of
from bowtie.row_writes import allocate_ids, assign_ids, insert_rows
from handoffs.models import Handoff, Lead, Touch
from tests.factories import AccountFactory, PersonFactory, TeamFactory

NOW = datetime(2025, 3, 4, 9, 0, 0, 123456, tzinfo=UTC)
# Kept out of the comparison: keys and the moment auto_now stamps.
UNCOMPARED = {"id", "history_id", "lead_id", "updated_at", "history_date"}


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


@pytest.mark.django_db(transaction=True)
def test_batch_rows_and_their_history_read_back_as_the_orm_writes_them():
    team, account = TeamFactory(), AccountFactory()
    owner = PersonFactory(team=team)
    by_orm, by_orm_handoff = lead_and_handoff("a@example.org", team, owner, account)
    batched, batched_handoff = lead_and_handoff("b@example.org", team, owner, account)

    with transaction.atomic():
        by_orm.save()
        by_orm_handoff.lead = by_orm
        by_orm_handoff.save()
    with transaction.atomic():
        assign_ids([batched, batched_handoff])
        insert_rows([batched, batched_handoff], when=NOW)

    assert stored(batched) | {"email": "a@example.org"} == stored(by_orm)
    assert stored(batched_handoff) == stored(by_orm_handoff)
    assert stored(batched_handoff)["annual_value_eur"] == Decimal("12500.50")
    assert history_of(batched)[0] | {"email": "a@example.org"} == history_of(by_orm)[0]
    assert history_of(batched_handoff) == history_of(by_orm_handoff)
    assert history_model_of(Lead).objects.get(id=batched.pk).history_date == NOW
    # The row and its history carry the same automatic update time.
    assert (
        history_model_of(Lead).objects.get(id=batched.pk).updated_at
        == Lead.objects.get(pk=batched.pk).updated_at
    )


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
def test_a_failing_batch_writes_nothing():
    team, account = TeamFactory(), AccountFactory()
    owner = PersonFactory(team=team)
    lead, handoff = lead_and_handoff("d@example.org", team, owner, account)
    handoff.kind = None

    with pytest.raises(IntegrityError):
        with transaction.atomic():
            assign_ids([lead, handoff])
            insert_rows([lead, handoff], when=NOW)

    assert Lead.objects.count() == 0
    assert history_model_of(Lead).objects.count() == 0
