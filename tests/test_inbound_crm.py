"""POST /api/crm/inbound/<slug>: signed, once per delivery id, through the gate."""

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from djmoney.money import Money

from bowtie.models import (
    Deal,
    InboundCrmDelivery,
    InboundCrmEndpoint,
    Notification,
    WebhookDelivery,
    WebhookEndpoint,
)
from bowtie.signatures import SignatureRefused, signature_header, verify_signature
from handoffs.closing import save_deal_packet
from handoffs.models import Handoff
from tests.deal_fixtures import (
    COMPLETE_PACKET,
    INCOMPLETE_PACKET,
    MISSING_FROM_INCOMPLETE,
    build_open_deal,
)

NOW = datetime(2027, 1, 31, 10, 0, tzinfo=UTC)
NOW_TIMESTAMP = 1801389600
SECRET = "bowtie-test-secret"
URL = "/api/crm/inbound/hubspot-eu"


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def endpoint(db):
    return InboundCrmEndpoint.objects.create(
        name="HubSpot EU", slug="hubspot-eu", secret=SECRET
    )


@pytest.fixture
def open_deal(db, frozen):
    return build_open_deal("D-1001")


def delivery(delivery_id="evt-1", event_type="deal.updated", **data) -> bytes:
    body = {
        "id": delivery_id,
        "type": event_type,
        "occurred_at": "2027-01-31T09:59:30Z",
        "data": {"external_source": "crm", "external_id": "D-1001", **data},
    }
    return json.dumps(body).encode()


def post(client, body: bytes, secret=SECRET, timestamp=NOW_TIMESTAMP, url=URL):
    return client.post(
        url,
        body,
        content_type="application/json",
        HTTP_BOWTIE_SIGNATURE=signature_header(secret, timestamp, body),
    )


def test_signature_header_is_the_hmac_of_timestamp_and_raw_body():
    body = b'{"id": "evt-1", "type": "deal.updated"}'

    header = signature_header(SECRET, NOW_TIMESTAMP, body)

    assert header == (
        "t=1801389600,"
        "v1=be7c89abd5cf0bb800c99c051bdcd409ad56afa4475dcee11311e66235b4428b"
    )
    assert verify_signature(SECRET, body, header, NOW) == NOW_TIMESTAMP


@pytest.mark.parametrize(
    ("header", "body", "now", "reason"),
    [
        (
            None,
            b"{}",
            NOW,
            "Sign the delivery: the Bowtie-Signature header is missing.",
        ),
        ("v1=abc", b"{}", NOW, "The Bowtie-Signature header has no t= timestamp."),
        (
            "t=1801389600",
            b"{}",
            NOW,
            "The Bowtie-Signature header has no v1= signature.",
        ),
        ("t=soon,v1=abc", b"{}", NOW, "The signature's t= is not a Unix timestamp."),
        (
            "garbage",
            b"{}",
            NOW,
            "Malformed Bowtie-Signature header: write t=...,v1=...",
        ),
        (
            signature_header(SECRET, NOW_TIMESTAMP, b"{}"),
            b"{}",
            NOW + timedelta(minutes=5, seconds=1),
            "The signature's time is more than 300 seconds from ours: send it again, "
            "signed now.",
        ),
        (
            signature_header(SECRET, NOW_TIMESTAMP, b"{}"),
            b"{} ",
            NOW,
            "The signature does not match the body.",
        ),
        (
            signature_header("another secret", NOW_TIMESTAMP, b"{}"),
            b"{}",
            NOW,
            "The signature does not match the body.",
        ),
        (
            f"t={NOW_TIMESTAMP},v1=é",
            b"{}",
            NOW,
            "The signature does not match the body.",
        ),
    ],
)
def test_a_bad_signature_is_refused_with_its_reason(header, body, now, reason):
    with pytest.raises(SignatureRefused) as refused:
        verify_signature(SECRET, body, header, now)

    assert str(refused.value) == reason


def test_a_signature_inside_the_window_and_one_of_several_secrets_passes():
    body = b"{}"
    old = signature_header("retired secret", NOW_TIMESTAMP, body).split(",")[1]
    header = f"{signature_header(SECRET, NOW_TIMESTAMP, body)},{old},v0=ignored"

    early = verify_signature(SECRET, body, header, NOW - timedelta(minutes=5))
    late = verify_signature(SECRET, body, header, NOW + timedelta(minutes=5))

    assert (early, late) == (NOW_TIMESTAMP, NOW_TIMESTAMP)


def test_a_won_update_with_an_incomplete_packet_answers_422_and_stores_nothing(
    client, endpoint, open_deal
):
    save_deal_packet(open_deal.deal, INCOMPLETE_PACKET)

    response = post(client, delivery(stage="Won", amount="30000"))

    body = response.json()
    assert response.status_code == 422
    assert (body["id"], body["outcome"]) == ("evt-1", "refused")
    assert body["errors"] == {
        "stage": [
            "Closed Won needs a complete handoff packet; 5 required item(s) missing."
        ]
    }
    assert [item["key"] for item in body["missing"]] == MISSING_FROM_INCOMPLETE
    stored = Deal.objects.get(pk=open_deal.deal.pk)
    assert (stored.stage.name, stored.amount) == ("Engaging", Money(24_000, "EUR"))
    assert Handoff.objects.count() == 0
    assert Deal.objects.filter(renews=open_deal.deal).count() == 0
    recorded = InboundCrmDelivery.objects.get()
    assert (recorded.outcome, recorded.deal, recorded.detail) == (
        "refused",
        open_deal.deal,
        body,
    )
    # The AE hears of it: the CRM may never send the update again.
    told = Notification.objects.get(recipient=open_deal.ae)
    assert told.subject == (
        f"{endpoint.name} closed Globex platform won; the packet is incomplete"
    )
    assert told.body.startswith("Bowtie keeps it open until the packet is complete.")


def test_a_won_update_with_a_complete_packet_closes_once_when_delivered_twice(
    client, endpoint, open_deal
):
    save_deal_packet(open_deal.deal, COMPLETE_PACKET)
    body = delivery(stage="Won")

    first = post(client, body)
    again = post(client, body)

    handoff = Handoff.objects.get()
    renewal = Deal.objects.get(renews=open_deal.deal)
    assert first.status_code == 200
    assert first.json() == {
        "id": "evt-1",
        "outcome": "applied",
        "deal": open_deal.deal.pk,
        "stage": "Won",
        "fields": ["stage"],
        "ignored": [],
        "changed": ["stage"],
        "handoff": handoff.pk,
        "renewal": renewal.pk,
    }
    assert again.status_code == 200
    assert again.json() == {
        "id": "evt-1",
        "outcome": "duplicate",
        "deal": open_deal.deal.pk,
    }
    recorded = InboundCrmDelivery.objects.get()
    assert (recorded.outcome, recorded.attempt_count, recorded.event_type) == (
        "applied",
        2,
        "deal.updated",
    )
    assert recorded.occurred_at == datetime(2027, 1, 31, 9, 59, 30, tzinfo=UTC)
    assert Deal.objects.get(pk=open_deal.deal.pk).stage.name == "Won"


def test_a_won_update_is_not_echoed_to_the_crm_that_sent_it(
    client, endpoint, open_deal
):
    save_deal_packet(open_deal.deal, COMPLETE_PACKET)
    wanted = ["deal.closed_won", "handoff.opened", "renewal.created"]
    crm = WebhookEndpoint.objects.create(
        name="HubSpot EU",
        url="https://crm.example/bowtie",
        event_types=wanted,
        crm_source=endpoint,
    )
    finance = WebhookEndpoint.objects.create(
        name="Finance", url="https://finance.example/bowtie", event_types=wanted
    )

    post(client, delivery(stage="Won"))

    sent = WebhookDelivery.objects.values_list("endpoint", "event__type")
    assert sorted(sent) == [
        (finance.pk, "deal.closed_won"),
        (finance.pk, "handoff.opened"),
        (finance.pk, "renewal.created"),
    ]
    assert not crm.deliveries.exists()


def test_a_duplicate_delivery_changes_nothing_even_with_other_values(
    client, endpoint, open_deal
):
    post(client, delivery(name="Globex platform, phase 1"))

    again = post(client, delivery(name="Renamed by a replay"))

    assert again.json()["outcome"] == "duplicate"
    assert Deal.objects.get(pk=open_deal.deal.pk).name == "Globex platform, phase 1"


def test_a_refused_delivery_is_applied_when_retried_after_the_packet_is_complete(
    client, endpoint, open_deal, frozen
):
    save_deal_packet(open_deal.deal, INCOMPLETE_PACKET)
    body = delivery(stage="Won")
    refused = post(client, body)
    save_deal_packet(open_deal.deal, COMPLETE_PACKET)
    frozen.shift(timedelta(minutes=10))

    retried = post(client, body, timestamp=NOW_TIMESTAMP + 600)

    assert (refused.status_code, retried.status_code) == (422, 200)
    assert retried.json()["handoff"] == Handoff.objects.get().pk
    recorded = InboundCrmDelivery.objects.get()
    assert (recorded.outcome, recorded.attempt_count, recorded.received_at) == (
        "applied",
        2,
        NOW,
    )


def test_a_bad_signature_answers_401_and_records_nothing(client, endpoint, open_deal):
    body = delivery(stage="Lost")

    wrong_secret = post(client, body, secret="guessed")
    stale = post(client, body, timestamp=NOW_TIMESTAMP - 301)
    unsigned = client.post(URL, body, content_type="application/json")

    assert [r.status_code for r in (wrong_secret, stale, unsigned)] == [401, 401, 401]
    assert wrong_secret.json() == {"detail": "The signature does not match the body."}
    assert InboundCrmDelivery.objects.count() == 0
    assert Deal.objects.get(pk=open_deal.deal.pk).stage.name == "Engaging"


def test_an_unknown_event_type_answers_400_and_is_recorded(client, endpoint, open_deal):
    response = post(client, delivery(event_type="deal.deleted"))

    assert response.status_code == 400
    assert response.json() == {
        "id": "evt-1",
        "errors": {
            "type": [
                "Unknown event type 'deal.deleted'; this endpoint takes deal.updated."
            ]
        },
    }
    assert InboundCrmDelivery.objects.get().outcome == "invalid"


def test_bad_values_answer_400_naming_each_field(client, endpoint, open_deal):
    response = post(client, delivery(term_months=0, stage="Closing", owner=1))

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "owner": [
            "Not synced from a CRM; it takes name, stage, amount, currency, "
            "expected_close_on, term_months."
        ]
    }
    valid_keys = post(client, delivery("evt-2", term_months=0, stage="Closing"))
    assert valid_keys.json()["errors"] == {
        "term_months": ["Give a whole number from 1 to 120."],
        "stage": [
            "New business has no stage 'Closing'; its stages are Prospecting, "
            "Engaging, Won, Lost."
        ],
    }
    assert Deal.objects.get(pk=open_deal.deal.pk).term_months == 12


def test_an_update_for_an_unknown_deal_answers_422_and_creates_none(
    client, endpoint, open_deal
):
    body = json.loads(delivery(stage="Won"))
    body["data"]["external_id"] = "D-9999"

    response = post(client, json.dumps(body).encode())

    assert response.status_code == 422
    assert response.json()["errors"] == {
        "external_id": [
            "No deal has the id 'D-9999' from 'crm'; updates do not create deals."
        ]
    }
    assert Deal.objects.count() == 1


def test_a_malformed_envelope_answers_400_without_a_record(client, endpoint, frozen):
    not_json = post(client, b"stage=Won")
    no_id = post(client, json.dumps({"type": "deal.updated", "data": {}}).encode())

    assert (not_json.status_code, no_id.status_code) == (400, 400)
    assert not_json.json() == {
        "errors": {"non_field_errors": ["Send one JSON object."]}
    }
    assert no_id.json()["errors"]["id"] == [
        "Give the delivery's id as text of 1 to 100 characters."
    ]
    assert InboundCrmDelivery.objects.count() == 0


def test_an_inactive_or_unknown_endpoint_answers_404(client, endpoint, frozen):
    endpoint.is_active = False
    endpoint.save()

    inactive = post(client, delivery())
    unknown = post(client, delivery(), url="/api/crm/inbound/nobody")

    assert (inactive.status_code, unknown.status_code) == (404, 404)


def test_the_admin_shows_endpoints_and_the_delivery_log(
    open_deal, endpoint, admin_client
):
    # The deal first: it freezes the clock, and the admin's session starts then.
    post(admin_client, delivery(name="Globex platform, phase 1"))
    recorded = InboundCrmDelivery.objects.get()

    pages = [
        admin_client.get("/admin/bowtie/inboundcrmendpoint/"),
        admin_client.get("/admin/bowtie/inboundcrmendpoint/add/"),
        admin_client.get(f"/admin/bowtie/inboundcrmendpoint/{endpoint.pk}/change/"),
        admin_client.get("/admin/bowtie/inboundcrmdelivery/"),
        admin_client.get(f"/admin/bowtie/inboundcrmdelivery/{recorded.pk}/change/"),
    ]

    assert [page.status_code for page in pages] == [200, 200, 200, 200, 200]
    assert "/api/crm/inbound/hubspot-eu" in pages[0].content.decode()
    assert admin_client.get("/admin/bowtie/inboundcrmdelivery/add/").status_code == 403


@pytest.mark.django_db(transaction=True)
def test_the_same_delivery_arriving_twice_at_once_closes_once(
    transactional_db, endpoint, open_deal
):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL's row locks")
    save_deal_packet(open_deal.deal, COMPLETE_PACKET)
    body = delivery(stage="Won")
    start = threading.Barrier(2)

    def deliver():
        try:
            start.wait()
            return post(Client(), body).json()["outcome"]
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = sorted(pool.map(lambda _: deliver(), range(2)))

    assert outcomes == ["applied", "duplicate"]
    assert Handoff.objects.filter(deal=open_deal.deal).count() == 1
    assert Deal.objects.filter(renews=open_deal.deal).count() == 1
    assert InboundCrmDelivery.objects.get().attempt_count == 2


def delivery_at(delivery_id, occurred_at, **data) -> bytes:
    body = json.loads(delivery(delivery_id, **data))
    return json.dumps(body | {"occurred_at": occurred_at}).encode()


def test_an_older_update_never_overwrites_a_newer_one(client, endpoint, open_deal):
    newer = post(client, delivery_at("evt-2", "2027-01-31T09:59:00Z", amount="30000"))
    mixed = post(
        client,
        delivery_at(
            "evt-1", "2027-01-31T09:58:00Z", amount="25000", name="Globex rollout"
        ),
    )
    stale = post(client, delivery_at("evt-0", "2027-01-31T09:57:00Z", amount="1"))

    deal = Deal.objects.get(pk=open_deal.deal.pk)
    assert newer.json()["fields"] == ["amount"]
    # The older one still sets the field nobody set since.
    assert (mixed.json()["fields"], mixed.json()["ignored"]) == (["name"], ["amount"])
    assert (stale.status_code, stale.json()) == (
        200,
        {"id": "evt-0", "outcome": "stale", "deal": deal.pk, "ignored": ["amount"]},
    )
    assert (deal.amount, deal.name) == (Money(30_000, "EUR"), "Globex rollout")
