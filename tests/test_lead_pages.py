"""The signed-in lead pages: queues, the lead page and its actions."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from bowtie.models import Person
from handoffs.models import Handoff, Lead, Milestone, RoutingDecision, Touch
from handoffs.services import (
    ActionRefused,
    accept_lead,
    disposition_lead,
    intake_lead,
    log_touch,
)
from tests.factories import (
    AccountDomainFactory,
    AccountFactory,
    ContactFactory,
    PersonFactory,
    RoutingRuleFactory,
    TeamFactory,
)

NOW = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
# When the person acts on the page, a few minutes after the lead arrived.
LATER = NOW + timedelta(minutes=4)

ACTIONS = [
    ("lead-accept", {}),
    ("lead-touch", {"kind": "call", "notes": "Spoke to them"}),
    ("lead-disposition", {"status": "qualified", "reason": ""}),
]


def submit(email, now=NOW, **fields):
    return intake_lead({"email": email, **fields}, channel="api", now=now).lead


def give_account(owner, domain):
    account = AccountFactory(name=domain, owner=owner)
    AccountDomainFactory(account=account, domain=domain)
    return account


def lead_url(lead):
    return reverse("lead-detail", args=[lead.pk])


def post_action(client, route, lead, data):
    with time_machine.travel(LATER, tick=False):
        return client.post(reverse(route, args=[lead.pk]), data)


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def handoff_of(lead):
    return Handoff.objects.get(lead=lead)


def first_response_of(lead):
    return Milestone.objects.get(handoff__lead=lead, key=Milestone.Key.FIRST_RESPONSE)


def state_of(lead):
    """What an action may change, read back from the database."""
    stored = Lead.objects.get(pk=lead.pk)
    return {
        "status": stored.status,
        "owner": stored.owner_id,
        "closed_at": stored.closed_at,
        "first_response_at": stored.first_response_at,
        "disqualification_reason": stored.disqualification_reason,
        "touches": list(stored.touches.values_list("kind", flat=True)),
        "decisions": stored.decisions.count(),
        "handoff": handoff_of(lead).state,
    }


@pytest.fixture
def rep_lead(sales_team):
    """An organic lead that the round-robin gave to Rep A."""
    return submit("ola@globex.com", first_name="Ola", last_name="Nordmann")


@pytest.fixture
def queued_lead(sales_team):
    """A German lead waiting in the team's fallback queue: the reps speak English."""
    Person.objects.filter(team=sales_team["team"]).update(languages=["en"])
    return submit("gerd@globex.de", language="de")


@pytest.fixture
def other_team(db):
    team = TeamFactory(name="DACH")
    manager = PersonFactory(full_name="Dora Manager", role="manager", team=team)
    team.head = manager
    team.save()
    rep = PersonFactory(full_name="Dieter Rep", team=team)
    return {"team": team, "manager": manager, "rep": rep}


@pytest.mark.parametrize(
    "route, needs_lead",
    [
        ("my-queue", False),
        ("team-queue", False),
        ("lead-detail", True),
        ("speed-to-lead", False),
    ],
)
def test_page_redirects_anonymous_visitor_to_login(client, rep_lead, route, needs_lead):
    url = reverse(route, args=[rep_lead.pk] if needs_lead else [])

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={url}"


def test_my_queue_lists_own_open_leads_by_first_response_due(client, sales_team):
    rep_a, rep_b, _ = sales_team["reps"]
    give_account(rep_a, "alpha.com")
    give_account(rep_b, "beta.com")
    organic = submit("organic@alpha.com")
    paid = submit("paid@alpha.com", utm_medium="cpc")
    earliest = submit("earliest@alpha.com", now=NOW - timedelta(hours=1))
    closed = submit("closed@alpha.com", now=NOW - timedelta(hours=2))
    disposition_lead(closed, rep_a, Lead.Status.QUALIFIED, now=NOW)
    others = submit("others@beta.com", now=NOW - timedelta(hours=3))
    client.force_login(rep_a.user)

    response = client.get(reverse("my-queue"))

    assert response.status_code == 200
    assert [lead.pk for lead in response.context["leads"]] == [
        earliest.pk,
        paid.pk,
        organic.pk,
    ]
    assert [lead.first_response_due_at for lead in response.context["leads"]] == [
        NOW - timedelta(minutes=50),
        NOW + timedelta(minutes=3),
        NOW + timedelta(minutes=10),
    ]
    assertNotContains(response, f'data-lead="{closed.pk}"')
    assertNotContains(response, f'data-lead="{others.pk}"')


def test_lead_page_shows_routing_reason_score_and_packet(client, sales_team):
    account = AccountFactory(name="Globex", industry="manufacturing")
    AccountDomainFactory(account=account, domain="globex.com")
    ContactFactory(
        account=account,
        first_name="Kim",
        last_name="Buyer",
        email="kim@globex.com",
        job_title="CFO",
    )
    lead = submit(
        "ola@globex.com",
        first_name="Ola",
        last_name="Nordmann",
        job_title="Operations Manager",
        country="NO",
        employee_count="500",
        third_party_intent="50",
        visits="6",
        time_on_site_seconds="900",
        page_views_per_visit="6",
        last_activity="Email opened",
    )
    client.force_login(sales_team["reps"][0].user)

    response = client.get(lead_url(lead))

    assert response.status_code == 200
    assertContains(
        response,
        "Matched rule “Everything else” to Inbound EMEA; "
        "next eligible in the round-robin: Rep A.",
    )
    assertContains(response, "Default team · rule “Everything else”")
    fit = '<tr><td>Fit</td><td class="number">90</td><td class="number">40 %</td></tr>'
    assertContains(response, fit, html=True)
    assertContains(
        response,
        '<tr><td>Intent</td><td class="number">55</td>'
        '<td class="number">40 %</td></tr>',
        html=True,
    )
    assertContains(
        response,
        '<tr><td>Third-party</td><td class="number">50</td>'
        '<td class="number">20 %</td></tr>',
        html=True,
    )
    assertContains(response, "<strong>68</strong> / 100", html=True)
    assertContains(response, '<dd>Globex <span class="tag">known account</span></dd>')
    assertContains(response, "<dt>Country</dt><dd>Norway</dd>")
    assertContains(response, "<dt>Industry</dt><dd>manufacturing</dd>")
    assertContains(response, "<dt>Employees</dt><dd>500</dd>")
    assertContains(response, "<li><strong>Kim Buyer</strong>, CFO<br>")


def test_rep_cannot_open_another_reps_lead(client, sales_team, rep_lead):
    client.force_login(sales_team["reps"][1].user)

    response = client.get(lead_url(rep_lead))

    assert response.status_code == 404


@pytest.mark.parametrize("route, data", ACTIONS)
def test_rep_cannot_act_on_another_reps_lead(client, sales_team, rep_lead, route, data):
    before = state_of(rep_lead)
    client.force_login(sales_team["reps"][1].user)

    response = post_action(client, route, rep_lead, data)

    assert response.status_code == 404
    assert state_of(rep_lead) == before


def test_rep_accepts_a_lead_from_own_teams_fallback_queue(
    client, sales_team, queued_lead
):
    rep_a = sales_team["reps"][0]
    client.force_login(rep_a.user)

    page = client.get(lead_url(queued_lead))
    response = post_action(client, "lead-accept", queued_lead, {})

    assert queued_lead.owner is None
    assert queued_lead.team == sales_team["team"]
    assertContains(page, "Accept and take from queue")
    assert response.status_code == 302
    assert response["Location"] == lead_url(queued_lead)
    assert messages_of(response) == ["Lead accepted."]
    stored = Lead.objects.get(pk=queued_lead.pk)
    assert (stored.owner, stored.status) == (rep_a, Lead.Status.WORKING)
    handoff = handoff_of(queued_lead)
    assert (handoff.state, handoff.receiver, handoff.accepted_at) == (
        Handoff.State.ACCEPTED,
        rep_a,
        LATER,
    )
    manual = RoutingDecision.objects.get(
        lead=queued_lead, step=RoutingDecision.Step.MANUAL
    )
    assert (manual.person, manual.reason) == (
        rep_a,
        "Rep A took the lead from the queue.",
    )


def test_rep_of_another_team_cannot_open_a_fallback_queue_lead(
    client, queued_lead, other_team
):
    client.force_login(other_team["rep"].user)

    response = client.get(lead_url(queued_lead))

    assert response.status_code == 404


def test_manager_opens_and_works_a_lead_of_the_team_they_head(
    client, sales_team, rep_lead
):
    manager = sales_team["manager"]
    client.force_login(manager.user)

    page = client.get(lead_url(rep_lead))
    response = post_action(client, "lead-touch", rep_lead, {"kind": "email"})

    assert page.status_code == 200
    assert response.status_code == 302
    assert messages_of(response) == ["Touch logged."]
    stored = Lead.objects.get(pk=rep_lead.pk)
    assert (stored.owner, stored.status, stored.first_response_at) == (
        sales_team["reps"][0],
        Lead.Status.WORKING,
        LATER,
    )
    touch = stored.touches.get(kind=Touch.Kind.EMAIL)
    assert (touch.actor, touch.occurred_at) == (manager, LATER)


@pytest.mark.parametrize("route, data", ACTIONS)
def test_manager_cannot_open_or_work_a_lead_of_a_team_they_do_not_head(
    client, rep_lead, other_team, route, data
):
    before = state_of(rep_lead)
    client.force_login(other_team["manager"].user)

    page = client.get(lead_url(rep_lead))
    queue = client.get(reverse("team-queue"))
    response = post_action(client, route, rep_lead, data)

    assert page.status_code == 404
    assert queue.status_code == 200
    assert queue.context["leads"] == []
    assert response.status_code == 404
    assert state_of(rep_lead) == before


def test_revops_admin_sees_and_opens_a_lead_with_no_team(client, db):
    french = TeamFactory(name="France")
    RoutingRuleFactory(
        name="French speakers",
        team=french,
        conditions=[{"field": "language", "operator": "equals", "value": "fr"}],
    )
    lead = submit("gerd@globex.de", language="de")
    revops = PersonFactory(full_name="Rita RevOps", role="revops_admin")
    client.force_login(revops.user)

    queue = client.get(reverse("team-queue"))
    page = client.get(lead_url(lead))

    assert (lead.team, lead.owner) == (None, None)
    assert queue.status_code == 200
    assert [queued.pk for queued in queue.context["queued"]] == [lead.pk]
    assertContains(queue, f'data-lead="{lead.pk}"', count=2)
    assert page.status_code == 200
    assertContains(page, "No routing rule matched and no default rule is set.")
    assertContains(page, "Accept and take from queue")


def test_person_without_a_team_cannot_open_or_claim_a_lead_with_no_team(client, db):
    lead = submit("gerd@globex.de", language="de")
    before = state_of(lead)
    newcomer = PersonFactory(full_name="Nina Newcomer", team=None)
    client.force_login(newcomer.user)

    page = client.get(lead_url(lead))
    response = post_action(client, "lead-accept", lead, {})

    assert (page.status_code, response.status_code) == (404, 404)
    assert state_of(lead) == before


def test_rep_cannot_open_the_team_queue(client, sales_team):
    client.force_login(sales_team["reps"][0].user)

    response = client.get(reverse("team-queue"))

    assert response.status_code == 403


def test_accepting_own_lead_marks_it_working_and_leaves_the_clock_running(
    client, sales_team, rep_lead
):
    client.force_login(sales_team["reps"][0].user)

    response = post_action(client, "lead-accept", rep_lead, {})

    assert response.status_code == 302
    assert response["Location"] == lead_url(rep_lead)
    stored = Lead.objects.get(pk=rep_lead.pk)
    assert (stored.status, stored.first_response_at) == (Lead.Status.WORKING, None)
    handoff = handoff_of(rep_lead)
    assert (handoff.state, handoff.accepted_at) == (Handoff.State.ACCEPTED, LATER)
    assert first_response_of(rep_lead).met_at is None


@pytest.mark.parametrize("kind", ["call", "email", "meeting"])
def test_logging_a_touch_stops_the_first_response_clock(
    client, sales_team, rep_lead, kind
):
    rep_a = sales_team["reps"][0]
    client.force_login(rep_a.user)

    response = post_action(
        client, "lead-touch", rep_lead, {"kind": kind, "notes": "Booked a demo"}
    )

    assert response.status_code == 302
    assert messages_of(response) == ["Touch logged."]
    touch = Touch.objects.get(lead=rep_lead, actor=rep_a)
    assert (touch.kind, touch.notes, touch.occurred_at) == (
        kind,
        "Booked a demo",
        LATER,
    )
    stored = Lead.objects.get(pk=rep_lead.pk)
    assert (stored.status, stored.first_response_at) == (Lead.Status.WORKING, LATER)
    assert first_response_of(rep_lead).met_at == LATER


def test_touch_of_no_known_kind_is_refused(client, sales_team, rep_lead):
    before = state_of(rep_lead)
    client.force_login(sales_team["reps"][0].user)

    response = post_action(client, "lead-touch", rep_lead, {"kind": "submission"})

    assert response.status_code == 302
    assert messages_of(response) == ["Choose what kind of touch this was."]
    assert state_of(rep_lead) == before


@pytest.mark.parametrize(
    "status, message",
    [
        ("qualified", "Cycle closed: Qualified (SQL)."),
        ("nurture", "Cycle closed: Back to nurture."),
    ],
)
def test_disposition_closes_the_cycle_and_every_clock(
    client, sales_team, rep_lead, status, message
):
    client.force_login(sales_team["reps"][0].user)

    response = post_action(client, "lead-disposition", rep_lead, {"status": status})

    assert response.status_code == 302
    assert messages_of(response) == [message]
    stored = Lead.objects.get(pk=rep_lead.pk)
    assert (stored.status, stored.closed_at, stored.first_response_at) == (
        status,
        LATER,
        LATER,
    )
    handoff = handoff_of(rep_lead)
    assert (handoff.state, handoff.closed_at) == (Handoff.State.COMPLETED, LATER)
    assert list(handoff.milestones.values_list("met_at", flat=True)) == [LATER, LATER]


def test_disqualifying_stores_the_reason_and_rejects_the_handoff(
    client, sales_team, rep_lead
):
    client.force_login(sales_team["reps"][0].user)

    response = post_action(
        client,
        "lead-disposition",
        rep_lead,
        {"status": "disqualified", "reason": "Student project"},
    )

    assert response.status_code == 302
    assert messages_of(response) == ["Cycle closed: Disqualified."]
    stored = Lead.objects.get(pk=rep_lead.pk)
    assert (stored.status, stored.disqualification_reason, stored.closed_at) == (
        Lead.Status.DISQUALIFIED,
        "Student project",
        LATER,
    )
    handoff = handoff_of(rep_lead)
    assert (handoff.state, handoff.rejection_reason) == (
        Handoff.State.REJECTED,
        "Student project",
    )


def test_disqualifying_without_a_reason_is_refused(client, sales_team, rep_lead):
    before = state_of(rep_lead)
    client.force_login(sales_team["reps"][0].user)

    response = post_action(
        client, "lead-disposition", rep_lead, {"status": "disqualified", "reason": ""}
    )

    assert response.status_code == 302
    assert messages_of(response) == ["Reason: Say why the lead is disqualified."]
    assert state_of(rep_lead) == before


@pytest.mark.parametrize("route, data", ACTIONS)
def test_closed_lead_refuses_further_actions(client, sales_team, rep_lead, route, data):
    rep_a = sales_team["reps"][0]
    disposition_lead(rep_lead, rep_a, Lead.Status.NURTURE, now=NOW)
    before = state_of(rep_lead)
    client.force_login(rep_a.user)

    page = client.get(lead_url(rep_lead))
    response = post_action(client, route, rep_lead, data)

    assertNotContains(page, reverse(route, args=[rep_lead.pk]))
    assert response.status_code == 302
    assert response["Location"] == lead_url(rep_lead)
    assert messages_of(response) == ["This lead's cycle is closed."]
    assert state_of(rep_lead) == before


@pytest.mark.parametrize(
    "action",
    [
        lambda lead, actor: accept_lead(lead, actor, now=LATER),
        lambda lead, actor: log_touch(lead, actor, "call", now=LATER),
        lambda lead, actor: disposition_lead(lead, actor, "nurture", now=LATER),
    ],
    ids=["accept", "touch", "disposition"],
)
def test_services_refuse_a_manager_of_another_team(rep_lead, other_team, action):
    # The pages stop them first (404); the services must hold on their own,
    # for the API and every other door.
    before = state_of(rep_lead)

    with pytest.raises(ActionRefused) as refused:
        action(rep_lead, other_team["manager"])

    assert str(refused.value) == (
        "Only the owner, their manager or RevOps can work this lead."
    )
    assert state_of(rep_lead) == before


def test_a_team_member_who_takes_no_leads_cannot_open_or_claim_the_queue(
    client, sales_team, queued_lead
):
    csm = PersonFactory(role="csm", team=sales_team["team"])
    client.force_login(csm.user)
    before = state_of(queued_lead)

    page = client.get(lead_url(queued_lead))
    with pytest.raises(ActionRefused):
        accept_lead(queued_lead, csm, now=LATER)

    assert page.status_code == 404
    assert state_of(queued_lead) == before
