"""Route a lead: account owner, then rules, then the team's distribution.

Called inside the intake transaction. The chosen team's row is locked while a
member is picked, so concurrent intakes (web workers, an import, a batch) take
the rotation one at a time and in the same order as they would one by one.
"""

from dataclasses import dataclass, field

import pycountry
from django.db.models import Count, Q

from bowtie.models import Person, Team, Territory
from handoffs.models import Lead, RoutingDecision, RoutingRule
from handoffs.rotation import (
    Member,
    most_spare_capacity,
    next_in_rotation,
    weighted_sequence,
)
from handoffs.rules import conditions_match

HOW_CHOSEN = {
    Team.Distribution.ROUND_ROBIN: "next eligible in the round-robin",
    Team.Distribution.WEIGHTED: "next eligible in the weighted rotation",
    Team.Distribution.CAPACITY: "eligible with the most spare capacity",
}


def language_name(code: str) -> str:
    language = pycountry.languages.get(alpha_2=code)
    return language.name if language else code


@dataclass
class RoutingOutcome:
    step: str
    team: Team | None
    person: Person | None
    reason: str
    rule: RoutingRule | None = None
    candidates: list[dict] = field(default_factory=list)


def territory_of(country: str) -> str:
    if not country:
        return ""
    for territory in Territory.objects.only("name", "countries"):
        if country in territory.countries:
            return territory.name
    return ""


def route_lead(fields: dict, account, now) -> RoutingOutcome:
    if account is not None and account.owner_id:
        return route_to_account_owner(account)

    fields = {**fields, "territory": territory_of(fields.get("country", ""))}
    # A default rule catches what no other rule took, whatever its priority.
    rules = (
        RoutingRule.objects.filter(is_active=True)
        .select_related("team")
        .order_by("is_default", "priority")
    )
    for rule in rules:
        if rule.is_default or conditions_match(rule.conditions, fields):
            return distribute_in_team(rule.team, fields, now, rule=rule)

    return RoutingOutcome(
        step=RoutingDecision.Step.FALLBACK_QUEUE,
        team=None,
        person=None,
        reason="No routing rule matched and no default rule is set.",
    )


def route_to_account_owner(account) -> RoutingOutcome:
    owner = account.owner
    if owner.is_active:
        return RoutingOutcome(
            step=RoutingDecision.Step.ACCOUNT_OWNER,
            team=owner.team,
            person=owner,
            reason=f"Known account {account.name}: goes to its owner {owner}.",
        )
    # Never into rotation: a named account waits for its team's manager.
    return RoutingOutcome(
        step=RoutingDecision.Step.FALLBACK_QUEUE,
        team=owner.team,
        person=None,
        reason=f"Known account {account.name}: its owner {owner} is inactive, "
        f"so the lead waits in the fallback queue.",
    )


def ineligibility(person: Person, open_count: int, language: str, now) -> str:
    """Say why a person cannot take a lead now, or return ""."""
    if not person.is_active:
        return "inactive"
    if person.is_out_of_office(now):
        return "out of office"
    if person.capacity is not None and open_count >= person.capacity:
        return f"at capacity ({open_count}/{person.capacity})"
    if language and person.languages and language not in person.languages:
        return f"does not speak {language_name(language)}"
    return ""


def distribute_in_team(team: Team, fields: dict, now, rule=None) -> RoutingOutcome:
    team = Team.objects.select_for_update().get(pk=team.pk)
    people = list(
        Person.objects.filter(team=team, role__in=Person.LEAD_TAKING_ROLES)
        .annotate(
            open_count=Count(
                "owned_leads",
                filter=Q(owned_leads__status__in=Lead.OPEN_STATUSES),
            )
        )
        .order_by("pk")
    )
    is_weighted = team.distribution != Team.Distribution.ROUND_ROBIN
    members = [
        Member(
            person_id=person.pk,
            weight=max(person.routing_weight, 1) if is_weighted else 1,
            open_count=person.open_count,
            capacity=person.capacity,
        )
        for person in people
    ]

    candidates = []
    eligible = set()
    for person in people:
        why_not = ineligibility(
            person, person.open_count, fields.get("language", ""), now
        )
        candidates.append(
            {
                "person": person.pk,
                "name": person.full_name,
                "eligible": not why_not,
                "reason": why_not,
            }
        )
        if not why_not:
            eligible.add(person.pk)

    sequence = weighted_sequence(members)
    if team.distribution == Team.Distribution.CAPACITY:
        chosen_id, position = most_spare_capacity(
            members, sequence, team.rotation_position, eligible
        )
    else:
        chosen_id, position = next_in_rotation(
            sequence, team.rotation_position, eligible
        )

    step = (
        RoutingDecision.Step.RULE
        if rule and not rule.is_default
        else (RoutingDecision.Step.DEFAULT_TEAM)
    )
    via = f"rule “{rule.name}”" if rule else "the default team"
    if chosen_id is None:
        summary = "; ".join(f"{c['name']}: {c['reason']}" for c in candidates)
        return RoutingOutcome(
            step=RoutingDecision.Step.FALLBACK_QUEUE,
            team=team,
            person=None,
            rule=rule,
            candidates=candidates,
            reason=f"Matched {via} to {team}, but nobody there is eligible "
            f"({summary or 'no members'}): waiting in the team's fallback queue.",
        )

    Team.objects.filter(pk=team.pk).update(rotation_position=position)
    person = next(person for person in people if person.pk == chosen_id)
    return RoutingOutcome(
        step=step,
        team=team,
        person=person,
        rule=rule,
        candidates=candidates,
        reason=f"Matched {via} to {team}; {HOW_CHOSEN[team.distribution]}: {person}.",
    )
