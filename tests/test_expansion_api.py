"""/api/signals: raised, listed, dismissed and converted through the services,
with the scopes, idempotency keys and schema of the rest of the API."""

import pytest

from bowtie.models import Deal
from expansion.api.views import NEEDS_A_PERSON
from expansion.models import Signal, SignalKind
from expansion.services import raise_signal
from handoffs.models import Handoff
from tests.factories import ApiTokenFactory
from tests.test_expansion_deals import NOW, build_expansion_world

READER_KEY = "bt_signal_reader_001"
WRITER_KEY = "bt_signal_writer_001"
CSM_KEY = "bt_signal_csm_000001"
LEADS_KEY = "bt_signal_leads_0001"


@pytest.fixture
def world(db, frozen):
    world = build_expansion_world()
    ApiTokenFactory(key=READER_KEY, scopes=["signals:read"])
    ApiTokenFactory(key=WRITER_KEY, scopes=["signals:read", "signals:write"])
    ApiTokenFactory(
        key=CSM_KEY, scopes=["signals:read", "signals:write"], person=world.csm
    )
    ApiTokenFactory(key=LEADS_KEY, scopes=["leads:write"])
    return world


@pytest.fixture
def frozen():
    import time_machine

    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def bearer(key):
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def post(client, path, body, key=WRITER_KEY, **headers):
    return client.post(
        path, body, content_type="application/json", **bearer(key), **headers
    )


def test_signals_are_listed_by_category_in_three_queries(
    client, world, django_assert_num_queries
):
    raise_signal(world.account, SignalKind.POSITIVE_NPS, "api", None, now=NOW)

    # The token; the page of signals; its last-used time is fresh (no write).
    client.get("/api/signals/", **bearer(READER_KEY))
    with django_assert_num_queries(2):
        usage = client.get("/api/signals/?category=usage", **bearer(READER_KEY))
    relationship = client.get(
        "/api/signals/?category=relationship", **bearer(READER_KEY)
    )

    assert usage.status_code == 200
    [row] = usage.json()["results"]
    assert row["kind"] == "usage.seats_nearly_full"
    assert row["category"] == "usage"
    assert row["account"] == {"id": world.account.pk, "name": "Globex"}
    assert row["raised_by"]["name"] == "Cleo Carter"
    assert (row["status"], row["deal"], row["handoff_id"]) == ("open", None, None)
    assert [row["kind"] for row in relationship.json()["results"]] == [
        "relationship.positive_nps"
    ]


def test_a_signal_is_raised_once_and_repeated_as_such(client, world):
    body = {
        "account": world.account.pk,
        "kind": "commercial.headcount_growth",
        "evidence": "Hiring 40 engineers this quarter.",
        "details": {"open_roles": 40},
    }

    first = post(client, "/api/signals/", body)
    again = post(client, "/api/signals/", body)

    assert first.status_code == 201
    assert again.status_code == 200
    assert first.json()["repeat"] is False
    assert again.json()["repeat"] is True
    assert again.json()["id"] == first.json()["id"]
    signal = Signal.objects.get(pk=first.json()["id"])
    assert (signal.source, signal.raised_by, signal.details) == (
        "api",
        None,
        {"open_roles": 40},
    )


def test_an_unknown_kind_is_refused_by_field(client, world):
    answer = post(
        client, "/api/signals/", {"account": world.account.pk, "kind": "usage.vibes"}
    )

    assert answer.status_code == 400
    assert answer.json() == {"kind": ['"usage.vibes" is not a valid choice.']}


def test_a_token_without_the_scope_is_refused(client, world):
    reading = client.get("/api/signals/", **bearer(LEADS_KEY))
    writing = post(
        client,
        "/api/signals/",
        {"account": world.account.pk, "kind": "outcome.roi_exceeded"},
        key=READER_KEY,
    )

    assert (reading.status_code, writing.status_code) == (403, 403)
    assert Signal.objects.count() == 1


def test_an_idempotency_key_replays_the_first_answer(client, world):
    body = {"account": world.account.pk, "kind": "outcome.roi_exceeded"}

    first = post(client, "/api/signals/", body, HTTP_IDEMPOTENCY_KEY="raise-1")
    replay = post(client, "/api/signals/", body, HTTP_IDEMPOTENCY_KEY="raise-1")

    assert (first.status_code, replay.status_code) == (201, 201)
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert Signal.objects.filter(kind="outcome.roi_exceeded").count() == 1


def test_a_signal_is_dismissed_with_a_reason(client, world):
    path = f"/api/signals/{world.signal.pk}/dismiss/"

    refused = post(client, path, {})
    dismissed = post(client, path, {"reason": "Seats freed by a reorganisation."})
    twice = post(client, path, {"reason": "Again."})

    assert refused.status_code == 400
    assert refused.json() == {"reason": ["This field is required."]}
    assert dismissed.status_code == 200
    assert dismissed.json()["status"] == "dismissed"
    assert dismissed.json()["dismissed_reason"] == "Seats freed by a reorganisation."
    assert twice.status_code == 400
    assert twice.json() == {"non_field_errors": ["This signal is dismissed."]}


def test_a_person_converts_a_signal_into_an_upsell(client, world):
    path = f"/api/signals/{world.signal.pk}/convert/"
    body = {
        "expansion_type": "upsell",
        "name": "Globex: 20 more seats",
        "amount": "24000.00",
        "currency": "EUR",
    }

    answer = post(client, path, body, key=CSM_KEY)

    assert answer.status_code == 201
    deal = Deal.objects.get(name="Globex: 20 more seats")
    handoff = Handoff.objects.get(deal=deal)
    assert answer.json() == {
        "signal": answer.json()["signal"],
        "deal": {"id": deal.pk, "name": "Globex: 20 more seats"},
        "handoff_id": handoff.pk,
        "owner": {"id": world.am.pk, "name": "Ann Meyer", "email": world.am.email},
        "pipeline": {"id": deal.pipeline_id, "name": "Upsell"},
        "stage": {"id": deal.stage_id, "name": "Identified"},
        "source": "expansion",
        "expands_id": world.won.pk,
        "annual_value_eur": "24000.00",
    }
    assert answer.json()["signal"]["status"] == "converted"
    assert answer.json()["signal"]["handoff_id"] == handoff.pk


def test_a_conversion_needs_a_person_and_the_litmus_answer(client, world):
    path = f"/api/signals/{world.signal.pk}/convert/"
    body = {
        "expansion_type": "cross_sell",
        "name": "Globex: analytics",
        "amount": "12000",
        "currency": "EUR",
    }

    integration = post(client, path, body)
    unanswered = post(client, path, body, key=CSM_KEY)
    bad_currency = post(client, path, body | {"currency": "ZZZ"}, key=CSM_KEY)

    assert integration.status_code == 403
    assert integration.json() == {"detail": NEEDS_A_PERSON}
    assert unanswered.status_code == 400
    assert unanswered.json() == {
        "affects_existing_unit": [
            "A cross-sell needs the answer: would losing the contract in the "
            "existing unit affect closing this one? Yes or no."
        ]
    }
    assert bad_currency.json() == {
        "currency": ["Give an ISO 4217 currency code, e.g. EUR."]
    }
    assert Deal.objects.count() == 1


def test_a_person_outside_customer_success_is_refused_a_raise(client, world):
    ApiTokenFactory(
        key="bt_signal_ae_0000001", scopes=["signals:write"], person=world.ae
    )

    answer = post(
        client,
        "/api/signals/",
        {"account": world.account.pk, "kind": "outcome.roi_exceeded"},
        key="bt_signal_ae_0000001",
    )

    assert answer.status_code == 403
    assert answer.json() == {
        "detail": "Only customer success, account managers and managers flag signals."
    }


def test_the_schema_documents_the_signal_operations(client, db):
    schema = client.get("/api/schema", HTTP_ACCEPT="application/json").json()

    paths = schema["paths"]
    assert set(paths["/api/signals/"]) >= {"get", "post"}
    assert "post" in paths["/api/signals/{id}/dismiss/"]
    assert "post" in paths["/api/signals/{id}/convert/"]
    assert "signals:write" in paths["/api/signals/{id}/convert/"]["post"]["description"]


def test_raised_since_takes_any_iso_offset(client, world):
    far = client.get(
        "/api/signals/",
        {"raised_since": "2025-03-03T08:00:00-18:01"},
        **bearer(READER_KEY),
    )
    before_year_one = client.get(
        "/api/signals/",
        {"raised_since": "0001-01-01T00:00:00+05:00"},
        **bearer(READER_KEY),
    )

    # 08:00 at -18:01 is 02:01 the next day in UTC: after the signal.
    assert (far.status_code, far.json()["results"]) == (200, [])
    assert [row["id"] for row in before_year_one.json()["results"]] == [world.signal.pk]
