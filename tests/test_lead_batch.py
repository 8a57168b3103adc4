"""POST /api/leads/batch: routed as the same leads one by one, each on its own."""

from datetime import UTC, datetime
from unittest import mock

import pytest
import time_machine
from django.core import mail
from django.db import transaction

from handoffs.api import views
from handoffs.models import Lead
from handoffs.services import intake_lead
from tests.factories import (
    AccountDomainFactory,
    AccountFactory,
    ApiTokenFactory,
    PersonFactory,
    RoutingRuleFactory,
    TeamFactory,
)

NOW = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
WRITER_KEY = "bt_batch_writer_0001"
READER_KEY = "bt_batch_reader_0001"
ENGAGED = {
    "visits": 6,
    "time_on_site_seconds": 600,
    "page_views_per_visit": 2,
    "last_activity": "Email Opened",
}


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def writer(db):
    return ApiTokenFactory(key=WRITER_KEY, scopes=["leads:write"])


@pytest.fixture
def routing(sales_team):
    """Three ways a lead can go: the default team, a rule, an account's owner."""
    dach = TeamFactory(name="DACH")
    PersonFactory(full_name="Dieter", team=dach, role="ae")
    PersonFactory(full_name="Dora", team=dach, role="ae")
    RoutingRuleFactory(
        name="German speakers",
        priority=10,
        team=dach,
        conditions=[{"field": "language", "operator": "in", "value": ["de"]}],
    )
    olga = PersonFactory(
        full_name="Olga Owner", role="am", team=TeamFactory(name="Key accounts")
    )
    AccountDomainFactory(
        account=AccountFactory(name="Acme", owner=olga), domain="acme.com"
    )


def twenty_leads() -> list[dict]:
    """Hand-raisers and scored leads, in three languages, some from Acme.

    The last repeats the first person, so it is a touch on that lead.
    """
    leads = []
    for number in range(19):
        domain = "acme.com" if number % 5 == 0 else "globex.com"
        lead = {
            "email": f"person{number}@{domain}",
            "first_name": f"Person {number}",
            "language": ("de", "en", "fr")[number % 3],
            "employee_count": 50 * (number + 1),
            "job_title": ("VP Sales", "Engineer", "Head of Operations")[number % 3],
        }
        if number % 4 == 0:
            lead["form_type"] = "demo_request"
        else:
            lead |= ENGAGED | {"third_party_intent": 5 * number}
            if number % 2:
                lead["utm_medium"] = "cpc"
        leads.append(lead)
    leads.append(dict(leads[0]))
    return leads


def post_batch(client, leads, key=WRITER_KEY):
    return client.post(
        "/api/leads/batch",
        leads,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )


def post_one(client, lead):
    return client.post(
        "/api/leads",
        lead,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {WRITER_KEY}",
    )


def outcome(code: int, body: dict) -> tuple:
    # Ids come from sequences, which a rollback does not wind back.
    return code, {name: value for name, value in body.items() if name != "id"}


def routed_leads() -> list[tuple]:
    return sorted(
        Lead.objects.values_list(
            "email", "owner__full_name", "team__name", "lead_type", "score"
        )
    )


def test_batch_routes_twenty_leads_exactly_as_one_by_one(
    client, routing, writer, frozen
):
    leads = twenty_leads()
    before = transaction.savepoint()
    single = [post_one(client, lead) for lead in leads]
    single_answers = [outcome(r.status_code, r.json()) for r in single]
    single_rows = routed_leads()
    # Back to the state before the first lead: rotation counters included.
    transaction.savepoint_rollback(before)

    response = post_batch(client, leads)

    results = response.json()["results"]
    assert response.status_code == 200
    assert [item["index"] for item in results] == list(range(20))
    assert [outcome(item["status"], item["body"]) for item in results] == (
        single_answers
    )
    assert routed_leads() == single_rows
    owners = {answer["owner"]["name"] for _, answer in single_answers}
    assert owners == {"Rep A", "Rep B", "Rep C", "Dieter", "Dora", "Olga Owner"}
    assert {answer["lead_type"] for _, answer in single_answers} == {
        "hand_raiser",
        "organic",
        "paid",
    }
    assert [code for code, _ in single_answers] == [201] * 19 + [200]


def test_batch_over_the_limit_is_refused_naming_the_limit(
    client, sales_team, writer, settings, frozen
):
    settings.BOWTIE_LEAD_BATCH_LIMIT = 3

    response = post_batch(client, twenty_leads()[:4])

    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": ["Send from 1 to 3 leads in one batch; this one has 4."]
    }
    assert Lead.objects.count() == 0


def test_a_batch_of_the_default_limit_is_taken(client, sales_team, writer, frozen):
    leads = [{"email": f"lead{number}@globex.com"} for number in range(100)]

    response = post_batch(client, leads)

    assert response.status_code == 200
    assert {item["status"] for item in response.json()["results"]} == {201}
    assert Lead.objects.count() == 100


def test_mixed_batch_stores_the_good_leads_and_names_each_bad_field(
    client, sales_team, writer, frozen, django_capture_on_commit_callbacks
):
    leads = [
        {"email": "good@globex.com"},
        {"email": "zoe@", "country": "Atlantis"},
        "not a lead",
        {"email": "fine@globex.com", "favourite_colour": "teal"},
        {"email": "also.good@globex.com"},
    ]

    with django_capture_on_commit_callbacks(execute=True):
        response = post_batch(client, leads)

    results = response.json()["results"]
    assert response.status_code == 200
    assert [(item["index"], item["status"]) for item in results] == [
        (0, 201),
        (1, 400),
        (2, 400),
        (3, 400),
        (4, 201),
    ]
    assert results[1]["body"] == {
        "email": [
            "Not a valid e-mail address: There must be something after the @-sign."
        ],
        "country": ["'Atlantis' is not a known country."],
    }
    assert results[2]["body"] == {"non_field_errors": ["Send one JSON object."]}
    assert results[3]["body"] == {"favourite_colour": ["Unknown field."]}
    assert sorted(Lead.objects.values_list("email", flat=True)) == [
        "also.good@globex.com",
        "good@globex.com",
    ]
    assert sorted(message.to[0] for message in mail.outbox) == sorted(
        rep.email for rep in sales_team["reps"][:2]
    )


def test_a_server_error_in_one_lead_leaves_the_others_stored(
    client, sales_team, writer, frozen
):
    def failing_intake(submission, **kwargs):
        if submission["email"] == "broken@globex.com":
            raise RuntimeError("lost the database")
        return intake_lead(submission, **kwargs)

    leads = [{"email": f"{name}@globex.com"} for name in ("one", "broken", "two")]
    with mock.patch.object(views, "intake_lead", failing_intake):
        response = post_batch(client, leads)

    results = response.json()["results"]
    # Answered as a server error, so that a retry is not a replay of it.
    assert response.status_code == 500
    assert [item["status"] for item in results] == [201, 500, 201]
    assert results[1]["body"] == {"detail": "Server error; send this lead again."}
    assert Lead.objects.count() == 2


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"email": "zoe@globex.com"}, "Send a JSON list of leads."),
        ([], "Send from 1 to 100 leads in one batch; this one has 0."),
    ],
)
def test_batch_that_is_not_a_list_of_leads_is_refused(
    client, sales_team, writer, frozen, body, problem
):
    response = post_batch(client, body)

    assert response.status_code == 400
    assert response.json() == {"non_field_errors": [problem]}
    assert Lead.objects.count() == 0


def test_batch_needs_the_leads_write_scope(client, sales_team, frozen):
    ApiTokenFactory(key=READER_KEY, scopes=["leads:read"])

    response = post_batch(client, [{"email": "zoe@globex.com"}], key=READER_KEY)

    assert response.status_code == 403
    assert Lead.objects.count() == 0


def test_batch_sent_again_under_its_idempotency_key_is_replayed(
    client, sales_team, writer, frozen
):
    leads = [{"email": "zoe@globex.com"}, {"email": "yan@globex.com"}]
    headers = {
        "HTTP_AUTHORIZATION": f"Bearer {WRITER_KEY}",
        "HTTP_IDEMPOTENCY_KEY": "batch-1",
    }

    first = client.post(
        "/api/leads/batch", leads, content_type="application/json", **headers
    )
    again = client.post(
        "/api/leads/batch", leads, content_type="application/json", **headers
    )

    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert [item["status"] for item in again.json()["results"]] == [201, 201]
    assert Lead.objects.count() == 2
