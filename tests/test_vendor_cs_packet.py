"""The CS packet on the vendor's engagement page: the implementation side
drafts it, hands it over and sends it again, for an engagement delivered
in-house or on a partner's behalf; whoever does not work the engagement is
refused, and whoever cannot see it finds nothing."""

from datetime import UTC, date, datetime, time

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.urls import reverse

from bowtie.models import Notification, Pipeline, WorkingPeriod
from handoffs.closing import (
    accept_implementation_handoff,
    reject_implementation_handoff,
)
from handoffs.models import Handoff
from partners.actors import actor_for_person
from partners.handover import hand_over_to_cs, save_cs_packet
from partners.models import Engagement
from partners.services import assign_partner
from tests.factories import PersonFactory
from tests.partner_fixtures import build_partner_world, build_won_deal
from tests.test_partner_cs_packet import (
    COMPLETE_PACKET,
    DRAFTED_AT,
    MISSING_FROM_PARTIAL,
    PARTIAL_PACKET,
    WORLD_AT,
    form_of,
    go_live,
)

CS_PAGES = [
    "engagement-save-cs-packet",
    "engagement-hand-over",
    "engagement-send-again",
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


@pytest.fixture
def in_house(world, frozen):
    """A third won deal, Umbrella's, delivered by our own team and led by
    Lee; live in hypercare, the clock a week into it."""
    world.lee = PersonFactory(
        full_name="Lee Lead", role="implementation", team=world.implementation
    )
    pipeline = Pipeline.objects.get(kind="new_business", is_default=True)
    deal = build_won_deal("Umbrella", world.ae, pipeline)
    engagement = assign_partner(
        deal.handoffs.get(), world.vendor, None, implementation_lead=world.lee
    )
    accept_implementation_handoff(engagement.handoff, world.head)
    world.in_house = go_live(engagement, actor_for_person(world.lee), frozen)
    frozen.move_to(DRAFTED_AT)
    return world


@pytest.fixture
def sent_back(world, frozen):
    """Acme's engagement handed over by the partner, and sent back by
    customer success the day after."""
    accept_implementation_handoff(world.acme_engagement.handoff, world.head)
    engagement = go_live(world.acme_engagement, world.acme_actor, frozen)
    frozen.move_to(DRAFTED_AT)
    save_cs_packet(engagement, world.acme_actor, COMPLETE_PACKET)
    world.cs_handoff = hand_over_to_cs(engagement, world.acme_actor)
    frozen.move_to(datetime(2027, 3, 9, 10, 0, tzinfo=UTC))
    reject_implementation_handoff(world.cs_handoff, world.csm, "No adoption numbers.")
    world.acme_engagement = Engagement.objects.get(pk=engagement.pk)
    return world


def page_url(engagement, name="engagement-detail"):
    return reverse(name, args=[engagement.pk])


def section_of(response) -> dict:
    return response.context["cs_packet"]


def gaps_of(response) -> dict:
    return {
        view["item"].key: view["gap"]
        for view in section_of(response)["items"]
        if view["gap"]
    }


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_the_in_house_lead_saves_the_packet_from_bowties_proposals(client, in_house):
    engagement = in_house.in_house
    client.force_login(in_house.lee.user)

    page = client.get(page_url(engagement))
    saved = client.post(
        page_url(engagement, "engagement-save-cs-packet"), form_of(PARTIAL_PACKET)
    )
    after = client.get(saved.url)

    html = page.content.decode()
    proposed = [v["item"].key for v in section_of(page)["items"] if v["is_proposal"]]
    assert proposed == ["scope_configuration", "training", "stakeholders", "adoption"]
    assert html.count('<span class="pill proposal">proposed</span>') == 5
    assert 'value="Ada Lind"' in html
    pk = engagement.pk
    assert f'action="/engagements/{pk}/cs-packet/"' in html
    assert f'formaction="/engagements/{pk}/hand-over/"' in html
    assert (saved.status_code, saved.url) == (302, f"/engagements/{pk}/#hand-over")
    engagement.refresh_from_db()
    assert (engagement.cs_packet_completeness, engagement.status) == (42, "hypercare")
    assert engagement.cs_packet["sentiment"] == PARTIAL_PACKET["sentiment"]
    assert messages_of(after) == ["CS packet saved: 42 % complete."]
    assert 'id="cs-completeness-percent">42 %<' in after.content.decode()
    assert [m.key for m in section_of(after)["assessment"].missing] == (
        MISSING_FROM_PARTIAL
    )


def test_the_in_house_lead_is_refused_the_hand_over_by_item_then_hands_over(
    client, in_house
):
    engagement = in_house.in_house
    client.force_login(in_house.lee.user)
    url = page_url(engagement, "engagement-hand-over")

    refused = client.post(url, form_of(PARTIAL_PACKET))
    refused_count = Handoff.objects.filter(kind="implementation_to_cs").count()
    handed = client.post(url, form_of(COMPLETE_PACKET))
    page = client.get(handed.url)

    assert refused.status_code == 400
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
    assert 'value="Sales reps"' in refused.content.decode()
    assert refused_count == 0
    assert handed.status_code == 302
    handoff = Handoff.objects.get(kind="implementation_to_cs")
    engagement.refresh_from_db()
    assert (engagement.status, engagement.cs_handoff) == ("handed_to_cs", handoff)
    assert (handoff.deal, handoff.sender, handoff.receiving_team, handoff.state) == (
        engagement.deal,
        in_house.lee,
        in_house.success,
        "open",
    )
    assert handoff.packet == engagement.cs_packet
    ending = engagement.milestones.get(kind="hypercare_end")
    assert (ending.actual_on, ending.logged_by) == (date(2027, 3, 8), "Lee Lead")
    html = page.content.decode()
    assert messages_of(page) == [
        "Handed over to customer success: their clocks are running."
    ]
    assert section_of(page)["is_open"] is False
    assert '<span class="pill open">open, waiting for customer success</span>' in html
    assert f'href="/handoffs/{handoff.pk}/" id="cs-handoff-link"' in html
    assert "Sync lags at month end" in html
    assert 'id="cs-packet-form"' not in html


def test_who_cannot_work_the_engagement_is_refused_and_who_cannot_see_it_finds_none(
    client, in_house
):
    engagement = in_house.in_house
    stranger = PersonFactory(role="ae")
    client.force_login(in_house.ae.user)

    page = client.get(page_url(engagement))
    refusals = [
        client.post(page_url(engagement, name), form_of(COMPLETE_PACKET), follow=True)
        for name in CS_PAGES
    ]
    client.force_login(stranger.user)
    unseen = [client.get(page_url(engagement))] + [
        client.post(page_url(engagement, name), form_of(COMPLETE_PACKET))
        for name in CS_PAGES
    ]

    assert page.status_code == 200
    assert section_of(page) is None
    assert 'id="hand-over"' not in page.content.decode()
    assert [r.redirect_chain for r in refusals] == [
        [(f"/engagements/{engagement.pk}/", 302)]
    ] * 3
    assert all(
        "Only the implementation side works this engagement." in r.content.decode()
        for r in refusals
    )
    assert [response.status_code for response in unseen] == [404] * 4
    engagement.refresh_from_db()
    assert (engagement.status, engagement.cs_packet, engagement.cs_handoff) == (
        "hypercare",
        {},
        None,
    )


def test_the_lead_sends_the_sent_back_handoff_again_from_the_notices_page(
    client, sent_back
):
    engagement = sent_back.acme_engagement
    notice = Notification.objects.get(
        recipient=sent_back.head, subject="CS handoff sent back: Globex platform"
    )
    client.force_login(sent_back.head.user)
    url = page_url(engagement, "engagement-send-again")

    page = client.get(notice.url)
    refused = client.post(url, form_of(COMPLETE_PACKET | {"adoption": ""}))
    refused_state = Handoff.objects.get(pk=sent_back.cs_handoff.pk).state
    sent = client.post(
        url, form_of(COMPLETE_PACKET | {"adoption": "12 active days, 5 features."})
    )
    after = client.get(sent.url)

    html = page.content.decode()
    assert notice.url == f"/engagements/{engagement.pk}/"
    section = section_of(page)
    assert (section["is_open"], section["is_sent_back"]) == (True, True)
    assert "No adoption numbers." in html
    assert f'formaction="/engagements/{engagement.pk}/send-again/"' in html
    assert 'id="hand-over-now"' not in html
    assert refused.status_code == 400
    assert section_of(refused)["refusal"] == (
        "Not sent again: Customer success takes over with a complete CS packet. "
        "What you typed is saved; complete the items marked below."
    )
    assert gaps_of(refused) == {
        "adoption": "Adoption: First adoption metrics: missing."
    }
    assert refused_state == "rejected"
    assert sent.status_code == 302
    handoff = Handoff.objects.get(pk=sent_back.cs_handoff.pk)
    assert (handoff.state, handoff.packet["adoption"]) == (
        "open",
        "12 active days, 5 features.",
    )
    # The partner reads the same packet in its area.
    assert Engagement.objects.get(pk=engagement.pk).cs_packet == handoff.packet
    assert Notification.objects.get(
        recipient=sent_back.csm, subject="Handoff sent again: Globex platform"
    ).body == ("Ivy Impl completed the packet after: No adoption numbers.")
    assert messages_of(after) == ["Sent again to customer success, with fresh clocks."]
    assert "open, waiting for customer success" in after.content.decode()


def test_an_implementer_who_did_not_hand_it_over_is_refused_the_send_again(
    client, sent_back
):
    colleague = PersonFactory(role="implementation", team=sent_back.implementation)
    client.force_login(colleague.user)

    refused = client.post(
        page_url(sent_back.acme_engagement, "engagement-send-again"),
        form_of(COMPLETE_PACKET | {"adoption": "12 active days, 5 features."}),
    )

    assert refused.status_code == 400
    assert section_of(refused)["refusal"] == (
        "Only the implementation lead or their manager sends it again."
    )
    assert Handoff.objects.get(pk=sent_back.cs_handoff.pk).state == "rejected"
