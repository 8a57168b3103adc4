"""/api/handoffs, /api/milestones, /api/packet-templates: actions go through
the services, so state, clocks and notices are the handoff page's."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from rest_framework.pagination import CursorPagination

from bowtie.models import ApiToken, Notification
from handoffs.api.handoff_actions import ONLY_RECEIVERS
from handoffs.api.handoff_views import NEEDS_A_PERSON
from handoffs.clocks import due_milestone_ids, record_breaches
from handoffs.closing import (
    accept_implementation_handoff,
    close_deal_won,
    reject_implementation_handoff,
    save_deal_packet,
)
from handoffs.models import Handoff, HandoffRating, Milestone, PacketItem
from tests.deal_fixtures import COMPLETE_PACKET, build_open_deal
from tests.factories import AccountFactory, ApiTokenFactory, PersonFactory

NOW = datetime(2027, 1, 31, 10, 0, tzinfo=UTC)
READER_KEY = "bt_handoff_reader_01"
INTEGRATION_KEY = "bt_handoff_integr_01"
HEAD_KEY = "bt_handoff_head_0001"
DEALS_KEY = "bt_handoff_deals_001"
MARKS = {
    "completeness": 4,
    "promise_alignment": 2,
    "sentiment_continuity": 3,
    "context_transfer": 4,
    "stakeholder_mapping": 2,
}


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def won(db, frozen):
    """A deal closed won: its implementation handoff is open, clocks running."""
    won = build_open_deal()
    save_deal_packet(won.deal, COMPLETE_PACKET)
    won.handoff = close_deal_won(won.deal, actor=won.ae).handoff
    return won


@pytest.fixture
def reader(db):
    return ApiTokenFactory(key=READER_KEY, scopes=["handoffs:read"])


@pytest.fixture
def head_token(won):
    """The implementation head's own token: it acts as them."""
    return ApiTokenFactory(
        name="Ivy's scripts",
        key=HEAD_KEY,
        scopes=["handoffs:read", "handoffs:write"],
        person=won.head,
    )


def bearer(key):
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def post_action(client, handoff, name, body=None, key=HEAD_KEY):
    return client.post(
        f"/api/handoffs/{handoff.pk}/{name}",
        body or {},
        content_type="application/json",
        **bearer(key),
    )


def test_a_handoff_reads_whole_with_packet_clocks_participants_and_tasks(
    client, won, reader
):
    response = client.get(f"/api/handoffs/{won.handoff.pk}", **bearer(READER_KEY))

    body = response.json()
    assert response.status_code == 200
    assert (body["kind"], body["state"], body["deal"]) == (
        "sales_to_implementation",
        "open",
        won.deal.pk,
    )
    assert (body["sender"], body["receiving_team"]) == (
        won.ae.pk,
        won.implementation.pk,
    )
    assert body["packet"] == COMPLETE_PACKET
    assert [(m["key"], m["due_at"], m["is_running"]) for m in body["milestones"]] == [
        ("ae_briefing", "2027-02-02T10:00:00Z", True),
        ("kickoff_scheduled", "2027-02-03T10:00:00Z", True),
        ("first_meeting", "2027-02-07T10:00:00Z", True),
        ("intro_email", "2027-02-07T10:00:00Z", True),
    ]
    assert [(t["title"], t["owner"], t["due_at"]) for t in body["tasks"]] == [
        ("AE joins the kickoff", won.ae.pk, "2027-02-03T10:00:00Z"),
        (
            "AE copied on customer e-mails for two weeks",
            won.ae.pk,
            "2027-02-14T10:00:00Z",
        ),
    ]
    assert body["participants"] == [
        {
            "person": won.ae.pk,
            "role": "sales_overlay",
            "joins_kickoff": True,
            "copy_ends_at": "2027-02-14T10:00:00Z",
        }
    ]
    assert body["rating"] is None


def test_handoffs_need_the_handoff_scopes(client, won, reader):
    ApiTokenFactory(key=DEALS_KEY, scopes=["deals:read", "deals:write"])

    listed = client.get("/api/handoffs", **bearer(DEALS_KEY))
    milestones = client.get("/api/milestones", **bearer(DEALS_KEY))
    templates = client.get("/api/packet-templates", **bearer(DEALS_KEY))
    accepted = post_action(client, won.handoff, "accept", key=READER_KEY)

    assert [r.status_code for r in (listed, milestones, templates, accepted)] == [
        403,
        403,
        403,
        403,
    ]
    assert Handoff.objects.get().state == "open"


def test_an_integration_token_cannot_act_as_nobody(client, won):
    ApiTokenFactory(key=INTEGRATION_KEY, scopes=["handoffs:read", "handoffs:write"])

    response = post_action(client, won.handoff, "accept", key=INTEGRATION_KEY)

    assert response.status_code == 403
    assert response.json() == {"detail": NEEDS_A_PERSON}
    assert Handoff.objects.get().state == "open"


def test_accept_goes_through_the_service_and_stops_the_briefing_clock(
    client, won, head_token, frozen
):
    frozen.shift(timedelta(hours=3))

    response = post_action(client, won.handoff, "accept")

    body = response.json()
    handoff = Handoff.objects.get()
    briefing = Milestone.objects.get(handoff=handoff, key="ae_briefing")
    assert response.status_code == 200
    assert (handoff.state, handoff.receiver, handoff.accepted_at) == (
        "accepted",
        won.head,
        NOW + timedelta(hours=3),
    )
    assert briefing.met_at == NOW + timedelta(hours=3)
    assert (body["state"], body["receiver"]) == ("accepted", won.head.pk)
    assert body["milestones"][0]["met_at"] == "2027-01-31T13:00:00Z"


def test_accept_twice_answers_400_with_the_reason(client, won, head_token):
    post_action(client, won.handoff, "accept")

    again = post_action(client, won.handoff, "accept")

    assert again.status_code == 400
    assert again.json() == {"non_field_errors": ["This handoff is accepted."]}


def test_someone_who_sees_but_does_not_receive_a_handoff_may_not_work_it(client, won):
    client.force_login(won.ae.user)

    seen = client.get(f"/api/handoffs/{won.handoff.pk}")
    accepted = client.post(f"/api/handoffs/{won.handoff.pk}/accept")

    assert seen.status_code == 200
    assert accepted.status_code == 403
    assert accepted.json() == {"detail": ONLY_RECEIVERS}
    assert Handoff.objects.get().state == "open"


def test_reject_without_a_reason_answers_400_naming_the_field(client, won, head_token):
    response = post_action(client, won.handoff, "reject", {"reason": "  "})

    assert response.status_code == 400
    assert response.json() == {"reason": ["This field may not be blank."]}
    assert Handoff.objects.get().state == "open"
    assert not Notification.objects.filter(recipient=won.ae).exists()


def test_reject_sends_back_starts_the_aes_clock_and_tells_the_ae(
    client, won, head_token
):
    response = post_action(
        client, won.handoff, "reject", {"reason": "No migration plan."}
    )

    handoff = Handoff.objects.get()
    assert response.status_code == 200
    assert (handoff.state, handoff.rejection_reason, handoff.closed_at) == (
        "rejected",
        "No migration plan.",
        NOW,
    )
    assert [(m["key"], m["owed_by"]) for m in response.json()["milestones"]] == [
        ("packet_resubmitted", "sender")
    ]
    assert Notification.objects.get(recipient=won.ae).subject == (
        "Handoff sent back: Globex platform"
    )


def test_the_ae_sends_a_sent_back_handoff_again(client, won, frozen):
    reject_implementation_handoff(won.handoff, won.head, "Risks are thin.")
    frozen.shift(timedelta(days=1))
    client.force_login(won.ae.user)

    refused = client.post(f"/api/handoffs/{won.handoff.pk}/accept")
    response = client.post(f"/api/handoffs/{won.handoff.pk}/resubmit")

    handoff = Handoff.objects.get()
    assert refused.status_code == 403
    assert response.status_code == 200
    assert handoff.state == "open"
    assert Notification.objects.filter(
        recipient=won.head, subject="Handoff sent again: Globex platform"
    ).exists()


def test_resubmit_with_an_incomplete_packet_answers_400_naming_the_items(client, won):
    reject_implementation_handoff(won.handoff, won.head, "Risks are thin.")
    save_deal_packet(won.deal, COMPLETE_PACKET | {"risks": " "})
    client.force_login(won.ae.user)

    response = client.post(f"/api/handoffs/{won.handoff.pk}/resubmit")

    body = response.json()
    assert response.status_code == 400
    assert set(body) == {"non_field_errors", "missing"}
    assert [item["key"] for item in body["missing"]] == ["risks"]
    assert Handoff.objects.get().state == "rejected"


def test_the_receivers_may_not_send_a_handoff_again(client, won, head_token):
    reject_implementation_handoff(won.handoff, won.head, "Risks are thin.")

    response = post_action(client, won.handoff, "resubmit")

    assert response.status_code == 403
    assert Handoff.objects.get().state == "rejected"


def test_rate_before_accepting_answers_400_and_stores_nothing(client, won, head_token):
    response = post_action(client, won.handoff, "rate", MARKS)

    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": ["Accept the handoff before rating it."]
    }
    assert not HandoffRating.objects.exists()


def test_rate_answers_400_naming_each_bad_mark(client, won, head_token):
    accept_implementation_handoff(won.handoff, won.head)

    response = post_action(
        client,
        won.handoff,
        "rate",
        MARKS | {"promise_alignment": 6, "context_transfer": "good"},
    )

    body = response.json()
    assert response.status_code == 400
    assert set(body) == {"promise_alignment", "context_transfer"}
    assert body["promise_alignment"] == [
        "Ensure this value is less than or equal to 5."
    ]
    assert not HandoffRating.objects.exists()


def test_rate_stores_the_marks_by_the_acting_person(client, won, head_token):
    accept_implementation_handoff(won.handoff, won.head)

    response = post_action(
        client, won.handoff, "rate", MARKS | {"comment": " Thin on promises. "}
    )

    rating = HandoffRating.objects.get()
    assert response.status_code == 200
    assert (rating.rated_by, rating.comment, rating.average) == (
        won.head,
        "Thin on promises.",
        3.0,
    )
    assert response.json()["rating"] == {
        **MARKS,
        "comment": "Thin on promises.",
        "average": 3.0,
        "rated_by": won.head.pk,
        "rated_at": "2027-01-31T10:00:00Z",
    }


def test_a_lead_handoff_is_not_worked_here(client, won, head_token):
    handoff = Handoff.objects.create(
        kind=Handoff.Kind.LEAD_TO_SALES,
        account=AccountFactory(),
        receiving_team=won.implementation,
        opened_at=NOW,
    )

    response = post_action(client, handoff, "accept")

    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": [
            "Marketing → Sales handoffs are not worked over the API; a lead's "
            "handoff is worked on the lead."
        ]
    }
    assert Handoff.objects.get(pk=handoff.pk).state == "open"


def test_a_handoff_to_implementation_is_not_completed_here(client, won, head_token):
    response = post_action(client, won.handoff, "complete", {"stage": "Won"})

    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": [
            "Sales → Implementation handoffs do not take `complete`; they take "
            "accept, rate, reject, resubmit."
        ]
    }


def test_signed_in_people_see_only_the_handoffs_they_may_open(client, won):
    other_ae = PersonFactory(role="ae", team=won.ae.team)
    receiver = PersonFactory(role="implementation", team=won.implementation)

    seen = {}
    for person in (other_ae, won.ae, receiver, won.head):
        client.force_login(person.user)
        handoffs = client.get("/api/handoffs").json()["results"]
        milestones = client.get("/api/milestones").json()["results"]
        seen[person.full_name] = (len(handoffs), len(milestones))

    assert seen == {
        other_ae.full_name: (0, 0),
        won.ae.full_name: (1, 4),
        receiver.full_name: (1, 4),
        won.head.full_name: (1, 4),
    }
    client.force_login(other_ae.user)
    assert client.get(f"/api/handoffs/{won.handoff.pk}").status_code == 404


def test_a_persons_token_sees_what_they_see(client, won):
    other_ae = PersonFactory(role="ae", team=won.ae.team)
    ApiTokenFactory(key=READER_KEY, scopes=["handoffs:read"], person=other_ae)

    response = client.get("/api/handoffs", **bearer(READER_KEY))

    assert response.json()["results"] == []


def test_a_token_of_an_inactive_person_is_refused(client, won, head_token):
    won.head.is_active = False
    won.head.save()

    response = client.get("/api/handoffs", **bearer(HEAD_KEY))

    assert response.status_code == 401


def test_updated_since_finds_a_handoff_whose_clock_breached(
    client, won, reader, frozen
):
    quiet = Handoff.objects.create(
        kind=Handoff.Kind.CS_TO_SALES, account=AccountFactory(), opened_at=NOW
    )
    frozen.shift(timedelta(hours=49))
    since = "2027-02-02T10:30:00Z"
    before = client.get("/api/handoffs", {"updated_since": since}, **bearer(READER_KEY))
    frozen.shift(timedelta(hours=1))

    # The sweeper's breach touches the milestone alone, not the handoff row.
    later = NOW + timedelta(hours=50)
    breached = record_breaches(due_milestone_ids(later, 10), later)
    after = client.get("/api/handoffs", {"updated_since": since}, **bearer(READER_KEY))

    assert before.json()["results"] == []
    assert len(breached) == 1
    assert [h["id"] for h in after.json()["results"]] == [won.handoff.pk]
    assert quiet.pk not in [h["id"] for h in after.json()["results"]]


def test_handoffs_filter_by_kind_and_state_and_order_on_request(
    client, won, reader, frozen
):
    frozen.shift(timedelta(minutes=1))
    other = Handoff.objects.create(
        kind=Handoff.Kind.CS_TO_SALES, account=AccountFactory(), opened_at=NOW
    )

    kind = client.get(
        "/api/handoffs", {"kind": "cs_to_sales"}, **bearer(READER_KEY)
    ).json()
    state = client.get("/api/handoffs", {"state": "open"}, **bearer(READER_KEY))
    oldest_change_first = client.get(
        "/api/handoffs", {"ordering": "updated_at"}, **bearer(READER_KEY)
    ).json()

    assert [h["id"] for h in kind["results"]] == [other.pk]
    assert len(state.json()["results"]) == 2
    assert [h["id"] for h in oldest_change_first["results"]] == [
        won.handoff.pk,
        other.pk,
    ]


def test_handoff_list_costs_the_same_queries_for_one_or_many(
    client, won, reader, django_assert_num_queries
):
    ApiToken.objects.filter(pk=reader.pk).update(last_used_at=NOW)
    # The token, the handoffs with their ratings, then milestones,
    # participants and tasks for the whole page.
    with django_assert_num_queries(5):
        client.get("/api/handoffs", **bearer(READER_KEY))
    for _ in range(3):
        Handoff.objects.create(
            kind=Handoff.Kind.CS_TO_SALES, account=AccountFactory(), opened_at=NOW
        )

    with django_assert_num_queries(5):
        response = client.get("/api/handoffs", **bearer(READER_KEY))

    assert len(response.json()["results"]) == 4


def test_milestones_filter_by_state_key_and_side(client, won, reader):
    reject_implementation_handoff(won.handoff, won.head, "Risks are thin.")

    def ids(**filters):
        response = client.get("/api/milestones", filters, **bearer(READER_KEY))
        return [m["key"] for m in response.json()["results"]]

    assert ids() == ["packet_resubmitted"]
    assert ids(owed_by="sender", running="true") == ["packet_resubmitted"]
    assert ids(running="false") == []
    assert ids(handoff=won.handoff.pk, key="packet_resubmitted") == [
        "packet_resubmitted"
    ]
    assert ids(breached="true") == []
    assert ids(met="false") == ["packet_resubmitted"]


def test_milestones_updated_since_and_the_cursor_walk(
    client, won, reader, frozen, monkeypatch
):
    monkeypatch.setattr(CursorPagination, "page_size", 1)
    frozen.shift(timedelta(hours=3))
    accept_implementation_handoff(won.handoff, won.head)

    since = client.get(
        "/api/milestones",
        {"updated_since": "2027-01-31T12:00:00Z"},
        **bearer(READER_KEY),
    ).json()
    pages = [client.get("/api/milestones", **bearer(READER_KEY)).json()]
    while pages[-1]["next"]:
        pages.append(client.get(pages[-1]["next"], **bearer(READER_KEY)).json())

    assert [m["key"] for m in since["results"]] == ["ae_briefing"]
    # Two clocks are due at the same time: the id keeps their order.
    assert [[m["key"] for m in page["results"]] for page in pages] == [
        ["ae_briefing"],
        ["kickoff_scheduled"],
        ["first_meeting"],
        ["intro_email"],
    ]


def test_packet_templates_list_items_with_their_parts(client, won, reader, frozen):
    response = client.get(
        "/api/packet-templates",
        {"handoff_kind": "sales_to_implementation"},
        **bearer(READER_KEY),
    )

    template = response.json()["results"][0]
    goals = next(item for item in template["items"] if item["key"] == "goals")
    assert response.status_code == 200
    assert goals["kind"] == "rows"
    assert [part["key"] for part in goals["parts"]] == [
        "metric",
        "baseline",
        "target",
        "by_when",
    ]


def test_packet_templates_updated_since_sees_a_changed_item(
    client, won, reader, frozen
):
    frozen.shift(timedelta(days=1))
    since = {"updated_since": "2027-02-01T09:00:00Z"}
    before = client.get("/api/packet-templates", since, **bearer(READER_KEY))
    item = PacketItem.objects.get(key="risks")
    item.label = "Risks, politics and blockers"
    item.save()

    after = client.get("/api/packet-templates", since, **bearer(READER_KEY))

    assert before.json()["results"] == []
    assert [t["handoff_kind"] for t in after.json()["results"]] == [
        "sales_to_implementation"
    ]
