"""The CS packet in the partner area and the partner API: drafted with Bowtie's
proposals, saved with its completeness, handed over to customer success once
complete, and sent again after customer success sent it back."""

from datetime import UTC, date, datetime, time

import pytest
import time_machine
from django.urls import reverse

from bowtie.models import Notification, WorkingPeriod
from handoffs.closing import (
    accept_implementation_handoff,
    reject_implementation_handoff,
)
from handoffs.models import Handoff
from partners.handover import hand_over_to_cs, save_cs_packet
from partners.models import Engagement, ReadinessCondition
from partners.services import log_milestone, update_readiness
from partners.tokens import READ_ONLY, issue_partner_token
from tests.partner_fixtures import build_partner_world

WORLD_AT = datetime(2027, 2, 22, 9, 0, tzinfo=UTC)
GO_LIVE_ON = date(2027, 3, 1)
GO_LIVE_AT = datetime(2027, 3, 1, 16, 0, tzinfo=UTC)
# A week into the two of hypercare, which is planned to end on 15 March.
DRAFTED_AT = datetime(2027, 3, 8, 10, 0, tzinfo=UTC)
ENDS_ON = date(2027, 3, 15)

PARTIAL_PACKET = {
    "scope_configuration": "Quotes and approvals live; Salesforce sync on.",
    "training": [{"group": "Sales reps", "status": "trained", "gap": "None."}],
    "sentiment": "Wary at kickoff, positive since the first quotes.",
}
COMPLETE_PACKET = PARTIAL_PACKET | {
    "open_issues": [
        {"issue": "Sync lags at month end", "workaround": "Re-sync", "owner": "Acme"}
    ],
    "stakeholders": [
        {"person": "Ada Lind", "role": "champion", "sentiment": "positive"}
    ],
    "adoption": "9 active days, 4 features used.",
    "lessons": "Train the admins before the data migration.",
}
MISSING_FROM_PARTIAL = ["open_issues", "stakeholders", "adoption", "lessons"]
CS_ITEMS = [
    "scope_configuration",
    "training",
    "open_issues",
    "sentiment",
    "stakeholders",
    "adoption",
    "lessons",
]


@pytest.fixture
def frozen():
    with time_machine.travel(WORLD_AT, tick=False) as traveller:
        yield traveller


@pytest.fixture
def world(db, frozen):
    world = build_partner_world()
    WorkingPeriod.objects.bulk_create(
        WorkingPeriod(
            team=world.success, weekday=day, starts_at=time(9), ends_at=time(17)
        )
        for day in range(5)
    )
    return world


def go_live(engagement, actor, frozen) -> Engagement:
    frozen.move_to(GO_LIVE_AT)
    log_milestone(engagement, "kickoff", actor, actual_on=GO_LIVE_ON, ae_attended=True)
    for key in ReadinessCondition.Key.values:
        update_readiness(
            engagement,
            key,
            actor,
            owner_name="Pia",
            evidence=f"{key} signed off",
            is_met=True,
        )
    log_milestone(engagement, "go_live", actor, actual_on=GO_LIVE_ON)
    return Engagement.objects.get(pk=engagement.pk)


@pytest.fixture
def live(world, frozen):
    """Both engagements live in hypercare, Acme's implementation handoff
    accepted; the clock a week into hypercare."""
    accept_implementation_handoff(world.acme_engagement.handoff, world.head)
    world.acme_engagement = go_live(world.acme_engagement, world.acme_actor, frozen)
    world.birch_engagement = go_live(world.birch_engagement, world.birch_actor, frozen)
    frozen.move_to(DRAFTED_AT)
    return world


@pytest.fixture
def acme_client(client, world):
    client.force_login(world.acme_member.user)
    return client


@pytest.fixture
def acme_key(world):
    _, key = issue_partner_token(world.acme, "Acme PSA", world.head)
    return key


def page_url(engagement, name="partner-engagement"):
    return reverse(name, args=[engagement.pk])


def api_url(engagement, part):
    return f"/api/partner/engagements/{engagement.pk}/{part}"


def bearer(key):
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def form_of(packet: dict) -> dict:
    """The packet as the page's form posts it: rows as `<key>-<n>-<part>`."""
    data = {}
    for key, value in packet.items():
        if isinstance(value, list):
            for number, row in enumerate(value):
                for part, text in row.items():
                    data[f"{key}-{number}-{part}"] = text
        else:
            data[key] = value
    return data


def section_of(response) -> dict:
    return response.context["cs_packet"]


def gaps_of(response) -> dict:
    return {
        view["item"].key: view["gap"]
        for view in section_of(response)["items"]
        if view["gap"]
    }


def test_the_section_opens_at_go_live_with_bowties_proposals_marked(
    acme_client, world, frozen
):
    before = acme_client.get(page_url(world.acme_engagement))
    world.acme_engagement = go_live(world.acme_engagement, world.acme_actor, frozen)

    page = acme_client.get(page_url(world.acme_engagement))

    assert before.context["cs_packet"] is None
    assert 'id="hand-over"' not in before.content.decode()
    section = section_of(page)
    proposed = [v["item"].key for v in section["items"] if v["is_proposal"]]
    assert proposed == ["scope_configuration", "training", "stakeholders", "adoption"]
    assert section["assessment"].completeness == 0
    html = page.content.decode()
    assert 'id="cs-completeness-percent">0 %<' in html
    assert html.count('<span class="pill proposal">proposed</span>') == 5
    assert "Integration: Salesforce sync." in html
    assert 'value="Ada Lind"' in html
    assert "No product use recorded since go-live on 01 Mar 2027." in html
    pk = world.acme_engagement.pk
    assert f'action="/partner/engagements/{pk}/cs-packet/"' in html
    assert f'formaction="/partner/engagements/{pk}/hand-over/"' in html
    # Proposals are shown, not stored.
    assert Engagement.objects.get(pk=world.acme_engagement.pk).cs_packet == {}


def test_a_partial_packet_is_saved_with_its_exact_completeness(live, acme_client):
    engagement = live.acme_engagement

    saved = acme_client.post(
        page_url(engagement, "partner-cs-packet-save"), form_of(PARTIAL_PACKET)
    )
    page = acme_client.get(saved.url)

    assert (saved.status_code, saved.url) == (
        302,
        f"/partner/engagements/{engagement.pk}/#hand-over",
    )
    engagement.refresh_from_db()
    assert engagement.cs_packet == PARTIAL_PACKET | {
        "open_issues": [],
        "stakeholders": [],
        "adoption": "",
        "lessons": "",
    }
    # Three of the seven required items.
    assert engagement.cs_packet_completeness == 42
    assert engagement.status == "hypercare"
    assert "CS packet saved: 42 % complete." in page.content.decode()
    assert 'id="cs-completeness-percent">42 %<' in page.content.decode()
    section = section_of(page)
    assert [missing.key for missing in section["assessment"].missing] == (
        MISSING_FROM_PARTIAL
    )
    # Listed above the form; put on the items only by a refused post.
    assert gaps_of(page) == {}
    assert [v["item"].key for v in section_of(page)["items"] if v["is_proposal"]] == [
        "stakeholders",
        "adoption",
    ]


def test_the_hand_over_is_refused_naming_each_missing_item_keeping_the_input(
    live, acme_client
):
    engagement = live.acme_engagement
    typed = PARTIAL_PACKET | {"lessons": "  "}

    refused = acme_client.post(
        page_url(engagement, "partner-hand-over"), form_of(typed)
    )

    assert refused.status_code == 400
    html = refused.content.decode()
    assert section_of(refused)["refusal"] == (
        "Not handed over: Customer success takes over with a complete CS packet. "
        "What you typed is saved; complete the items marked below."
    )
    assert gaps_of(refused) == {
        "open_issues": "Open issues: Open issues with workarounds: add at least one.",
        "stakeholders": "Stakeholder map: Updated stakeholder map: add at least one.",
        "adoption": "Adoption: First adoption metrics: missing.",
        "lessons": "Lessons: Lessons learned: missing.",
    }
    assert "Wary at kickoff, positive since the first quotes." in html
    assert 'value="Sales reps"' in html
    # As typed: no proposal put back into an item left empty.
    assert not any(v["is_proposal"] for v in section_of(refused)["items"])
    engagement.refresh_from_db()
    assert (
        engagement.status,
        engagement.cs_handoff,
        engagement.cs_packet_completeness,
    ) == (
        "hypercare",
        None,
        42,
    )
    assert engagement.milestones.get(kind="hypercare_end").actual_on is None
    assert not Handoff.objects.filter(kind="implementation_to_cs").exists()


def test_a_complete_packet_hands_over_before_hypercares_planned_end(live, acme_client):
    engagement = live.acme_engagement

    handed = acme_client.post(
        page_url(engagement, "partner-hand-over"), form_of(COMPLETE_PACKET)
    )
    page = acme_client.get(handed.url)

    assert handed.status_code == 302
    handoff = Handoff.objects.get(kind="implementation_to_cs")
    engagement.refresh_from_db()
    assert (engagement.status, engagement.cs_handoff) == ("handed_to_cs", handoff)
    assert (handoff.deal, handoff.state, handoff.opened_at) == (
        engagement.deal,
        "open",
        DRAFTED_AT,
    )
    assert (handoff.sender, handoff.receiving_team) == (live.head, live.success)
    assert handoff.packet == engagement.cs_packet
    assert engagement.cs_packet_completeness == 100
    ending = engagement.milestones.get(kind="hypercare_end")
    assert (ending.planned_on, ending.actual_on, ending.logged_by) == (
        ENDS_ON,
        date(2027, 3, 8),
        "Pia Acme (Acme Partners)",
    )
    assert Handoff.objects.get(pk=engagement.handoff_id).state == "completed"
    html = page.content.decode()
    assert "Handed over to customer success: their clocks are running." in html
    assert section_of(page)["is_open"] is False
    assert "open, waiting for customer success" in html
    assert "Sync lags at month end" in html
    assert 'id="cs-packet-form"' not in html


def test_the_handed_over_section_follows_the_handoffs_state_read_only(
    live, acme_client
):
    save_cs_packet(live.acme_engagement, live.acme_actor, COMPLETE_PACKET)
    handoff = hand_over_to_cs(live.acme_engagement, live.acme_actor)
    url = page_url(live.acme_engagement)

    opened = acme_client.get(url).content.decode()
    accept_implementation_handoff(handoff, live.csm)
    accepted = acme_client.get(url).content.decode()
    reject_implementation_handoff(handoff, live.csm, "No adoption by role.")
    sent_back = acme_client.get(url)

    assert '<span class="pill open">open, waiting for customer success</span>' in (
        opened
    )
    assert '<span class="pill accepted">accepted</span>' in accepted
    assert "accepted on 8 Mar 2027, 10:00" in accepted
    assert 'id="cs-packet-form"' not in opened + accepted
    section = section_of(sent_back)
    assert (section["is_open"], section["is_sent_back"]) == (True, True)
    html = sent_back.content.decode()
    assert "No adoption by role." in html
    assert 'id="send-again"' in html and 'id="hand-over-now"' not in html
    # The milestones stay final: customer success has had the account.
    assert sent_back.context["is_final"] is True


def test_a_sent_back_handoff_is_completed_and_sent_again_from_the_page(
    live, acme_client, frozen
):
    save_cs_packet(live.acme_engagement, live.acme_actor, COMPLETE_PACKET)
    handoff = hand_over_to_cs(live.acme_engagement, live.acme_actor)
    reject_implementation_handoff(handoff, live.csm, "No adoption numbers.")
    frozen.move_to(datetime(2027, 3, 9, 10, 0, tzinfo=UTC))
    url = page_url(live.acme_engagement, "partner-cs-send-again")

    refused = acme_client.post(url, form_of(COMPLETE_PACKET | {"adoption": ""}))
    refused_state = Handoff.objects.get(pk=handoff.pk).state
    sent = acme_client.post(
        url, form_of(COMPLETE_PACKET | {"adoption": "12 active days, 5 features."})
    )

    assert refused.status_code == 400
    assert section_of(refused)["refusal"].startswith("Not sent again: ")
    assert gaps_of(refused) == {
        "adoption": "Adoption: First adoption metrics: missing."
    }
    assert refused_state == "rejected"
    assert sent.status_code == 302
    handoff = Handoff.objects.get(pk=handoff.pk)
    assert (handoff.state, handoff.packet["adoption"]) == (
        "open",
        "12 active days, 5 features.",
    )
    assert Notification.objects.get(
        recipient=live.csm, subject="Handoff sent again: Globex platform"
    ).body == (
        "Pia Acme (Acme Partners) completed the packet after: No adoption numbers."
    )
    page = acme_client.get(sent.url).content.decode()
    assert "Sent again to customer success, with fresh clocks." in page
    assert "open, waiting for customer success" in page


def test_saving_once_customer_success_has_the_packet_is_refused_on_the_page(
    live, acme_client
):
    save_cs_packet(live.acme_engagement, live.acme_actor, COMPLETE_PACKET)
    hand_over_to_cs(live.acme_engagement, live.acme_actor)

    refused = acme_client.post(
        page_url(live.acme_engagement, "partner-cs-packet-save"),
        form_of(PARTIAL_PACKET),
    )

    assert refused.status_code == 400
    assert section_of(refused)["refusal"] == (
        "Customer success has this packet; it opens again only if they send it back."
    )
    assert Engagement.objects.get(pk=live.acme_engagement.pk).cs_packet == (
        COMPLETE_PACKET
    )


def test_another_partners_engagement_answers_404_on_every_new_page_and_route(
    client, live, acme_key
):
    birch = live.birch_engagement
    save_cs_packet(birch, live.birch_actor, PARTIAL_PACKET)
    client.force_login(live.acme_member.user)
    pages = ["partner-cs-packet-save", "partner-hand-over", "partner-cs-send-again"]

    answers = [
        client.post(page_url(birch, name), form_of(COMPLETE_PACKET)) for name in pages
    ]
    answers += [
        client.get(api_url(birch, "cs-packet/"), **bearer(acme_key)),
        client.put(
            api_url(birch, "cs-packet/"),
            {"packet": COMPLETE_PACKET},
            content_type="application/json",
            **bearer(acme_key),
        ),
        client.post(api_url(birch, "hand-over/"), **bearer(acme_key)),
    ]

    assert [answer.status_code for answer in answers] == [404] * 6
    assert "not one of your engagements" in answers[0].content.decode()
    assert {answer.json()["detail"] for answer in answers[3:]} == {
        "No Engagement matches the given query."
    }
    birch.refresh_from_db()
    assert (birch.status, birch.cs_packet, birch.cs_handoff) == (
        "hypercare",
        PARTIAL_PACKET,
        None,
    )


def test_the_api_reads_the_packet_its_gaps_and_bowties_proposals(
    client, live, acme_key
):
    response = client.get(
        api_url(live.acme_engagement, "cs-packet/"), **bearer(acme_key)
    )

    body = response.json()
    assert response.status_code == 200
    assert [item["key"] for item in body["items"]] == CS_ITEMS
    assert (body["is_open"], body["packet"], body["completeness"]) == (True, {}, 0)
    assert [missing["key"] for missing in body["missing"]] == CS_ITEMS
    assert body["proposals"] == {
        "scope_configuration": "Integration: Salesforce sync.\n"
        "Tasks work end to end: tasks_work signed off",
        "training": [
            {
                "group": "At go-live: people_trained signed off",
                "status": "trained",
                "gap": "",
            }
        ],
        "stakeholders": [
            {"person": "Ada Lind", "role": "champion", "sentiment": "positive"},
            {"person": "Bo Ek", "role": "economic buyer", "sentiment": "neutral"},
        ],
        "adoption": "No product use recorded since go-live on 01 Mar 2027.",
    }
    assert body["handoff"] is None


def test_the_api_saves_the_packet_whole_and_refuses_by_field(client, live, acme_key):
    url = api_url(live.acme_engagement, "cs-packet/")

    saved = client.put(
        url,
        {"packet": PARTIAL_PACKET | {"lessons": " ", "open_issues": [{}]}},
        content_type="application/json",
        **bearer(acme_key),
    )
    refused = client.put(
        url,
        {
            "packet": {
                "sentiment": ["Calm"],
                "colour": "teal",
                "training": [
                    {"group": "Admins", "status": "great", "gap": ""},
                    {"group": "Reps", "level": "high"},
                    "Everyone",
                ],
            }
        },
        content_type="application/json",
        **bearer(acme_key),
    )
    not_an_object = client.put(
        url,
        {"packet": ["training"]},
        content_type="application/json",
        **bearer(acme_key),
    )

    assert saved.status_code == 200
    assert (saved.json()["completeness"], saved.json()["packet"]) == (
        42,
        PARTIAL_PACKET | {"lessons": "", "open_issues": []},
    )
    assert [missing["key"] for missing in saved.json()["missing"]] == (
        MISSING_FROM_PARTIAL
    )
    assert list(saved.json()["proposals"]) == ["stakeholders", "adoption"]
    assert refused.status_code == 400
    assert refused.json() == {
        "packet": {
            "sentiment": ["Send this item as text."],
            "colour": [
                "Not an item of the CS packet; its items are "
                "scope_configuration, training, open_issues, sentiment, "
                "stakeholders, adoption, lessons."
            ],
            "training": [
                "Row 1: status is one of trained, partly trained, not trained.",
                "Row 2: level is not a part; the parts are group, status, gap.",
                "Row 3: send it as an object by part.",
            ],
        }
    }
    assert not_an_object.status_code == 400
    assert not_an_object.json() == {
        "packet": ["Send the packet as an object keyed by item."]
    }
    engagement = Engagement.objects.get(pk=live.acme_engagement.pk)
    assert engagement.cs_packet_completeness == 42


def test_the_api_hand_over_is_refused_409_until_the_packet_is_complete(
    client, live, acme_key
):
    engagement = live.acme_engagement
    packet_url = api_url(engagement, "cs-packet/")
    hand_over_url = api_url(engagement, "hand-over/")
    client.put(
        packet_url,
        {"packet": PARTIAL_PACKET},
        content_type="application/json",
        **bearer(acme_key),
    )

    refused = client.post(hand_over_url, **bearer(acme_key))
    client.put(
        packet_url,
        {"packet": COMPLETE_PACKET},
        content_type="application/json",
        **bearer(acme_key),
    )
    handed = client.post(
        hand_over_url, **bearer(acme_key), HTTP_IDEMPOTENCY_KEY="hand-over-1"
    )
    replayed = client.post(
        hand_over_url, **bearer(acme_key), HTTP_IDEMPOTENCY_KEY="hand-over-1"
    )
    again = client.post(hand_over_url, **bearer(acme_key))
    late_save = client.put(
        packet_url,
        {"packet": PARTIAL_PACKET},
        content_type="application/json",
        **bearer(acme_key),
    )

    assert refused.status_code == 409
    assert refused.json() == {
        "detail": "Customer success takes over with a complete CS packet. Missing: "
        "Open issues: Open issues with workarounds: add at least one. "
        "Stakeholder map: Updated stakeholder map: add at least one. "
        "Adoption: First adoption metrics: missing. "
        "Lessons: Lessons learned: missing.",
        "missing": [
            {
                "key": "open_issues",
                "text": "Open issues: Open issues with workarounds: add at least one.",
            },
            {
                "key": "stakeholders",
                "text": "Stakeholder map: Updated stakeholder map: add at least one.",
            },
            {"key": "adoption", "text": "Adoption: First adoption metrics: missing."},
            {"key": "lessons", "text": "Lessons: Lessons learned: missing."},
        ],
    }
    assert handed.status_code == 200
    assert (handed.json()["is_open"], handed.json()["proposals"]) == (False, {})
    assert handed.json()["handoff"] == {
        "state": "open",
        "label": "Open",
        "opened_at": "2027-03-08T10:00:00Z",
        "accepted_at": None,
        "rejection_reason": "",
    }
    assert replayed["Idempotent-Replayed"] == "true"
    assert again.status_code == 200 and again.json() == handed.json()
    assert Handoff.objects.filter(kind="implementation_to_cs").count() == 1
    engagement.refresh_from_db()
    assert (engagement.status, engagement.cs_packet) == (
        "handed_to_cs",
        COMPLETE_PACKET,
    )
    assert engagement.milestones.get(kind="hypercare_end").logged_by == (
        "Acme PSA (API)"
    )
    assert late_save.status_code == 400
    assert late_save.json() == {
        "non_field_errors": [
            "Customer success has this packet; it opens again only if they send "
            "it back."
        ]
    }


def test_a_read_only_token_reads_the_cs_packet_but_cannot_write_it(client, live):
    _, key = issue_partner_token(live.acme, "Acme reports", live.head, scopes=READ_ONLY)
    engagement = live.acme_engagement

    read = client.get(api_url(engagement, "cs-packet/"), **bearer(key))
    put = client.put(
        api_url(engagement, "cs-packet/"),
        {"packet": COMPLETE_PACKET},
        content_type="application/json",
        **bearer(key),
    )
    post = client.post(api_url(engagement, "hand-over/"), **bearer(key))

    assert [read.status_code, put.status_code, post.status_code] == [200, 403, 403]
    assert put.json() == {"detail": "This token lacks the scope partner:write."}
    assert Engagement.objects.get(pk=engagement.pk).cs_packet == {}
