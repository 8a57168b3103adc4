"""/api/signals: raised, listed, dismissed and converted through the services,
with the scopes, idempotency keys and schema of the rest of the API."""

import json
from datetime import date

import pytest
from djmoney.money import Money

from bowtie.models import Deal, Notification, WebhookEndpoint, WebhookEvent
from expansion.api.views import NEEDS_A_PERSON
from expansion.models import Signal, SignalKind
from expansion.services import convert_signal, raise_signal
from handoffs.api.handoff_views import NEEDS_A_PERSON as HANDOFF_NEEDS_A_PERSON
from handoffs.models import Handoff, HandoffRating
from tests.factories import ApiTokenFactory
from tests.test_expansion_deals import NOW, build_expansion_world, convert

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


# The CS -> Sales handoff on /api/handoffs, through the expansion services

AM_HANDOFF_KEY = "bt_expansion_am_0001"
CSM_HANDOFF_KEY = "bt_expansion_csm_001"
AE_HANDOFF_KEY = "bt_expansion_ae_0001"
INTEGRATION_HANDOFF_KEY = "bt_expansion_int_001"


@pytest.fixture
def handed(world):
    """An upsell converted by the CSM: its handoff is open with the AM."""
    conversion = convert(world)
    world.handoff = conversion.handoff
    world.deal = conversion.deal
    scopes = ["handoffs:read", "handoffs:write"]
    ApiTokenFactory(key=AM_HANDOFF_KEY, scopes=scopes, person=world.am)
    ApiTokenFactory(key=CSM_HANDOFF_KEY, scopes=scopes, person=world.csm)
    ApiTokenFactory(key=AE_HANDOFF_KEY, scopes=scopes, person=world.ae)
    ApiTokenFactory(key=INTEGRATION_HANDOFF_KEY, scopes=scopes)
    return world


def work(client, handoff, action, body=None, key=AM_HANDOFF_KEY, **headers):
    return post(
        client, f"/api/handoffs/{handoff.pk}/{action}", body or {}, key, **headers
    )


def test_the_owner_accepts_an_expansion_over_the_api(client, handed):
    WebhookEndpoint.objects.create(
        name="CRM", url="https://crm.example/hooks", event_types=["handoff.accepted"]
    )

    answer = work(client, handed.handoff, "accept")

    assert answer.status_code == 200
    assert (answer.json()["state"], answer.json()["accepted_at"]) == (
        "accepted",
        "2025-03-03T09:00:00Z",
    )
    met = {m["key"]: m["met_at"] for m in answer.json()["milestones"]}
    assert met == {"owner_accepted": "2025-03-03T09:00:00Z", "joint_meeting": None}
    told = Notification.objects.get(recipient=handed.csm)
    assert told.subject == "Expansion accepted: Globex: 20 more seats"
    event = json.loads(WebhookEvent.objects.get(type="handoff.accepted").body)
    assert (event["data"]["handoff"]["id"], event["data"]["actor"]["id"]) == (
        handed.handoff.pk,
        handed.am.pk,
    )


def test_only_a_person_on_the_owners_side_accepts_an_expansion(client, handed):
    integration = work(client, handed.handoff, "accept", key=INTEGRATION_HANDOFF_KEY)
    outsider = work(client, handed.handoff, "accept", key=AE_HANDOFF_KEY)
    accepted = work(client, handed.handoff, "accept")
    again = work(client, handed.handoff, "accept")

    assert (integration.status_code, integration.json()) == (
        403,
        {"detail": HANDOFF_NEEDS_A_PERSON},
    )
    # The AE may open neither the handoff nor its deal: as if it were not there.
    assert outsider.status_code == 404
    assert accepted.status_code == 200
    assert (again.status_code, again.json()) == (
        400,
        {"non_field_errors": ["This handoff is accepted."]},
    )


def test_the_csm_who_sent_it_sees_it_and_may_not_accept_it(client, handed):
    answer = work(client, handed.handoff, "accept", key=CSM_HANDOFF_KEY)

    assert (answer.status_code, answer.json()) == (
        403,
        {"detail": "Only the expansion owner's side works this handoff."},
    )
    assert Handoff.objects.get(pk=handed.handoff.pk).state == "open"


def test_an_expansion_goes_back_with_a_reason_and_comes_again(client, handed):
    unexplained = work(client, handed.handoff, "reject", {"reason": "  "})
    sent_back = work(
        client, handed.handoff, "reject", {"reason": "No budget owner named."}
    )
    not_the_owner = work(client, handed.handoff, "resubmit")
    again = work(client, handed.handoff, "resubmit", key=CSM_HANDOFF_KEY)

    assert (unexplained.status_code, unexplained.json()) == (
        400,
        {"reason": ["This field may not be blank."]},
    )
    assert sent_back.status_code == 200
    assert (sent_back.json()["state"], sent_back.json()["rejection_reason"]) == (
        "rejected",
        "No budget owner named.",
    )
    assert Notification.objects.filter(
        recipient=handed.csm, subject="Expansion sent back: Globex: 20 more seats"
    ).exists()
    assert (not_the_owner.status_code, not_the_owner.json()) == (
        403,
        {"detail": "Only the CSM who sent it, or their manager, sends it again."},
    )
    assert (again.status_code, again.json()["state"]) == (200, "open")


def test_an_expansion_takes_no_rating(client, handed):
    work(client, handed.handoff, "accept")

    answer = work(
        client,
        handed.handoff,
        "rate",
        dict.fromkeys(
            [
                "completeness",
                "promise_alignment",
                "sentiment_continuity",
                "context_transfer",
                "stakeholder_mapping",
            ],
            4,
        ),
    )

    assert (answer.status_code, answer.json()) == (
        400,
        {
            "non_field_errors": [
                "CS → Sales (expansion) handoffs do not take `rate`; they take "
                "accept, complete, reject, resubmit."
            ]
        },
    )
    assert not HandoffRating.objects.exists()


def test_complete_closes_the_accepted_expansion_won_and_completes_it(client, handed):
    too_soon = work(client, handed.handoff, "complete", {"stage": "Won"})
    work(client, handed.handoff, "accept")
    still_open = work(client, handed.handoff, "complete", {"stage": "Proposal"})
    foreign = work(client, handed.handoff, "complete", {"stage": "Engaging"})
    won = work(client, handed.handoff, "complete", {"stage": "won"})

    assert (too_soon.status_code, too_soon.json()) == (
        400,
        {"non_field_errors": ["Accept the expansion before moving its deal."]},
    )
    assert (still_open.status_code, still_open.json()) == (
        400,
        {"stage": ["Proposal is open; complete with a won or lost stage (Won, Lost)."]},
    )
    assert foreign.json() == {
        "stage": [
            "Upsell has no stage 'Engaging'; its stages are Identified, Proposal, "
            "Won, Lost."
        ]
    }
    assert won.status_code == 200
    assert (won.json()["state"], won.json()["closed_at"]) == (
        "completed",
        "2025-03-03T09:00:00Z",
    )
    deal = Deal.objects.get(pk=handed.deal.pk)
    assert (deal.stage.name, deal.closed_on) == ("Won", date(2025, 3, 3))


def test_a_new_logo_completes_only_through_the_packet_gate(client, handed, world):
    signal = raise_signal(
        world.account, SignalKind.NEW_STAKEHOLDER, "api", None, now=NOW
    )
    conversion = convert_signal(
        signal,
        world.csm,
        "cross_sell",
        "Globex: analytics",
        Money(24_000, "EUR"),
        affects_existing_unit=False,
        now=NOW,
    )
    work(client, conversion.handoff, "accept")

    answer = work(client, conversion.handoff, "complete", {"stage": "Won"})

    assert answer.status_code == 400
    body = answer.json()
    assert body["stage"] == [
        "Closed Won needs a complete handoff packet; 7 required item(s) missing."
    ]
    assert [item["key"] for item in body["missing"]] == [
        "deal_history",
        "goals",
        "stakeholders",
        "commitments",
        "risks",
        "technical_requirements",
        "timeline",
    ]
    assert Handoff.objects.get(pk=conversion.handoff.pk).state == "accepted"


def test_an_expansion_action_replays_under_its_idempotency_key(client, handed):
    first = work(client, handed.handoff, "accept", HTTP_IDEMPOTENCY_KEY="take-it-1")
    replay = work(client, handed.handoff, "accept", HTTP_IDEMPOTENCY_KEY="take-it-1")

    assert (first.status_code, replay.status_code) == (200, 200)
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert Notification.objects.filter(recipient=handed.csm).count() == 1


def test_the_schema_documents_the_expansion_actions(client, db):
    schema = client.get("/api/schema", HTTP_ACCEPT="application/json").json()

    complete = schema["paths"]["/api/handoffs/{id}/complete/"]["post"]
    body = complete["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/HandoffCompletion"}
    assert schema["components"]["schemas"]["HandoffCompletion"]["required"] == ["stage"]
    assert set(complete["responses"]) >= {"200", "400", "403", "404"}
    assert "CS -> Sales handoffs only" in complete["description"]
    assert "handoffs:write" in complete["description"]
