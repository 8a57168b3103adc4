"""/api/deals: the packet gate holds on PATCH, and refusals store nothing."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from djmoney.money import Money

from bowtie.models import ApiToken, Deal, Notification, Stage
from handoffs.closing import save_deal_packet
from handoffs.models import Handoff
from tests.deal_fixtures import (
    COMPLETE_PACKET,
    INCOMPLETE_PACKET,
    MISSING_FROM_INCOMPLETE,
    build_open_deal,
)
from tests.factories import AccountFactory, ApiTokenFactory, PersonFactory

NOW = datetime(2027, 1, 31, 10, 0, tzinfo=UTC)
WRITER_KEY = "bt_deal_writer_0123"
READER_KEY = "bt_deal_reader_0123"
LEAD_KEY = "bt_lead_writer_0123"


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def open_deal(db, frozen):
    return build_open_deal()


@pytest.fixture
def writer(db):
    return ApiTokenFactory(name="CRM sync", key=WRITER_KEY, scopes=["deals:write"])


@pytest.fixture
def reader(db):
    return ApiTokenFactory(name="BI export", key=READER_KEY, scopes=["deals:read"])


def patch_deal(client, deal, body, key=WRITER_KEY):
    return client.patch(
        f"/api/deals/{deal.pk}",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )


def assert_still_open(deal):
    stored = Deal.objects.get(pk=deal.pk)
    assert (stored.stage.name, stored.closed_on, stored.amount) == (
        "Engaging",
        None,
        Money(24_000, "EUR"),
    )
    assert Handoff.objects.count() == 0
    assert Deal.objects.filter(renews=deal).count() == 0


def test_patch_to_won_with_an_incomplete_packet_answers_400_and_stores_nothing(
    client, open_deal, writer
):
    save_deal_packet(open_deal.deal, INCOMPLETE_PACKET)

    response = patch_deal(
        client, open_deal.deal, {"stage": "Won", "amount": "30000", "term_months": 24}
    )

    body = response.json()
    assert response.status_code == 400
    assert body["stage"] == [
        "Closed Won needs a complete handoff packet; 5 required item(s) missing."
    ]
    assert [item["key"] for item in body["missing"]] == MISSING_FROM_INCOMPLETE
    assert body["missing"][0] == {
        "key": "goals",
        "text": "Goals: Goals with measurable success criteria: add at least one.",
    }
    assert set(body) == {"stage", "missing"}
    # The amount and term sent beside the stage were rolled back with it.
    assert_still_open(open_deal.deal)
    assert Deal.objects.get(pk=open_deal.deal.pk).term_months == 12


def test_patch_to_won_with_a_complete_packet_answers_200_with_handoff_and_renewal(
    client, open_deal, writer
):
    save_deal_packet(open_deal.deal, COMPLETE_PACKET)

    response = patch_deal(client, open_deal.deal, {"stage": "Won"})

    body = response.json()
    handoff = Handoff.objects.get()
    renewal = Deal.objects.get(renews=open_deal.deal)
    assert response.status_code == 200
    assert (body["handoff"], body["renewal"]) == (handoff.pk, renewal.pk)
    assert body["stage"]["name"] == "Won"
    assert (body["closed_on"], body["packet_completeness"]) == ("2027-01-31", 100)
    assert body["packet_missing"] == []
    assert handoff.kind == "sales_to_implementation"


def test_patch_to_won_sent_twice_closes_once_and_answers_the_same_handoff(
    client, open_deal, writer, frozen
):
    save_deal_packet(open_deal.deal, COMPLETE_PACKET)
    first = patch_deal(client, open_deal.deal, {"stage": "Won", "amount": 24000})
    frozen.shift(timedelta(minutes=1))

    again = patch_deal(client, open_deal.deal, {"stage": "Won", "amount": 24000})

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json()["handoff"] == first.json()["handoff"]
    assert again.json()["renewal"] == first.json()["renewal"]
    assert Handoff.objects.count() == 1
    assert Deal.objects.filter(renews=open_deal.deal).count() == 1
    assert Notification.objects.count() == 1


def test_patch_with_the_packet_and_won_in_one_request_closes(client, open_deal, writer):
    response = patch_deal(
        client, open_deal.deal, {"packet": COMPLETE_PACKET, "stage": "Won"}
    )

    assert response.status_code == 200
    assert response.json()["packet"] == COMPLETE_PACKET
    assert Handoff.objects.get().packet == COMPLETE_PACKET


def test_patch_of_the_packet_saves_a_draft_and_names_what_is_missing(
    client, open_deal, writer
):
    response = patch_deal(client, open_deal.deal, {"packet": INCOMPLETE_PACKET})

    body = response.json()
    assert response.status_code == 200
    assert (body["packet"], body["packet_completeness"]) == (INCOMPLETE_PACKET, 28)
    assert [item["key"] for item in body["packet_missing"]] == MISSING_FROM_INCOMPLETE
    assert body["stage"]["name"] == "Engaging"
    stored = Deal.objects.get(pk=open_deal.deal.pk)
    assert (stored.packet, stored.packet_completeness) == (INCOMPLETE_PACKET, 28)


def test_patch_answers_400_naming_each_bad_field_and_stores_nothing(
    client, open_deal, writer
):
    body = {
        "name": "  ",
        "amount": "24.000,00",
        "currency": "euro",
        "term_months": 0,
        "expected_close_on": "31/01/2027",
        "stage": "Negotiation",
        "owner": 999_999,
        "packet": {"deal_history": "Inbound.", "colour": "teal"},
        "closed_on": "2027-01-01",
        "favourite_colour": "teal",
    }

    response = patch_deal(client, open_deal.deal, body)

    assert response.status_code == 400
    assert response.json() == {
        "name": ["Give the deal a name."],
        "amount": [
            "Give the amount as a number with a point for decimals and no "
            "thousands separators, e.g. 24000.50."
        ],
        "currency": ["Give an ISO 4217 currency code, e.g. EUR."],
        "term_months": ["Give a whole number from 1 to 120."],
        "expected_close_on": ["Give a date as YYYY-MM-DD."],
        "stage": [
            "New business has no stage 'Negotiation'; its stages are "
            "Prospecting, Engaging, Won, Lost."
        ],
        "owner": ["No person has the id 999999."],
        "packet": [
            "Unknown packet items: colour; the packet's items are commitments, "
            "deal_history, goals, risks, stakeholders, technical_requirements, "
            "timeline."
        ],
        "closed_on": ["Read-only."],
        "favourite_colour": ["Unknown field."],
    }
    stored = Deal.objects.get(pk=open_deal.deal.pk)
    assert (stored.name, stored.packet, stored.term_months) == (
        "Globex platform",
        {},
        12,
    )
    assert_still_open(open_deal.deal)


def test_patch_answers_400_when_the_body_is_not_an_object(client, open_deal, writer):
    response = patch_deal(client, open_deal.deal, ["stage", "Won"])

    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Send one JSON object."]}


def test_patch_changes_fields_and_keeps_the_currency_when_only_the_amount_comes(
    client, open_deal, writer
):
    other_ae = PersonFactory(role="ae", team=open_deal.ae.team)

    response = patch_deal(
        client,
        open_deal.deal,
        {
            "name": "Globex platform, phase 1",
            "amount": 30_000.5,
            "expected_close_on": "2027-03-31",
            "term_months": "24",
            "owner": other_ae.pk,
            "stage": "prospecting",
        },
    )

    stored = Deal.objects.get(pk=open_deal.deal.pk)
    assert response.status_code == 200
    assert (
        stored.name,
        stored.amount,
        stored.expected_close_on,
        stored.term_months,
        stored.owner,
        stored.stage.name,
    ) == (
        "Globex platform, phase 1",
        Money("30000.50", "EUR"),
        date(2027, 3, 31),
        24,
        other_ae,
        "Prospecting",
    )
    assert stored.history.first().history_change_reason == "api"


def test_a_won_deal_cannot_be_moved_back_or_changed(client, open_deal, writer):
    save_deal_packet(open_deal.deal, COMPLETE_PACKET)
    patch_deal(client, open_deal.deal, {"stage": "Won"})

    back = patch_deal(client, open_deal.deal, {"stage": "Engaging"})
    renamed = patch_deal(client, open_deal.deal, {"name": "Globex 2"})

    assert back.status_code == 400
    assert back.json() == {
        "stage": ["A won deal stays won: its handoff and renewal exist."]
    }
    assert renamed.json() == {
        "name": [
            "This deal is won: its handoff and renewal were made from it, so it "
            "stays as it was closed."
        ]
    }
    stored = Deal.objects.get(pk=open_deal.deal.pk)
    assert (stored.stage.name, stored.name) == ("Won", "Globex platform")


def test_a_move_to_lost_only_moves_the_stage_and_a_lost_deal_reopens(
    client, open_deal, writer, frozen
):
    lost = patch_deal(client, open_deal.deal, {"stage": "Lost"})
    frozen.shift(timedelta(days=3))

    reopened = patch_deal(client, open_deal.deal, {"stage": "Engaging"})

    assert lost.status_code == 200
    assert (lost.json()["stage"]["outcome"], lost.json()["closed_on"]) == (
        "lost",
        "2027-01-31",
    )
    assert (lost.json()["handoff"], lost.json()["renewal"]) == (None, None)
    assert (reopened.json()["stage"]["name"], reopened.json()["closed_on"]) == (
        "Engaging",
        None,
    )
    assert Handoff.objects.count() == 0


def test_a_lost_deal_is_not_closed_won_without_reopening(client, open_deal, writer):
    save_deal_packet(open_deal.deal, COMPLETE_PACKET)
    patch_deal(client, open_deal.deal, {"stage": "Lost"})

    response = patch_deal(client, open_deal.deal, {"stage": "Won"})

    assert response.status_code == 400
    assert response.json() == {
        "stage": ["A lost deal cannot be closed won; reopen it first."]
    }
    assert Handoff.objects.count() == 0


def test_a_historical_deal_is_read_only(client, open_deal, writer):
    Deal.objects.filter(pk=open_deal.deal.pk).update(is_historical=True)

    response = patch_deal(client, open_deal.deal, {"name": "Renamed"})

    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": ["Imported history is read-only; change it at its source."]
    }
    assert Deal.objects.get(pk=open_deal.deal.pk).name == "Globex platform"


def test_post_creates_an_open_deal_and_answers_201_as_a_read_would(
    client, open_deal, writer, reader
):
    account = AccountFactory(name="Initech")

    response = client.post(
        "/api/deals",
        {
            "name": "Initech rollout",
            "account": account.pk,
            "owner": open_deal.ae.pk,
            "amount": "12000",
            "currency": "usd",
            "expected_close_on": "2027-04-30",
            "external_source": "crm",
            "external_id": "D-2002",
        },
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {WRITER_KEY}",
    )

    deal = Deal.objects.get(external_id="D-2002")
    engaging_first = deal.pipeline.stages.filter(outcome="open").first()
    read = client.get(
        f"/api/deals/{deal.pk}", HTTP_AUTHORIZATION=f"Bearer {READER_KEY}"
    )
    assert response.status_code == 201
    assert response.json() == {
        "id": deal.pk,
        "name": "Initech rollout",
        "account": {"id": account.pk, "name": "Initech"},
        "owner": {
            "id": open_deal.ae.pk,
            "name": "Alex AE",
            "email": open_deal.ae.email,
        },
        "pipeline": {"id": deal.pipeline.pk, "name": "New business"},
        "stage": {"id": engaging_first.pk, "name": "Prospecting", "outcome": "open"},
        "product": None,
        "amount": "12000.00",
        "currency": "USD",
        "expected_close_on": "2027-04-30",
        "closed_on": None,
        "term_months": 12,
        "packet": {},
        "packet_completeness": 0,
        "packet_missing": response.json()["packet_missing"],
        "handoff": None,
        "renewal": None,
        "is_historical": False,
        "external_source": "crm",
        "external_id": "D-2002",
        "created_at": "2027-01-31T10:00:00Z",
        "updated_at": "2027-01-31T10:00:00Z",
    }
    assert len(response.json()["packet_missing"]) == 7
    assert read.json() == response.json()


def test_post_refuses_a_deal_without_a_name_or_with_a_taken_external_id(
    client, open_deal, writer
):
    response = client.post(
        "/api/deals",
        {"external_source": "crm", "external_id": "D-1001"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {WRITER_KEY}",
    )
    taken = client.post(
        "/api/deals",
        {"name": "Copy", "external_source": "crm", "external_id": "D-1001"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {WRITER_KEY}",
    )

    assert response.status_code == 400
    assert response.json() == {"name": ["Give the deal a name."]}
    assert taken.json() == {
        "external_id": ["Another deal already has this id from its source."]
    }
    assert Deal.objects.count() == 1


def test_list_filters_by_updated_since_and_outcome(client, open_deal, reader, frozen):
    frozen.shift(timedelta(hours=1))
    later = build_later_deal(open_deal)

    since = client.get(
        "/api/deals",
        {"updated_since": "2027-01-31T10:30:00Z"},
        HTTP_AUTHORIZATION=f"Bearer {READER_KEY}",
    )
    lost = client.get(
        "/api/deals", {"outcome": "lost"}, HTTP_AUTHORIZATION=f"Bearer {READER_KEY}"
    )

    assert [deal["id"] for deal in since.json()["results"]] == [later.pk]
    assert [deal["id"] for deal in lost.json()["results"]] == [later.pk]


def build_later_deal(open_deal):
    pipeline = open_deal.deal.pipeline
    return Deal.objects.create(
        name="Umbrella pilot",
        owner=open_deal.ae,
        pipeline=pipeline,
        stage=pipeline.stages.get(outcome=Stage.Outcome.LOST),
    )


def test_list_orders_by_updated_at_on_request(
    client, open_deal, writer, reader, frozen
):
    frozen.shift(timedelta(minutes=1))
    later = build_later_deal(open_deal)
    frozen.shift(timedelta(minutes=1))
    patch_deal(client, open_deal.deal, {"name": "Globex platform, renamed"})

    response = client.get(
        "/api/deals",
        {"ordering": "updated_at"},
        HTTP_AUTHORIZATION=f"Bearer {READER_KEY}",
    )

    assert [deal["id"] for deal in response.json()["results"]] == [
        later.pk,
        open_deal.deal.pk,
    ]


def test_list_costs_three_queries_for_one_deal_or_many(
    client, open_deal, reader, django_assert_num_queries
):
    # The first use of a token records it; measure what every later page costs.
    ApiToken.objects.filter(pk=reader.pk).update(last_used_at=NOW)
    save_deal_packet(open_deal.deal, COMPLETE_PACKET)
    # The token, the packet's items, then the deals with all they show.
    with django_assert_num_queries(3):
        client.get("/api/deals", HTTP_AUTHORIZATION=f"Bearer {READER_KEY}")
    for _ in range(4):
        build_later_deal(open_deal)

    with django_assert_num_queries(3):
        response = client.get("/api/deals", HTTP_AUTHORIZATION=f"Bearer {READER_KEY}")

    assert len(response.json()["results"]) == 5


def test_tokens_need_the_deal_scopes(client, open_deal, reader):
    ApiTokenFactory(key=LEAD_KEY, scopes=["leads:write", "leads:read"])

    listed = client.get("/api/deals", HTTP_AUTHORIZATION=f"Bearer {LEAD_KEY}")
    patched = patch_deal(client, open_deal.deal, {"name": "Renamed"}, key=READER_KEY)

    assert (listed.status_code, patched.status_code) == (403, 403)
    assert Deal.objects.get(pk=open_deal.deal.pk).name == "Globex platform"


def test_put_is_not_offered(client, open_deal, writer):
    response = client.put(
        f"/api/deals/{open_deal.deal.pk}",
        {"name": "Renamed"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {WRITER_KEY}",
    )

    assert response.status_code == 405


def test_a_signed_in_ae_sees_and_closes_only_their_own_deals(client, open_deal):
    save_deal_packet(open_deal.deal, COMPLETE_PACKET)
    other = PersonFactory(role="ae", team=open_deal.ae.team)
    client.force_login(other.user)

    listed = client.get("/api/deals")
    refused = client.patch(
        f"/api/deals/{open_deal.deal.pk}",
        {"stage": "Won"},
        content_type="application/json",
    )
    client.force_login(open_deal.ae.user)
    closed = client.patch(
        f"/api/deals/{open_deal.deal.pk}",
        {"stage": "Won"},
        content_type="application/json",
    )

    assert listed.json()["results"] == []
    assert refused.status_code == 404
    assert closed.status_code == 200
    assert closed.json()["handoff"] == Handoff.objects.get().pk


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_patches_to_won_close_once(
    transactional_db, open_deal, writer
):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL's row locks")
    save_deal_packet(open_deal.deal, COMPLETE_PACKET)
    start = threading.Barrier(2)

    def close():
        try:
            start.wait()
            return patch_deal(Client(), open_deal.deal, {"stage": "Won"}).json()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(lambda _: close(), range(2)))

    handoff = Handoff.objects.get(deal=open_deal.deal)
    assert [answer["handoff"] for answer in answers] == [handoff.pk, handoff.pk]
    assert Deal.objects.filter(renews=open_deal.deal).count() == 1
    assert Notification.objects.count() == 1
