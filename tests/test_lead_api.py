"""POST /api/leads: token scopes, exact answers, and nothing stored when refused."""

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection

from bowtie.models import ApiToken, Notification
from handoffs.models import Lead, RoutingDecision, Touch
from handoffs.services import intake_lead
from tests.factories import ApiTokenFactory
from tests.round_trips import batches_sent_together, round_trips

NOW = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
WRITER_KEY = "bt_writer_0123456789"
READER_KEY = "bt_reader_0123456789"
DEMO_REQUEST = {
    "email": " Zoe@Globex.com ",
    "first_name": "Zoë",
    "last_name": "Doe",
    "company_name": "Globex",
    "country": "Germany",
    "language": "de-DE",
    "form_type": "demo_request",
}


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def writer(db):
    return ApiTokenFactory(name="CRM sync", key=WRITER_KEY, scopes=["leads:write"])


@pytest.fixture
def reader(db):
    return ApiTokenFactory(name="BI export", key=READER_KEY, scopes=["leads:read"])


def post_lead(client, body, key=WRITER_KEY):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}
    return client.post("/api/leads", body, content_type="application/json", **headers)


def assert_nothing_stored():
    assert Lead.objects.count() == 0
    assert Touch.objects.count() == 0
    assert RoutingDecision.objects.count() == 0
    assert Notification.objects.count() == 0


def test_post_lead_answers_201_with_owner_type_score_due_and_reason(
    client, sales_team, writer, frozen
):
    rep = sales_team["reps"][0]

    response = post_lead(client, DEMO_REQUEST)

    lead = Lead.objects.get()
    assert response.status_code == 201
    assert response.json() == {
        "id": lead.pk,
        "email": "zoe@globex.com",
        "first_name": "Zoë",
        "last_name": "Doe",
        "company_name": "Globex",
        "country": "DE",
        "language": "de",
        "lead_type": "hand_raiser",
        "status": "new",
        "cycle": 1,
        "touch_count": 1,
        "owner": {"id": rep.pk, "name": "Rep A", "email": rep.email},
        "team": {"id": sales_team["team"].pk, "name": "Inbound EMEA"},
        "account": None,
        "score": None,
        "fit_score": None,
        "intent_score": None,
        "third_party_score": None,
        "due_at": "2025-03-04T09:05:00Z",
        "routing_reason": "Matched rule “Everything else” to Inbound EMEA; next "
        "eligible in the round-robin: Rep A.",
        "received_at": "2025-03-04T09:00:00Z",
        "first_response_at": None,
        "closed_at": None,
        "updated_at": "2025-03-04T09:00:00Z",
        "repeat": False,
    }
    assert lead.channel == "api"


def test_post_lead_answers_with_the_score_of_a_scored_lead(
    client, sales_team, writer, frozen
):
    body = {
        "email": "vp@globex.com",
        "employee_count": 500,
        "job_title": "VP Sales",
        "visits": 6,
        "time_on_site_seconds": 600,
        "page_views_per_visit": 2,
        "last_activity": "Email Opened",
        "third_party_intent": 70,
        "utm_medium": "cpc",
    }

    response = post_lead(client, body)

    answer = response.json()
    assert response.status_code == 201
    assert answer["lead_type"] == "paid"
    assert (
        answer["fit_score"],
        answer["intent_score"],
        answer["third_party_score"],
        answer["score"],
    ) == (90, 40, 70, 66)
    assert answer["due_at"] == "2025-03-04T09:03:00Z"


@pytest.mark.parametrize(
    "body",
    [
        DEMO_REQUEST,
        {"email": "vp@globex.com", "job_title": "VP Sales", "utm_medium": "cpc"},
        {"email": "alex@globex.com", "form_type": "webinar", "visits": 2},
    ],
)
def test_post_lead_answers_as_a_later_read_of_the_lead_would(
    client, sales_team, writer, reader, frozen, body
):
    answer = post_lead(client, body).json()

    read = client.get(
        f"/api/leads/{answer['id']}", HTTP_AUTHORIZATION=f"Bearer {READER_KEY}"
    )

    assert answer == read.json() | {"repeat": False}


def test_post_lead_in_the_fallback_queue_answers_as_a_later_read_would(
    client, sales_team, writer, reader, frozen
):
    for rep in sales_team["reps"]:
        rep.is_active = False
        rep.save()

    answer = post_lead(client, DEMO_REQUEST).json()

    read = client.get(
        f"/api/leads/{answer['id']}", HTTP_AUTHORIZATION=f"Bearer {READER_KEY}"
    )
    assert answer["owner"] is None
    assert answer == read.json() | {"repeat": False}


def test_post_lead_costs_a_fixed_number_of_queries_and_reads_nothing_back(
    client, sales_team, writer, frozen, django_assert_num_queries
):
    # The first use of a token records it, and the first lead reads the
    # configuration: measure what every later lead costs.
    ApiToken.objects.filter(pk=writer.pk).update(last_used_at=NOW)
    post_lead(client, DEMO_REQUEST | {"email": "first@globex.com"})
    # The API token's read; the latest cycle, the configuration's token and
    # the account of the domain, asked together; the rotation claim; then,
    # between the transaction's two statements, the new ids of the lead, its
    # routing decision, handoff, clocks, notification and e-mail in one
    # statement, and every row in one batch: those, the touch, the clocks'
    # ladder steps and the audit history of the lead, the handoff and its
    # clocks. Rules, members, targets, calendars, the owner's preferences and
    # the webhook endpoints come from the configuration kept in memory.
    # Outside the test's transaction PostgreSQL takes the lock under which
    # one person's intakes take turns with the reads, and gives it back after.
    statements = 1 + 3 + 1 + 2 + 1 + 11
    expected_round_trips = 7
    if connection.vendor == "sqlite":
        # SQLite takes one statement at a time, and moves and reads each of
        # the six id counters apart.
        statements += 6 * 2 - 1
        expected_round_trips = statements

    with (
        django_assert_num_queries(statements),
        batches_sent_together() as batches,
    ):
        response = post_lead(client, DEMO_REQUEST)

    assert round_trips(statements, batches) == expected_round_trips
    assert response.status_code == 201


def test_post_lead_answers_400_naming_each_bad_field_and_stores_nothing(
    client, sales_team, writer, frozen
):
    body = DEMO_REQUEST | {
        "email": "zoe@",
        "country": "Atlantis",
        "employee_count": "lots",
        "favourite_colour": "teal",
    }

    response = post_lead(client, body)

    assert response.status_code == 400
    assert response.json() == {
        "email": [
            "Not a valid e-mail address: There must be something after the @-sign."
        ],
        "country": ["'Atlantis' is not a known country."],
        "employee_count": ["Must be a whole number, 0 or more."],
        "favourite_colour": ["Unknown field."],
    }
    assert_nothing_stored()


def test_post_lead_answers_400_when_body_is_not_an_object(client, sales_team, writer):
    response = post_lead(client, [DEMO_REQUEST])

    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Send one JSON object."]}
    assert_nothing_stored()


def test_post_lead_answers_401_without_a_token(client, sales_team):
    response = post_lead(client, DEMO_REQUEST, key=None)

    assert response.status_code == 401
    assert response.json() == {
        "detail": "Authentication credentials were not provided."
    }
    assert response["WWW-Authenticate"] == 'Bearer realm="bowtie"'
    assert_nothing_stored()


def test_post_lead_answers_401_with_an_unknown_token(client, sales_team, writer):
    response = post_lead(client, DEMO_REQUEST, key="bt_guessed")

    assert response.status_code == 401
    assert response.json() == {"detail": "Unknown or revoked token."}
    assert_nothing_stored()


def test_post_lead_answers_403_when_token_lacks_the_scope(client, sales_team, reader):
    response = post_lead(client, DEMO_REQUEST, key=READER_KEY)

    assert response.status_code == 403
    assert response.json() == {
        "detail": "You do not have permission to perform this action."
    }
    assert_nothing_stored()


def test_post_lead_answers_401_when_token_is_revoked(client, sales_team, writer):
    writer.revoked_at = NOW
    writer.save()

    response = post_lead(client, DEMO_REQUEST)

    assert response.status_code == 401
    assert response.json() == {"detail": "Unknown or revoked token."}
    assert_nothing_stored()


def test_token_stores_only_a_hash_of_its_key(writer):
    stored = ApiToken.objects.get(pk=writer.pk)

    assert stored.key_hash == hashlib.sha256(WRITER_KEY.encode()).hexdigest()
    assert stored.key_prefix == "bt_writer_"


def test_post_lead_answers_200_with_repeat_when_the_person_is_known(
    client, sales_team, writer, frozen
):
    post_lead(client, DEMO_REQUEST)
    frozen.shift(timedelta(minutes=2))

    response = post_lead(client, DEMO_REQUEST | {"email": "zoe@globex.com"})

    answer = response.json()
    assert response.status_code == 200
    assert answer["repeat"] is True
    assert answer["id"] == Lead.objects.get().pk
    assert answer["touch_count"] == 2
    assert answer["due_at"] == "2025-03-04T09:05:00Z"
    assert answer["owner"]["name"] == "Rep A"


def test_a_repeat_is_among_the_leads_changed_since_it_came(
    client, sales_team, writer, reader, frozen
):
    post_lead(client, DEMO_REQUEST)
    frozen.shift(timedelta(minutes=2))

    post_lead(client, DEMO_REQUEST)

    # A CRM that syncs by updated_since learns of the new touch count.
    changed = client.get(
        "/api/leads",
        {"updated_since": "2025-03-04T09:01:00Z"},
        HTTP_AUTHORIZATION=f"Bearer {READER_KEY}",
    ).json()
    assert [lead["touch_count"] for lead in changed["results"]] == [2]
    assert changed["results"][0]["updated_at"] == "2025-03-04T09:02:00Z"


def test_token_last_used_at_is_recorded_after_a_day_idle(
    client, sales_team, writer, frozen
):
    ApiToken.objects.filter(pk=writer.pk).update(
        last_used_at=NOW - timedelta(days=1, seconds=10)
    )

    post_lead(client, DEMO_REQUEST)

    writer.refresh_from_db()
    assert writer.last_used_at == NOW


def test_token_last_used_at_is_not_rewritten_within_a_minute(
    client, sales_team, writer, frozen
):
    ApiToken.objects.filter(pk=writer.pk).update(
        last_used_at=NOW - timedelta(seconds=59)
    )

    post_lead(client, DEMO_REQUEST)

    writer.refresh_from_db()
    assert writer.last_used_at == NOW - timedelta(seconds=59)


def test_list_leads_answers_with_a_page_newest_first(
    client, sales_team, writer, reader, frozen
):
    post_lead(client, DEMO_REQUEST)
    frozen.shift(timedelta(minutes=1))
    post_lead(client, {"email": "yan@globex.com"})

    response = client.get("/api/leads", HTTP_AUTHORIZATION=f"Bearer {READER_KEY}")

    answer = response.json()
    assert response.status_code == 200
    assert [lead["email"] for lead in answer["results"]] == [
        "yan@globex.com",
        "zoe@globex.com",
    ]
    assert [lead["due_at"] for lead in answer["results"]] == [
        "2025-03-04T09:11:00Z",
        "2025-03-04T09:05:00Z",
    ]
    assert answer["next"] is None


def test_list_leads_costs_three_queries_for_one_lead_or_many(
    client, sales_team, writer, reader, frozen, django_assert_num_queries
):
    # The first use of a token records it; measure what every later page costs.
    ApiToken.objects.filter(pk=reader.pk).update(last_used_at=NOW)
    post_lead(client, DEMO_REQUEST)
    with django_assert_num_queries(3):
        client.get("/api/leads", HTTP_AUTHORIZATION=f"Bearer {READER_KEY}")
    for number in range(4):
        post_lead(client, {"email": f"lead{number}@globex.com"})

    with django_assert_num_queries(3):
        response = client.get("/api/leads", HTTP_AUTHORIZATION=f"Bearer {READER_KEY}")

    assert len(response.json()["results"]) == 5


def test_list_leads_answers_403_to_a_write_only_token(client, sales_team, writer):
    response = client.get("/api/leads", HTTP_AUTHORIZATION=f"Bearer {WRITER_KEY}")

    assert response.status_code == 403


def test_lead_api_lists_only_visible_leads_to_a_signed_in_rep(client, sales_team):
    rep_a, rep_b, _ = sales_team["reps"]
    intake_lead({"email": "first@example.org"}, channel="api")
    intake_lead({"email": "second@example.org"}, channel="api")
    client.force_login(rep_b.user)

    response = client.get("/api/leads")

    assert response.status_code == 200
    assert [lead["email"] for lead in response.json()["results"]] == [
        "second@example.org"
    ]


def test_lead_api_refuses_a_signed_in_user_without_a_person(client, django_user_model):
    user = django_user_model.objects.create_user("no-person", password="x")
    client.force_login(user)

    response = client.get("/api/leads")

    assert response.status_code == 403
