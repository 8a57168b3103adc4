"""The vendor side of partners: assignment, the engagement pages, the account.

Acme and Birch each deliver one won deal of the AE's (`build_partner_world`);
the implementation lead Ivy assigns partners from the handoff page, RevOps
may assign one as the deal closes, and what a partner logs shows at once on
the deal, the account and the vendor's engagement page.
"""

import re
from datetime import UTC, date, datetime, timedelta
from html import unescape

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.urls import reverse

from bowtie.models import Deal, Pipeline
from handoffs.models import Handoff
from partners.models import Engagement, EngagementComment, Partner
from partners.queries import visible_engagements
from partners.services import assign_partner, log_milestone, update_readiness
from tests.deal_fixtures import COMPLETE_PACKET
from tests.factories import AccountFactory, PersonFactory
from tests.partner_fixtures import build_partner_world, build_won_deal
from tests.test_closed_won import form_of

# Monday 1 March 2027, 10:00 in Berlin, where every vendor person works.
NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def world(db):
    with time_machine.travel(NOW, tick=False):
        yield build_partner_world()


@pytest.fixture
def unassigned(world):
    """A third won deal of the AE's, which nobody delivers yet."""
    pipeline = Pipeline.objects.get(kind="new_business", is_default=True)
    deal = build_won_deal("Umbrella", world.ae, pipeline)
    return deal.handoffs.get(kind=Handoff.Kind.SALES_TO_IMPLEMENTATION)


@pytest.fixture
def revops(world):
    return PersonFactory(full_name="Rhea RevOps", role="revops_admin")


def text_of(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def row_text(page: str, css_class: str) -> list[str]:
    """The text of every table row with `css_class`, tags and spacing gone."""
    rows = re.findall(rf'<tr class="{css_class}">(.*?)</tr>', page, re.DOTALL)
    return [text_of(row) for row in rows]


def element_text(page: str, element_id: str) -> str:
    match = re.search(
        rf'<(\w+)[^>]* id="{element_id}"[^>]*>(.*?)</\1>', page, re.DOTALL
    )
    assert match, f"no element #{element_id}"
    return text_of(match.group(2))


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def open_deal_for(world, name="Hooli") -> Deal:
    pipeline = Pipeline.objects.get(kind="new_business", is_default=True)
    return Deal.objects.create(
        name=f"{name} platform",
        account=AccountFactory(name=name),
        owner=world.ae,
        pipeline=pipeline,
        stage=pipeline.stages.get(name="Engaging"),
        term_months=12,
    )


def test_the_handoff_page_assigns_a_partner_and_shows_who_delivers(
    client, world, unassigned
):
    Partner.objects.create(name="Cedar Works", slug="cedar", is_active=False)
    client.force_login(world.head.user)
    url = reverse("handoff-detail", args=[unassigned.pk])

    before = client.get(url).content.decode()
    response = client.post(
        reverse("handoff-assign-partner", args=[unassigned.pk]),
        {"partner": world.birch.pk, "implementation_lead": world.head.pk},
    )
    after = client.get(url).content.decode()

    assert element_text(before, "implementation-delivered-by") == (
        "Not assigned yet: no partner or team delivers this implementation."
    )
    options = re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', before)
    assert options[:4] == [
        ("", "Choose…"),
        ("in_house", "Our own implementation team"),
        (str(world.acme.pk), "Acme Partners"),
        (str(world.birch.pk), "Birch Consulting"),
    ]
    assert response.status_code == 302
    assert response["Location"] == url
    assert messages_of(response) == [
        "Birch Consulting delivers the implementation, led by Ivy Impl."
    ]
    engagement = Engagement.objects.get(handoff=unassigned)
    assert (engagement.partner, engagement.ae, engagement.implementation_lead) == (
        world.birch,
        world.ae,
        world.head,
    )
    assert engagement.assigned_by == world.head
    assert element_text(after, "implementation-delivered-by") == "Birch Consulting"
    assert element_text(after, "implementation-led-by") == "Ivy Impl"
    assert row_text(after, "milestone-kickoff") == ["Kickoff – – – –"]


def test_an_inactive_partner_posted_is_refused_on_its_field(client, world, unassigned):
    cedar = Partner.objects.create(name="Cedar Works", slug="cedar", is_active=False)
    client.force_login(world.head.user)

    response = client.post(
        reverse("handoff-assign-partner", args=[unassigned.pk]),
        {"partner": cedar.pk, "implementation_lead": ""},
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert element_text(page, "partner-errors") == (
        "Cedar Works is no longer an active partner."
    )
    assert not Engagement.objects.filter(handoff=unassigned).exists()


def test_an_ae_sees_no_assignment_form_and_is_refused(client, world, unassigned):
    client.force_login(world.ae.user)

    page = client.get(reverse("handoff-detail", args=[unassigned.pk])).content
    response = client.post(
        reverse("handoff-assign-partner", args=[unassigned.pk]),
        {"partner": world.acme.pk},
    )

    assert b'id="assign-partner"' not in page
    assert response.status_code == 302
    assert messages_of(response) == [
        "Only the implementation team or RevOps assigns partners."
    ]
    assert not Engagement.objects.filter(handoff=unassigned).exists()


def test_a_deal_no_longer_won_gets_no_partner(client, world, unassigned):
    # Reopened in the CRM after its handoff opened.
    deal = unassigned.deal
    Deal.objects.filter(pk=deal.pk).update(
        stage=deal.pipeline.stages.get(name="Engaging")
    )
    client.force_login(world.head.user)

    page = client.get(reverse("handoff-detail", args=[unassigned.pk])).content
    response = client.post(
        reverse("handoff-assign-partner", args=[unassigned.pk]),
        {"partner": world.acme.pk},
    )

    assert b'id="assign-partner"' not in page
    assert messages_of(response) == ["A partner is assigned at Closed Won or later."]
    assert not Engagement.objects.filter(handoff=unassigned).exists()


def test_close_won_assigns_the_partner_chosen_on_the_form(client, world, revops):
    deal = open_deal_for(world)
    client.force_login(revops.user)

    form = client.get(reverse("deal-detail", args=[deal.pk])).content.decode()
    response = client.post(
        reverse("deal-close-won", args=[deal.pk]),
        form_of(COMPLETE_PACKET) | {"assign-partner": world.acme.pk},
    )

    assert 'name="assign-partner"' in form
    deal.refresh_from_db()
    assert deal.stage.outcome == "won"
    engagement = Engagement.objects.get(deal=deal)
    assert (engagement.partner, engagement.implementation_lead) == (
        world.acme,
        world.head,
    )
    assert engagement.assigned_by == revops
    assert messages_of(response)[0].startswith(
        "Closed won. The implementation handoff is open, delivered by Acme "
        "Partners; the renewal"
    )


def test_close_won_without_a_choice_leaves_the_partner_for_later(client, world, revops):
    deal = open_deal_for(world)
    client.force_login(revops.user)

    client.post(
        reverse("deal-close-won", args=[deal.pk]),
        form_of(COMPLETE_PACKET) | {"assign-partner": ""},
    )

    deal.refresh_from_db()
    assert deal.stage.outcome == "won"
    assert not Engagement.objects.filter(deal=deal).exists()


def test_a_refused_assignment_at_close_leaves_the_deal_open(client, world, revops):
    deal = open_deal_for(world)
    client.force_login(revops.user)
    client.get(reverse("deal-detail", args=[deal.pk]))
    # Deactivated while the form was open.
    Partner.objects.filter(pk=world.acme.pk).update(is_active=False)

    response = client.post(
        reverse("deal-close-won", args=[deal.pk]),
        form_of(COMPLETE_PACKET) | {"assign-partner": world.acme.pk},
    )

    deal.refresh_from_db()
    assert deal.stage.name == "Engaging"
    assert deal.closed_on is None
    assert not Handoff.objects.filter(deal=deal).exists()
    assert not Deal.objects.filter(renews=deal).exists()
    assert not Engagement.objects.filter(deal=deal).exists()
    # The draft saved before the close is kept.
    assert deal.packet == COMPLETE_PACKET
    assert messages_of(response) == [
        "Not closed: the implementation could not be assigned. Acme Partners is "
        "no longer an active partner."
    ]


def test_an_ae_closing_with_a_partner_is_refused_and_the_deal_stays_open(client, world):
    deal = open_deal_for(world)
    client.force_login(world.ae.user)

    form = client.get(reverse("deal-detail", args=[deal.pk])).content.decode()
    response = client.post(
        reverse("deal-close-won", args=[deal.pk]),
        form_of(COMPLETE_PACKET) | {"assign-partner": world.acme.pk},
    )

    assert 'name="assign-partner"' not in form
    deal.refresh_from_db()
    assert deal.stage.name == "Engaging"
    assert messages_of(response) == [
        "Not closed: the implementation could not be assigned. Only the "
        "implementation team or RevOps assigns partners."
    ]


def test_a_milestone_the_partner_logs_shows_at_once_on_every_vendor_page(client, world):
    engagement = world.acme_engagement
    deal = engagement.deal
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        log_milestone(
            engagement,
            "kickoff",
            world.acme_actor,
            planned_on=date(2027, 3, 4),
            notes="Kickoff with IT and the champion.",
        )
    logged = (
        "Kickoff 4 Mar 2027 – Kickoff with IT and the champion. "
        "Pia Acme (Acme Partners) 2 Mar 2027, 10:00"
    )

    client.force_login(world.ae.user)
    deal_page = client.get(reverse("deal-detail", args=[deal.pk])).content.decode()
    account_page = client.get(
        reverse("account-detail", args=[deal.account_id])
    ).content.decode()
    client.force_login(world.head.user)
    engagement_page = client.get(
        reverse("engagement-detail", args=[engagement.pk])
    ).content.decode()

    assert row_text(deal_page, "milestone-kickoff") == [logged]
    assert row_text(account_page, "milestone-kickoff") == [logged]
    assert row_text(engagement_page, "milestone-kickoff") == [logged]
    engagement_link = reverse("engagement-detail", args=[engagement.pk])
    assert f'href="{engagement_link}"' in deal_page
    assert f'href="{engagement_link}"' in account_page


def test_the_account_page_shows_deals_contacts_and_handoffs(client, world):
    deal = world.acme_engagement.deal
    client.force_login(world.ae.user)

    page = client.get(reverse("account-detail", args=[deal.account_id]))

    html = page.content.decode()
    assert page.status_code == 200
    # Live deals first: the renewal, owned by the account's owner, is due on
    # the last day of February of a leap year.
    assert element_text(html, "account-deals") == (
        "Deal Pipeline Stage Amount Owner Closed "
        "Renewal: Globex platform Renewals Upcoming €24,000.00 "
        f"{deal.account.owner} expected 29 Feb 2028 "
        "Globex platform New business Won €24,000.00 Alex AE 1 Mar 2027"
    )
    assert "Ada Globex Lind" in element_text(html, "account-contacts")
    # Nobody accepted it yet: it goes to the implementation team.
    assert element_text(html, "account-handoffs") == (
        "Handoff About State From To Opened "
        "Sales → Implementation Globex platform Open Alex AE Implementation "
        "1 Mar 2027"
    )
    handoff = world.acme_engagement.handoff
    assert f'href="{reverse("handoff-detail", args=[handoff.pk])}"' in html
    assert f'href="{reverse("deal-detail", args=[deal.pk])}"' in html
    assert 'id="health-trend"' in html


def test_the_account_page_refuses_who_may_not_see_it(client, world):
    account_id = world.acme_engagement.account_id
    url = reverse("account-detail", args=[account_id])
    stranger = PersonFactory(role="ae")
    csm = PersonFactory(role="csm")

    client.force_login(stranger.user)
    refused = client.get(url)
    client.force_login(world.acme_member.user)
    partner = client.get(url)
    client.force_login(csm.user)
    allowed = client.get(url)

    assert refused.status_code == 404
    assert partner.status_code == 403
    assert allowed.status_code == 200


def test_deal_and_lists_link_the_account(client, world):
    deal = world.acme_engagement.deal
    link = f'href="{reverse("account-detail", args=[deal.account_id])}"'
    client.force_login(world.ae.user)

    deal_page = client.get(reverse("deal-detail", args=[deal.pk])).content.decode()
    deal_list = client.get(reverse("deal-list")).content.decode()

    assert link in deal_page
    assert link in deal_list


def test_the_vendor_comment_reaches_the_shared_thread(client, world):
    engagement = world.acme_engagement
    client.force_login(world.head.user)

    with time_machine.travel(NOW + timedelta(hours=2), tick=False):
        response = client.post(
            reverse("engagement-comment", args=[engagement.pk]),
            {"body": "  The customer asks for SSO first.  "},
        )
    page = client.get(reverse("engagement-detail", args=[engagement.pk]))

    comment = EngagementComment.objects.get(engagement=engagement)
    assert (comment.author_name, comment.is_from_partner, comment.body) == (
        "Ivy Impl",
        False,
        "The customer asks for SSO first.",
    )
    assert comment.created_at == NOW + timedelta(hours=2)
    assert response["Location"] == (
        reverse("engagement-detail", args=[engagement.pk]) + f"#comment-{comment.pk}"
    )
    assert element_text(page.content.decode(), f"comment-{comment.pk}") == (
        "Ivy Impl · 1 Mar 2027, 12:00 The customer asks for SSO first."
    )
    # The partner reads the same row in its area.
    seen_by_acme = visible_engagements(world.acme_actor).get(pk=engagement.pk)
    assert list(seen_by_acme.comments.values_list("body", flat=True)) == [
        "The customer asks for SSO first."
    ]


def test_an_empty_comment_is_refused_on_its_field(client, world):
    client.force_login(world.ae.user)

    response = client.post(
        reverse("engagement-comment", args=[world.acme_engagement.pk]),
        {"body": "   "},
    )

    assert response.status_code == 400
    assert element_text(response.content.decode(), "body-errors") == (
        "This field is required."
    )
    assert not EngagementComment.objects.exists()


def test_the_lead_logs_a_kickoff_on_the_partners_behalf(client, world):
    engagement = world.acme_engagement
    client.force_login(world.head.user)

    with time_machine.travel(NOW + timedelta(days=3), tick=False):
        response = client.post(
            reverse("engagement-log-milestone", args=[engagement.pk, "kickoff"]),
            {
                "kickoff-planned_on": "2027-03-04",
                "kickoff-actual_on": "2027-03-04",
                "kickoff-notes": "Held on site.",
                "kickoff-ae_attended": "yes",
            },
        )
    page = client.get(reverse("engagement-detail", args=[engagement.pk]))

    engagement.refresh_from_db()
    assert response.status_code == 302
    assert engagement.status == Engagement.Status.IMPLEMENTING
    assert engagement.ae_attended_kickoff is True
    html = page.content.decode()
    assert element_text(html, "ae-attended") == "attended"
    assert row_text(html, "milestone-kickoff") == [
        "Kickoff 4 Mar 2027 4 Mar 2027 Held on site. Ivy Impl 4 Mar 2027, 10:00"
    ]


def test_a_milestone_refused_by_the_service_shows_on_its_field(client, world):
    engagement = world.acme_engagement
    client.force_login(world.head.user)

    with time_machine.travel(NOW, tick=False):
        future = client.post(
            reverse("engagement-log-milestone", args=[engagement.pk, "kickoff"]),
            {"kickoff-actual_on": "2027-03-02", "kickoff-ae_attended": "yes"},
        )
        go_live = client.post(
            reverse("engagement-log-milestone", args=[engagement.pk, "go_live"]),
            {"go_live-actual_on": "2027-03-01"},
        )

    assert future.status_code == 400
    assert element_text(future.content.decode(), "kickoff-actual_on-errors") == (
        "A milestone is done on a day that has come."
    )
    assert go_live.status_code == 400
    assert element_text(go_live.content.decode(), "go_live-actual_on-errors") == (
        "Log the kickoff first."
    )


def test_go_live_waits_for_readiness_and_says_which(client, world):
    engagement = world.acme_engagement
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        log_milestone(
            engagement,
            "kickoff",
            world.acme_actor,
            actual_on=date(2027, 3, 2),
            ae_attended=False,
        )
    update_readiness(
        engagement,
        "tasks_work",
        world.acme_actor,
        owner_name="Pia",
        evidence="Test run 12.",
        is_met=True,
    )
    client.force_login(world.head.user)

    with time_machine.travel(NOW + timedelta(days=3), tick=False):
        response = client.post(
            reverse("engagement-log-milestone", args=[engagement.pk, "go_live"]),
            {"go_live-actual_on": "2027-03-04"},
        )

    html = response.content.decode()
    assert response.status_code == 400
    assert re.search(
        r'<form[^>]*id="milestone-go_live".*?<ul class="errorlist">(.*?)</ul>',
        html,
        re.DOTALL,
    ).group(1).strip() == (
        "<li>Go-live needs every readiness condition met. Not yet: People trained, "
        "Data migrated, Support plan in place, Rollback plan exists.</li>"
    )
    assert "Go-live needs all five readiness conditions: 1 of 5 met." in html


def test_readiness_met_needs_evidence_on_its_field(client, world):
    engagement = world.birch_engagement
    client.force_login(world.head.user)

    response = client.post(
        reverse("engagement-update-readiness", args=[engagement.pk, "data_migrated"]),
        {"data_migrated-owner_name": "Bo", "data_migrated-is_met": "on"},
    )

    assert response.status_code == 400
    assert element_text(response.content.decode(), "data_migrated-evidence-errors") == (
        "Give the evidence that it holds before marking it met."
    )


def test_someone_who_may_not_see_the_engagement_gets_404(client, world):
    stranger = PersonFactory(role="ae")
    client.force_login(stranger.user)

    page = client.get(reverse("engagement-detail", args=[world.acme_engagement.pk]))

    assert page.status_code == 404


def test_an_ae_reads_the_engagement_but_logs_nothing(client, world):
    client.force_login(world.ae.user)

    page = client.get(reverse("engagement-detail", args=[world.acme_engagement.pk]))
    response = client.post(
        reverse("engagement-log-milestone", args=[world.acme_engagement.pk, "kickoff"]),
        {"kickoff-planned_on": "2027-03-04"},
    )

    assert page.status_code == 200
    assert b'id="milestone-kickoff"' not in page.content
    assert messages_of(response) == [
        "Only the implementation side works this engagement."
    ]
    assert world.acme_engagement.milestones.get(kind="kickoff").planned_on is None


def test_the_engagement_list_filters_by_partner_and_status(client, world, unassigned):
    engagement = world.acme_engagement
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        log_milestone(
            engagement,
            "kickoff",
            world.acme_actor,
            actual_on=date(2027, 3, 2),
            ae_attended=True,
        )
    client.force_login(world.head.user)
    url = reverse("engagement-list")

    acme = client.get(url, {"partner": world.acme.pk}).content.decode()
    implementing = client.get(url, {"status": "implementing"}).content.decode()
    in_house = client.get(url, {"partner": "in_house"}).content.decode()

    assert re.findall(r"<tr><td><a [^>]*>([^<]*)</a>", acme) == ["Globex platform"]
    assert re.findall(r"<tr><td><a [^>]*>([^<]*)</a>", implementing) == [
        "Globex platform"
    ]
    assert "No engagement matches these filters." in in_house


def test_the_engagement_list_takes_the_same_queries_for_more_rows(
    client, world, django_assert_num_queries
):
    client.force_login(world.head.user)
    url = reverse("engagement-list")
    # Session, user, person, partners, count, engagements, milestones, and
    # the navigation's unread notifications.
    expected = 8

    with django_assert_num_queries(expected):
        two = client.get(url)
    pipeline = Pipeline.objects.get(kind="new_business", is_default=True)
    for name in ("Hooli", "Pied Piper", "Vandelay"):
        deal = build_won_deal(name, world.ae, pipeline)
        assign_partner(deal.handoffs.get(), world.vendor, world.acme)
    with django_assert_num_queries(expected):
        five = client.get(url)

    assert len(re.findall(r"<tr><td><a ", two.content.decode())) == 2
    assert len(re.findall(r"<tr><td><a ", five.content.decode())) == 5


def test_the_admin_shows_an_engagement_but_edits_nothing(world, admin_client):
    engagement = world.acme_engagement
    url = reverse("admin:partners_engagement_change", args=[engagement.pk])

    listing = admin_client.get(reverse("admin:partners_engagement_changelist"))
    page = admin_client.get(url)
    edit = admin_client.post(url, {"status": "hypercare"})

    assert listing.status_code == 200
    assert b"Globex platform" in listing.content
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert b"Kickoff" in page.content
    assert b"Rollback plan exists" in page.content
    assert edit.status_code == 403
    engagement.refresh_from_db()
    assert engagement.status == Engagement.Status.KICKOFF_PENDING
