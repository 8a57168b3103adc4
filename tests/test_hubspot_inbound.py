"""POST /api/crm/hubspot/<slug>: HubSpot's v3 signature, its events on the gate."""

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest
import time_machine
from django.test import Client

from bowtie.models import (
    Account,
    Contact,
    Deal,
    InboundCrmEndpoint,
    Notification,
    WebhookEndpoint,
    WebhookEvent,
)
from bowtie.services import save_account
from bowtie.signatures import SignatureRefused
from handoffs.closing import close_deal_won, save_deal_packet
from handoffs.hubspot import hubspot_signature, verify_hubspot_signature
from handoffs.models import Handoff
from tests.deal_fixtures import COMPLETE_PACKET, INCOMPLETE_PACKET, build_open_deal
from tests.factories import AccountFactory, ContactFactory
from tests.test_outbound_webhooks import receiver  # noqa: F401

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


# Companies and contacts, through the services the API writes them with


@pytest.fixture
def company(db):
    return AccountFactory(
        name="Initech", external_id="5001", employee_count=80, country="FR"
    )


def property_change(object_type, prop, value, event_id, object_id=5001, ago=5000):
    return {
        **stage_change(event_id=event_id, object_id=object_id),
        "subscriptionType": f"{object_type}.propertyChange",
        "propertyName": prop,
        "propertyValue": value,
        "occurredAt": NOW_MS - ago,
    }


def test_a_company_change_goes_through_the_account_service(endpoint, company, frozen):
    events = [
        property_change("company", "numberofemployees", "250", event_id=21),
        property_change("company", "country", "Germany", event_id=22),
    ]

    answers = post(Client(), events).json()["events"]

    account = Account.objects.get(pk=company.pk)
    assert (account.employee_count, account.country) == (250, "DE")
    assert answers == [
        {
            "eventId": "21",
            "property": "numberofemployees",
            "outcome": "applied",
            "account": company.pk,
            "fields": ["employee_count"],
            "changed": ["employee_count"],
        },
        {
            "eventId": "22",
            "property": "country",
            "outcome": "applied",
            "account": company.pk,
            "fields": ["country"],
            "changed": ["country"],
        },
    ]
    assert endpoint.deliveries.get(delivery_id="21").account == account


def test_bad_company_values_are_refused_by_field_and_the_log_says_why(
    endpoint, company, frozen
):
    AccountFactory(name="Globex")
    events = [
        property_change("company", "numberofemployees", "many", event_id=31),
        property_change("company", "name", "Globex", event_id=32),
        property_change("company", "name", " ", event_id=33),
        property_change("company", "country", "Atlantis", event_id=34),
    ]

    answers = post(Client(), events).json()["events"]

    assert [(answer["outcome"], answer["errors"]) for answer in answers] == [
        ("invalid", {"employee_count": ["Give a whole number from 0 to 2147483647."]}),
        ("invalid", {"name": ["Account with this Name already exists."]}),
        ("invalid", {"name": ["This field cannot be blank."]}),
        ("invalid", {"country": ["Give a country by its name or its ISO 3166 code."]}),
    ]
    logged = endpoint.deliveries.get(delivery_id="32")
    assert (logged.outcome, logged.account, logged.detail) == (
        "invalid",
        company,
        answers[1],
    )
    account = Account.objects.get(pk=company.pk)
    assert (account.name, account.employee_count, account.country) == (
        "Initech",
        80,
        "FR",
    )


def test_a_company_unknown_to_bowtie_is_refused_and_not_created(endpoint, frozen):
    event = property_change("company", "name", "Hooli", event_id=41, object_id=404)

    [answer] = post(Client(), [event]).json()["events"]

    assert answer == {
        "eventId": "41",
        "property": "name",
        "outcome": "refused",
        "errors": {
            "external_id": [
                "No account has the HubSpot company id '404'; updates do not "
                "create accounts: send it over the API with this external_id first."
            ]
        },
    }
    assert not Account.objects.filter(name="Hooli").exists()


def test_a_company_change_delivered_again_changes_nothing(endpoint, company, frozen):
    event = property_change("company", "name", "Initech Ltd", event_id=51)
    first = post(Client(), [event]).json()["events"]
    # Renamed over the API since: a redelivery must not undo it.
    save_account(company, {"name": "Initech Group"})

    again = post(Client(), [event]).json()["events"]

    assert first[0]["outcome"] == "applied"
    assert again == [{"eventId": "51", "outcome": "duplicate"}]
    assert Account.objects.get(pk=company.pk).name == "Initech Group"
    assert endpoint.deliveries.get(delivery_id="51").attempt_count == 2


def test_an_older_company_change_never_overwrites_a_newer_one(
    endpoint, company, frozen
):
    newer = property_change("company", "name", "Initech Ltd", event_id=62, ago=1000)
    older = property_change("company", "name", "Initrode", event_id=61, ago=60_000)
    industry = property_change("company", "industry", "Software", event_id=63)

    answers = post(Client(), [newer, older, industry]).json()["events"]

    assert [answer["outcome"] for answer in answers] == ["applied", "stale", "applied"]
    account = Account.objects.get(pk=company.pk)
    assert (account.name, account.industry) == ("Initech Ltd", "Software")


def test_a_contact_change_goes_through_the_contact_service(endpoint, company, frozen):
    contact = ContactFactory(external_id="7001", job_title="Engineer", account=None)
    events = [
        property_change("contact", "jobtitle", "CTO", event_id=71, object_id=7001),
        property_change(
            "contact", "associatedcompanyid", "5001", event_id=72, object_id=7001
        ),
        property_change(
            "contact", "associatedcompanyid", "404", event_id=73, object_id=7001
        ),
        property_change(
            "contact", "email", "not-an-e-mail", event_id=74, object_id=7001
        ),
    ]

    answers = post(Client(), events).json()["events"]

    assert [answer["outcome"] for answer in answers] == [
        "applied",
        "applied",
        "invalid",
        "invalid",
    ]
    assert answers[1]["fields"] == ["account"]
    assert answers[2]["errors"] == {
        "account": [
            "No account has the HubSpot company id '404'; updates do not create "
            "accounts: send it over the API with this external_id first."
        ]
    }
    assert answers[3]["errors"] == {"email": ["Enter a valid email address."]}
    stored = Contact.objects.get(pk=contact.pk)
    assert (stored.job_title, stored.account, stored.email) == (
        "CTO",
        company,
        contact.email,
    )
    assert endpoint.deliveries.get(delivery_id="71").contact == stored


# Changes from HubSpot are not sent back to it


def test_a_closed_won_from_hubspot_goes_to_other_endpoints_but_not_back(
    endpoint,
    open_deal,
    receiver,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    save_deal_packet(open_deal.deal, COMPLETE_PACKET)
    hubspot_own = WebhookEndpoint.objects.create(
        name="HubSpot app",
        url="https://hubspot.example/bowtie",
        event_types=["deal.closed_won"],
        crm_source=endpoint,
    )
    warehouse = WebhookEndpoint.objects.create(
        name="Warehouse",
        url="https://warehouse.example/bowtie",
        event_types=["deal.closed_won"],
    )

    with django_capture_on_commit_callbacks(execute=True):
        [outcome] = post(Client(), [stage_change()]).json()["events"]

    won = WebhookEvent.objects.get(type="deal.closed_won")
    assert outcome["outcome"] == "applied"
    assert list(won.deliveries.values_list("endpoint", "status")) == [
        (warehouse.pk, "delivered")
    ]
    assert [str(request.url) for request in receiver.requests] == [
        "https://warehouse.example/bowtie"
    ]
    assert not hubspot_own.deliveries.exists()


def test_a_change_made_in_bowtie_still_goes_to_hubspot(endpoint, open_deal):
    save_deal_packet(open_deal.deal, COMPLETE_PACKET)
    hubspot_own = WebhookEndpoint.objects.create(
        name="HubSpot app",
        url="https://hubspot.example/bowtie",
        event_types=["deal.closed_won"],
        crm_source=endpoint,
    )

    close_deal_won(open_deal.deal, actor=open_deal.ae)

    assert hubspot_own.deliveries.count() == 1
