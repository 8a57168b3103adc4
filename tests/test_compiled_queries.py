"""A query compiled once answers as its queryset does, for any values."""

import pytest

from bowtie.compiled_queries import CompiledQuery
from handoffs.models import Lead
from handoffs.services import find_latest_cycle
from tests.factories import LeadFactory

BY_EMAIL = CompiledQuery(
    lambda email: (
        Lead.objects.filter(email=email, closed_at__isnull=True)
        .only("id", "cycle")
        .order_by("-cycle")[:1]
    ),
    "someone@example.org",
)


@pytest.mark.django_db
def test_each_run_takes_its_own_values():
    first = LeadFactory(email="a@example.org")
    second = LeadFactory(email="b@example.org")

    found = [BY_EMAIL.first_instance(lead.email) for lead in (first, second)]

    assert [lead.pk for lead in found] == [first.pk, second.pk]
    assert found[1].get_deferred_fields() >= {"email", "closed_at"}
    assert BY_EMAIL.first_instance("nobody@example.org") is None


@pytest.mark.django_db
def test_constants_of_the_query_stay_as_they_are():
    open_lead = LeadFactory(email="c@example.org")
    count = CompiledQuery(
        lambda email, cycle: Lead.objects.filter(
            email=email, cycle__gte=cycle, is_historical=False
        ).values_list("id", flat=True),
        "x@example.org",
        7,
    )

    assert count.rows("c@example.org", 1) == [(open_lead.pk,)]
    assert count.rows("c@example.org", 2) == []


@pytest.mark.django_db
def test_the_latest_cycle_is_found_by_email_and_by_external_id():
    by_email = LeadFactory(email="d@example.org", cycle=2)
    by_id = LeadFactory(email="", external_source="crm", external_id="17", cycle=1)

    assert find_latest_cycle({"email": "d@example.org"}).pk == by_email.pk
    found = find_latest_cycle(
        {"email": "", "external_source": "crm", "external_id": "17"}
    )
    assert (found.pk, found.cycle) == (by_id.pk, 1)


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


def test_examples_must_differ():
    query = CompiledQuery(
        lambda a, b: Lead.objects.filter(first_name=a, last_name=b).values_list("id"),
        "Kim",
        "Kim",
    )

    with pytest.raises(ValueError, match="given twice"):
        query.rows("Kim", "Lee")
