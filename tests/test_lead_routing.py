"""Routing on intake: account owner, rules by priority, the team's distribution."""

from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest

from bowtie.models import Team
from handoffs.models import Lead, RoutingDecision
from handoffs.services import intake_lead
from tests.factories import (
    AccountDomainFactory,
    AccountFactory,
    LeadFactory,
    OutOfOfficeFactory,
    PersonFactory,
    RoutingRuleFactory,
    TeamFactory,
    TerritoryFactory,
)

NOW = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)


def submit(email, now=NOW, **fields):
    return intake_lead({"email": email, **fields}, channel="api", now=now).lead


def submit_many(count, now=NOW, prefix="lead"):
    emails = [f"{prefix}{number}@example.org" for number in range(count)]
    return [submit(email, now=now) for email in emails]


def owners(leads):
    return [lead.owner.full_name if lead.owner else None for lead in leads]


def decision_of(lead):
    return RoutingDecision.objects.get(lead=lead)


@pytest.fixture
def dach_team(db):
    team = TeamFactory(name="DACH")
    PersonFactory(full_name="Dieter", team=team, role="ae")
    return team


@pytest.fixture
def acme_owned_by_olga(db):
    olga = PersonFactory(
        full_name="Olga Owner", role="am", team=TeamFactory(name="Key accounts")
    )
    account = AccountFactory(name="Acme", owner=olga)
    AccountDomainFactory(account=account, domain="acme.com")
    return account


def test_account_owner_takes_a_lead_from_a_known_account(
    sales_team, acme_owned_by_olga
):
    lead = submit("zoe@mail.acme.com")

    decision = decision_of(lead)
    assert lead.owner == acme_owned_by_olga.owner
    assert lead.team.name == "Key accounts"
    assert decision.step == "account_owner"
    assert decision.rule is None
    assert decision.reason == "Known account Acme: goes to its owner Olga Owner."


def test_account_owner_override_leaves_the_rotation_untouched(
    sales_team, acme_owned_by_olga
):
    submit("zoe@acme.com")
    submit("yan@acme.com")

    rest = submit_many(2)

    assert Team.objects.get(pk=sales_team["team"].pk).rotation_position == 2
    assert owners(rest) == ["Rep A", "Rep B"]


def test_account_lead_waits_for_the_owners_team_when_owner_is_away(
    sales_team, acme_owned_by_olga
):
    OutOfOfficeFactory(
        person=acme_owned_by_olga.owner, starts_at=NOW, ends_at=NOW + timedelta(days=3)
    )

    lead = submit("zoe@acme.com")

    assert (lead.owner, lead.team.name) == (None, "Key accounts")
    assert decision_of(lead).reason == (
        "Known account Acme: its owner Olga Owner is out of office, so the lead "
        "waits in the Key accounts fallback queue."
    )
    assert Team.objects.get(pk=sales_team["team"].pk).rotation_position == 0


def test_account_lead_waits_for_the_owners_team_when_owner_is_at_capacity(
    sales_team, acme_owned_by_olga
):
    olga = acme_owned_by_olga.owner
    olga.capacity = 1
    olga.save()
    submit("first@acme.com")

    lead = submit("second@acme.com")

    assert lead.owner is None
    assert "Olga Owner is at capacity (1/1)" in decision_of(lead).reason


def test_account_lead_waits_in_fallback_queue_when_owner_is_inactive(
    sales_team, acme_owned_by_olga
):
    olga = acme_owned_by_olga.owner
    olga.is_active = False
    olga.save()

    lead = submit("zoe@acme.com")

    decision = decision_of(lead)
    assert lead.owner is None
    assert lead.team.name == "Key accounts"
    assert decision.step == "fallback_queue"
    assert decision.reason == (
        "Known account Acme: its owner Olga Owner is inactive, so the lead waits "
        "in the Key accounts fallback queue."
    )
    assert Team.objects.get(pk=sales_team["team"].pk).rotation_position == 0


def test_rule_on_language_sends_lead_to_its_team(sales_team, dach_team):
    rule = RoutingRuleFactory(
        name="German speakers",
        priority=10,
        team=dach_team,
        conditions=[{"field": "language", "operator": "in", "value": ["de"]}],
    )

    lead = submit("zoe@example.org", language="de-AT")

    decision = decision_of(lead)
    assert lead.team == dach_team
    assert lead.owner.full_name == "Dieter"
    assert decision.step == "rule"
    assert decision.rule == rule
    assert decision.reason == (
        "Matched rule “German speakers” to DACH; next eligible in the "
        "round-robin: Dieter."
    )


def test_rule_on_language_lets_other_languages_through(sales_team, dach_team):
    RoutingRuleFactory(
        name="German speakers",
        priority=10,
        team=dach_team,
        conditions=[{"field": "language", "operator": "in", "value": ["de"]}],
    )

    lead = submit("zoe@example.org", language="French")

    assert lead.team == sales_team["team"]
    assert decision_of(lead).step == "default_team"


def test_rule_on_territory_sends_lead_from_its_countries(sales_team):
    nordics = TeamFactory(name="Nordics")
    PersonFactory(full_name="Sven", team=nordics)
    TerritoryFactory(name="Nordics", countries=["SE", "NO", "DK", "FI", "IS"])
    rule = RoutingRuleFactory(
        name="Nordic territory",
        priority=20,
        team=nordics,
        conditions=[{"field": "territory", "operator": "equals", "value": "nordics"}],
    )

    swede = submit("zoe@example.org", country="Sweden")
    german = submit("yan@example.org", country="Germany")

    assert swede.owner.full_name == "Sven"
    assert decision_of(swede).rule == rule
    assert german.team == sales_team["team"]


def test_rules_are_tried_by_priority(sales_team, dach_team):
    nordics = TeamFactory(name="Nordics")
    PersonFactory(full_name="Sven", team=nordics)
    by_country = RoutingRuleFactory(
        name="Country DE",
        priority=30,
        team=nordics,
        conditions=[{"field": "country", "operator": "equals", "value": "DE"}],
    )
    by_language = RoutingRuleFactory(
        name="Language de",
        priority=40,
        team=dach_team,
        conditions=[{"field": "language", "operator": "equals", "value": "de"}],
    )

    first = submit("zoe@example.org", country="DE", language="de")
    by_country.priority, by_language.priority = 50, 5
    by_country.save()
    by_language.save()
    second = submit("yan@example.org", country="DE", language="de")

    assert decision_of(first).rule == by_country
    assert first.team == nordics
    assert decision_of(second).rule == by_language
    assert second.team == dach_team


def test_rule_matches_only_when_every_condition_holds(sales_team, dach_team):
    RoutingRuleFactory(
        name="Big German companies",
        priority=10,
        team=dach_team,
        conditions=[
            {"field": "language", "operator": "equals", "value": "de"},
            {"field": "employee_count", "operator": "gte", "value": 1000},
        ],
    )

    small = submit("zoe@example.org", language="de", employee_count="50")
    big = submit("yan@example.org", language="de", employee_count="5000")

    assert small.team == sales_team["team"]
    assert big.team == dach_team


def test_rule_on_lead_type_sees_the_classified_type(sales_team, dach_team):
    RoutingRuleFactory(
        name="Hand-raisers",
        priority=10,
        team=dach_team,
        conditions=[
            {"field": "lead_type", "operator": "equals", "value": "hand_raiser"}
        ],
    )

    demo = submit("zoe@example.org", form_type="demo_request")
    organic = submit("yan@example.org")

    assert demo.team == dach_team
    assert organic.team == sales_team["team"]


def test_default_rule_is_tried_last_whatever_its_priority(sales_team, dach_team):
    default = RoutingRuleFactory(
        name="Catch-all first", priority=1, team=sales_team["team"], is_default=True
    )
    language = RoutingRuleFactory(
        name="German speakers",
        priority=50,
        team=dach_team,
        conditions=[{"field": "language", "operator": "in", "value": ["de"]}],
    )

    german = submit("zoe@example.org", language="de")
    french = submit("yan@example.org", language="fr")

    assert decision_of(german).rule == language
    assert decision_of(french).rule == default


def test_inactive_rule_is_skipped(sales_team, dach_team):
    RoutingRuleFactory(
        name="German speakers",
        priority=10,
        team=dach_team,
        is_active=False,
        conditions=[{"field": "language", "operator": "in", "value": ["de"]}],
    )

    lead = submit("zoe@example.org", language="de")

    assert lead.team == sales_team["team"]


def test_lead_waits_unassigned_when_no_rule_matches_and_no_default(db, dach_team):
    RoutingRuleFactory(
        name="German speakers",
        priority=10,
        team=dach_team,
        conditions=[{"field": "language", "operator": "in", "value": ["de"]}],
    )

    lead = submit("zoe@example.org", language="fr")

    decision = decision_of(lead)
    assert lead.team is None
    assert lead.owner is None
    assert decision.step == "fallback_queue"
    assert decision.reason == "No routing rule matched and no default rule is set."


def test_round_robin_gives_leads_in_member_order(sales_team):
    leads = submit_many(7)

    assert owners(leads) == [
        "Rep A",
        "Rep B",
        "Rep C",
        "Rep A",
        "Rep B",
        "Rep C",
        "Rep A",
    ]
    assert Team.objects.get(pk=sales_team["team"].pk).rotation_position == 7


def test_round_robin_never_gives_leads_to_managers(sales_team):
    lead = submit("zoe@example.org")

    names = [candidate["name"] for candidate in decision_of(lead).candidates]
    assert names == ["Rep A", "Rep B", "Rep C"]


def test_rotation_pointer_persists_between_calls(sales_team):
    submit("zoe@example.org")
    stored = Team.objects.get(pk=sales_team["team"].pk).rotation_position

    later = submit("yan@example.org", now=NOW + timedelta(days=1))

    assert stored == 1
    assert later.owner.full_name == "Rep B"


def test_weighted_distribution_gives_leads_by_weight(db):
    team = TeamFactory(name="Weighted", distribution="weighted")
    PersonFactory(full_name="Heavy", team=team, routing_weight=2)
    PersonFactory(full_name="Light", team=team, routing_weight=1)
    RoutingRuleFactory(name="All", team=team, is_default=True)

    leads = submit_many(6)

    assert owners(leads) == ["Heavy", "Light", "Heavy", "Heavy", "Light", "Heavy"]


def test_round_robin_ignores_weights(db):
    team = TeamFactory(name="Plain")
    PersonFactory(full_name="Heavy", team=team, routing_weight=5)
    PersonFactory(full_name="Light", team=team, routing_weight=1)
    RoutingRuleFactory(name="All", team=team, is_default=True)

    leads = submit_many(4)

    assert owners(leads) == ["Heavy", "Light", "Heavy", "Light"]


def test_capacity_distribution_gives_lead_to_the_most_spare_capacity(db):
    team = TeamFactory(name="Capacity", distribution="capacity")
    half = PersonFactory(full_name="Half busy", team=team, capacity=4)
    quarter = PersonFactory(full_name="Quarter busy", team=team, capacity=4)
    most = PersonFactory(full_name="Most busy", team=team, capacity=4)
    RoutingRuleFactory(name="All", team=team, is_default=True)
    for person, count in ((half, 2), (quarter, 1), (most, 3)):
        LeadFactory.create_batch(count, owner=person, team=team)

    leads = submit_many(3)

    assert owners(leads) == ["Quarter busy", "Half busy", "Quarter busy"]


def test_capacity_counts_only_open_leads(db):
    team = TeamFactory(name="Capacity", distribution="capacity")
    busy = PersonFactory(full_name="Busy", team=team, capacity=2)
    PersonFactory(full_name="Closer", team=team, capacity=2)
    RoutingRuleFactory(name="All", team=team, is_default=True)
    LeadFactory(owner=busy, team=team)
    LeadFactory.create_batch(
        2, owner=busy, team=team, status="qualified", closed_at=NOW
    )

    lead = submit("zoe@example.org")

    assert lead.owner.full_name == "Closer"


def test_only_eligible_people_get_leads(db):
    team = TeamFactory(name="Mixed")
    PersonFactory(full_name="Ina Inactive", team=team, is_active=False)
    away = PersonFactory(full_name="Otto Away", team=team)
    full = PersonFactory(full_name="Cap Full", team=team, capacity=1)
    PersonFactory(full_name="Fran French", team=team, languages=["fr"])
    eve = PersonFactory(full_name="Eve Eligible", team=team, languages=["de", "en"])
    RoutingRuleFactory(name="All", team=team, is_default=True)
    OutOfOfficeFactory(
        person=away, starts_at=NOW - timedelta(days=1), ends_at=NOW + timedelta(days=1)
    )
    LeadFactory(owner=full, team=team)

    lead = submit("zoe@example.org", language="German")

    assert lead.owner == eve
    assert [
        (candidate["name"], candidate["eligible"], candidate["reason"])
        for candidate in decision_of(lead).candidates
    ] == [
        ("Ina Inactive", False, "inactive"),
        ("Otto Away", False, "out of office"),
        ("Cap Full", False, "at capacity (1/1)"),
        ("Fran French", False, "does not speak German"),
        ("Eve Eligible", True, ""),
    ]


def test_person_without_languages_takes_any_language(db):
    team = TeamFactory(name="Any")
    PersonFactory(full_name="Polly Glot", team=team, languages=[])
    RoutingRuleFactory(name="All", team=team, is_default=True)

    lead = submit("zoe@example.org", language="Japanese")

    assert lead.owner.full_name == "Polly Glot"


def test_lead_goes_to_fallback_queue_with_reason_when_nobody_is_eligible(db):
    team = TeamFactory(name="Thin")
    PersonFactory(full_name="Ina Inactive", team=team, is_active=False)
    away = PersonFactory(full_name="Otto Away", team=team)
    rule = RoutingRuleFactory(name="All", team=team, is_default=True)
    OutOfOfficeFactory(person=away, starts_at=NOW, ends_at=NOW + timedelta(hours=1))

    lead = submit("zoe@example.org")

    decision = decision_of(lead)
    assert lead.owner is None
    assert lead.team == team
    assert decision.step == "fallback_queue"
    assert decision.rule == rule
    assert decision.person is None
    assert decision.reason == (
        "Matched rule “All” to Thin, but nobody there is eligible (Ina Inactive: "
        "inactive; Otto Away: out of office): waiting in the team's fallback queue."
    )
    assert Team.objects.get(pk=team.pk).rotation_position == 0
    assert Lead.objects.get(pk=lead.pk).handoffs.get().receiver is None


def test_lead_goes_to_fallback_queue_when_the_team_has_no_members(db):
    team = TeamFactory(name="Empty")
    RoutingRuleFactory(name="All", team=team, is_default=True)

    lead = submit("zoe@example.org")

    assert decision_of(lead).reason == (
        "Matched rule “All” to Empty, but nobody there is eligible (no members): "
        "waiting in the team's fallback queue."
    )


def test_rep_back_from_leave_gets_no_catch_up_burst(sales_team):
    rep_a, rep_b, rep_c = sales_team["reps"]
    OutOfOfficeFactory(person=rep_b, starts_at=NOW, ends_at=NOW + timedelta(hours=1))

    while_away = submit_many(4, now=NOW + timedelta(minutes=10), prefix="away")
    after_return = submit_many(6, now=NOW + timedelta(hours=2), prefix="back")

    assert owners(while_away) == ["Rep A", "Rep C", "Rep A", "Rep C"]
    assert owners(after_return) == [
        "Rep A",
        "Rep B",
        "Rep C",
        "Rep A",
        "Rep B",
        "Rep C",
    ]


def test_intake_failing_after_claiming_its_turn_skips_that_turn(
    sales_team, transactional_db
):
    # The turn is claimed before the intake transaction and is not given back.
    failure = RuntimeError("the notification could not be written")
    with mock.patch(
        "handoffs.intake_writes.describe_notifications", side_effect=failure
    ):
        with pytest.raises(RuntimeError):
            submit("zoe@example.org")

    later = submit("yan@example.org")

    assert Lead.objects.filter(email="zoe@example.org").exists() is False
    assert later.owner.full_name == "Rep B"
    assert Team.objects.get(pk=sales_team["team"].pk).rotation_position == 2


def test_routing_decision_is_stored_with_its_rule(sales_team):
    lead = submit("zoe@example.org")

    decision = decision_of(lead)
    assert decision.step == "default_team"
    assert decision.rule.name == "Everything else"
    assert decision.team == sales_team["team"]
    assert decision.person == sales_team["reps"][0]
    assert decision.decided_at == NOW
    assert decision.reason == (
        "Matched rule “Everything else” to Inbound EMEA; next eligible in the "
        "round-robin: Rep A."
    )
    assert [candidate["eligible"] for candidate in decision.candidates] == [
        True,
        True,
        True,
    ]


def test_lead_history_starts_with_its_owner(sales_team):
    lead = submit("zoe@example.org")

    history = list(lead.history.order_by("history_id"))
    assert [row.history_type for row in history] == ["+"]
    assert history[0].owner_id == sales_team["reps"][0].pk
    assert history[0].team_id == sales_team["team"].pk


def test_lead_owner_and_handoff_receiver_agree(sales_team):
    lead = submit("zoe@example.org")

    handoff = Lead.objects.get(pk=lead.pk).handoffs.get()
    assert handoff.kind == "lead_to_sales"
    assert handoff.receiver == sales_team["reps"][0]
    assert handoff.receiving_team == sales_team["team"]
    assert handoff.state == "open"
