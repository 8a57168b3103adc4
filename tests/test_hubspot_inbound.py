"""POST /api/crm/hubspot/<slug>: HubSpot's v3 signature, its events on the gate."""

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest
import time_machine
from django.test import Client

from bowtie.models import Deal, InboundCrmEndpoint, Notification
from bowtie.signatures import SignatureRefused
from handoffs.closing import save_deal_packet
from handoffs.hubspot import hubspot_signature, verify_hubspot_signature
from handoffs.models import Handoff
from tests.deal_fixtures import COMPLETE_PACKET, INCOMPLETE_PACKET, build_open_deal

NOW = datetime(2027, 1, 31, 10, 0, tzinfo=UTC)
NOW_MS = 1801389600000
SECRET = "hubspot-client-secret"
BASE_URL = "https://bowtie.example"
PATH = "/api/crm/hubspot/hubspot-app"


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def endpoint(db, settings):
    settings.BOWTIE_BASE_URL = BASE_URL
    return InboundCrmEndpoint.objects.create(
        name="HubSpot app", slug="hubspot-app", secret=SECRET
    )


@pytest.fixture
def open_deal(db, frozen):
    return build_open_deal_in_hubspot()


def build_open_deal_in_hubspot():
    built = build_open_deal("9001")
    Deal.objects.filter(pk=built.deal.pk).update(external_source="hubspot")
    built.deal.refresh_from_db()
    return built


def stage_change(event_id=1, value="closedwon", object_id=9001) -> dict:
    return {
        "eventId": event_id,
        "subscriptionId": 12,
        "portalId": 62515,
        "occurredAt": NOW_MS - 5000,
        "subscriptionType": "deal.propertyChange",
        "attemptNumber": 0,
        "objectId": object_id,
        "propertyName": "dealstage",
        "propertyValue": value,
        "changeSource": "CRM",
    }


def post(client, events, timestamp=NOW_MS, secret=SECRET, body=None):
    body = body if body is not None else json.dumps(events).encode()
    signature = hubspot_signature(secret, "POST", BASE_URL + PATH, body, timestamp)
    return client.post(
        PATH,
        data=body,
        content_type="application/json",
        headers={
            "X-HubSpot-Signature-v3": signature,
            "X-HubSpot-Request-Timestamp": str(timestamp),
        },
    )


def test_the_signature_is_hubspots_v3_exactly():
    body = b'[{"eventId":1}]'
    uri = "https://bowtie.example/api/crm/hubspot/hubspot-app?portal=62515%3Aeu"

    signature = hubspot_signature(SECRET, "POST", uri, body, NOW_MS)

    # Computed by hand from the guide: method, URI with %3A decoded, body,
    # timestamp; HMAC-SHA256 with the client secret; base64.
    source = (
        b"POSThttps://bowtie.example/api/crm/hubspot/hubspot-app?portal=62515:eu"
        + body
        + b"1801389600000"
    )
    by_hand = base64.b64encode(
        hmac.new(SECRET.encode(), source, hashlib.sha256).digest()
    ).decode()
    assert signature == by_hand == "0Vzj9+YegBUvMcOLyVDF9psfv6FYtX8h2mlQHjcJsKU="


@pytest.mark.parametrize(
    ("timestamp", "reason"),
    [
        (NOW_MS - 301_000, "more than five minutes old"),
        (NOW_MS + 301_000, "more than five minutes old"),
    ],
)
def test_a_request_outside_five_minutes_is_refused(timestamp, reason):
    body = b"[]"
    headers = {
        "X-HubSpot-Signature-v3": hubspot_signature(
            SECRET, "POST", BASE_URL + PATH, body, timestamp
        ),
        "X-HubSpot-Request-Timestamp": str(timestamp),
    }

    with pytest.raises(SignatureRefused, match=reason):
        verify_hubspot_signature(SECRET, "POST", BASE_URL + PATH, body, headers, NOW)


def test_a_tampered_body_answers_401_and_records_nothing(endpoint, open_deal):
    signed = json.dumps([stage_change()]).encode()
    client = Client()
    headers = {
        "X-HubSpot-Signature-v3": hubspot_signature(
            SECRET, "POST", BASE_URL + PATH, signed, NOW_MS
        ),
        "X-HubSpot-Request-Timestamp": str(NOW_MS),
    }

    response = client.post(
        PATH,
        data=signed.replace(b"closedwon", b"closedlost"),
        content_type="application/json",
        headers=headers,
    )

    assert response.status_code == 401
    assert response.json() == {"detail": "The signature does not match this request."}
    assert not endpoint.deliveries.exists()


def test_closed_won_from_hubspot_meets_the_gate_and_tells_the_ae(endpoint, open_deal):
    save_deal_packet(open_deal.deal, INCOMPLETE_PACKET)

    response = post(Client(), [stage_change()])

    [outcome] = response.json()["events"]
    assert response.status_code == 200
    assert (outcome["outcome"], outcome["missing"]) == (
        "refused",
        ["goals", "stakeholders", "commitments", "technical_requirements", "timeline"],
    )
    assert Deal.objects.get(pk=open_deal.deal.pk).stage.name == "Engaging"
    assert not Handoff.objects.exists()
    assert Notification.objects.get(recipient=open_deal.ae).subject == (
        "HubSpot app closed Globex platform won; the packet is incomplete"
    )


def test_one_event_delivered_three_times_closes_the_deal_once(endpoint, open_deal):
    save_deal_packet(open_deal.deal, COMPLETE_PACKET)
    # The amount first: once won, a deal takes no further change.
    events = [
        {
            **stage_change(event_id=1),
            "propertyName": "amount",
            "propertyValue": "30000",
        },
        stage_change(event_id=2),
    ]

    answers = [post(Client(), events).json()["events"] for _ in range(3)]

    deal = Deal.objects.get(pk=open_deal.deal.pk)
    assert [event["outcome"] for event in answers[0]] == ["applied", "applied"]
    assert (
        answers[1]
        == answers[2]
        == [
            {"eventId": "1", "outcome": "duplicate"},
            {"eventId": "2", "outcome": "duplicate"},
        ]
    )
    assert (deal.stage.name, str(deal.amount.amount)) == ("Won", "30000.00")
    assert Handoff.objects.filter(deal=deal).count() == 1
    assert Deal.objects.filter(renews=deal).count() == 1
    assert endpoint.deliveries.get(delivery_id="1").attempt_count == 3


def test_a_company_event_is_logged_and_not_applied(endpoint, open_deal):
    company = {**stage_change(event_id=7), "subscriptionType": "company.creation"}

    response = post(Client(), [company])

    assert response.json()["events"] == [{"eventId": "7", "outcome": "not mapped"}]
    assert endpoint.deliveries.get(delivery_id="7").event_type == "company.creation"


def test_an_older_hubspot_change_of_a_property_is_stale(endpoint, open_deal):
    amount = {"propertyName": "amount", "objectId": 9001}
    newer = {**stage_change(event_id=11), **amount, "propertyValue": "30000"}
    older = {
        **stage_change(event_id=10),
        **amount,
        "propertyValue": "20000",
        "occurredAt": newer["occurredAt"] - 60_000,
    }

    answers = post(Client(), [newer, older]).json()["events"]

    assert [answer["outcome"] for answer in answers] == ["applied", "stale"]
    assert str(Deal.objects.get(pk=open_deal.deal.pk).amount.amount) == "30000.00"
