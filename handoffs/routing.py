"""Route a lead: account owner, then rules, then the team's distribution.

`route_lead` runs before the intake transaction opens. How a team's turn is
taken depends on what decides who is eligible:

- Round-robin and weighted teams whose members have no capacity limit: who is
  eligible (active, not away, speaks the language) does not depend on other
  intakes. The turn is claimed by one UPDATE that moves the team's counter past
  the chosen member and returns it. Outside a transaction that statement
  commits on its own, so concurrent intakes queue on the team's row for one
  statement each instead of for a whole intake, and still take the rotation in
  the same order as they would one by one.
- Capacity-based teams, and any team with a capacity limit: eligibility
  depends on open-lead counts that concurrent intakes change. `finish_routing`
  routes those inside the intake transaction, as its first statements, under
  the team's row lock; the lock is held until the intake commits, so the next
  intake counts the lead this one just gave out.
"""

from dataclasses import dataclass, field

import pycountry
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from bowtie.compiled_queries import run_statement
from bowtie.models import OutOfOffice, Person, Team, Territory
from handoffs.models import Lead, RoutingDecision, RoutingRule
from handoffs.rotation import (
    Member,
    member_before,
    most_spare_capacity,
    next_in_rotation,
    rotation_steps,
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
    # Set when the team routes by open-lead counts: `finish_routing` must pick
    # the member inside the intake transaction.
    needs_team_lock: bool = False


def territory_of(country: str, configuration=None) -> str:
    if not country:
        return ""
    territories = (
        configuration.territories_in_order()
        if configuration is not None
        else Territory.objects.only("name", "countries")
    )
    for territory in territories:
        if country in territory.countries:
            return territory.name
    return ""


def uses_territory(rules: list[RoutingRule]) -> bool:
    return any(
        isinstance(condition, dict) and condition.get("field") == "territory"
        for rule in rules
        if not rule.is_default
        for condition in rule.conditions
    )


def route_lead(fields: dict, account, now, configuration=None) -> RoutingOutcome:
    """Decide where a new lead goes; call it before the intake transaction.

    A round-robin turn claimed here is not given back if the intake then
    rolls back: see `claim_turn`. The rules come from a kept `configuration`
    (handoffs.configuration_cache) when given.
    """
    if account is not None and account.owner_id:
        return route_to_account_owner(account, now)

    rule = matching_rule(fields, configuration)
    if rule is not None:
        return distribute_in_team(rule.team, fields, now, rule, configuration)

    return RoutingOutcome(
        step=RoutingDecision.Step.FALLBACK_QUEUE,
        team=None,
        person=None,
        reason=NO_RULE_REASON,
    )


NO_RULE_REASON = "No routing rule matched and no default rule is set."


def matching_rule(fields: dict, configuration=None) -> RoutingRule | None:
    """The first active rule the lead's fields meet; a default rule last."""
    if configuration is not None:
        rules = configuration.routing_rules()
    else:
        rules = list(
            RoutingRule.objects.filter(is_active=True)
            .select_related("team")
            .order_by("is_default", "priority")
        )
    # Territories are looked up only when a rule asks for one.
    if uses_territory(rules):
        territory = territory_of(fields.get("country", ""), configuration)
        fields = {**fields, "territory": territory}
    for rule in rules:
        if rule.is_default or conditions_match(rule.conditions, fields):
            return rule
    return None


def route_history(fields: dict, account, configuration=None) -> RoutingOutcome:
    """Where imported history belongs: a team, and a person only by account.

    No rotation turn and no eligibility: the lead is closed, and its owner in
    the source system is not known here.
    """
    if account is not None and account.owner_id:
        owner = account.owner
        return RoutingOutcome(
            step=RoutingDecision.Step.HISTORY,
            team=owner.team,
            person=owner,
            reason=f"Imported history of known account {account.name}: recorded "
            f"with its owner {owner}.",
        )
    rule = matching_rule(fields, configuration)
    if rule is None:
        return RoutingOutcome(
            step=RoutingDecision.Step.HISTORY,
            team=None,
            person=None,
            reason=f"Imported history. {NO_RULE_REASON}",
        )
    return RoutingOutcome(
        step=RoutingDecision.Step.HISTORY,
        team=rule.team,
        person=None,
        rule=rule,
        reason=f"Imported history: recorded for {rule.team} by rule “{rule.name}”, "
        "without a rotation turn.",
    )


def finish_routing(outcome: RoutingOutcome, fields: dict, now) -> RoutingOutcome:
    """Inside the intake transaction: pick the member of a team that needs a lock."""
    if not outcome.needs_team_lock:
        return outcome
    return distribute_under_lock(outcome.team, fields, now, rule=outcome.rule)


def route_to_account_owner(account, now) -> RoutingOutcome:
    owner = account.owner
    is_away = OutOfOffice.objects.filter(
        person=owner, starts_at__lte=now, ends_at__gt=now
    ).exists()
    open_count = (
        Lead.objects.filter(owner=owner, status__in=Lead.OPEN_STATUSES).count()
        if owner.capacity is not None
        else 0
    )
    # The relationship outweighs the language: only availability counts here.
    why_not = ineligibility(owner, is_away=is_away, open_count=open_count, language="")
    if not why_not:
        return RoutingOutcome(
            step=RoutingDecision.Step.ACCOUNT_OWNER,
            team=owner.team,
            person=owner,
            reason=f"Known account {account.name}: goes to its owner {owner}.",
        )
    # Never into rotation: a named account waits for its team's manager.
    where = f"the {owner.team} fallback queue" if owner.team else "the fallback queue"
    return RoutingOutcome(
        step=RoutingDecision.Step.FALLBACK_QUEUE,
        team=owner.team,
        person=None,
        reason=f"Known account {account.name}: its owner {owner} is {why_not}, "
        f"so the lead waits in {where}.",
    )


def ineligibility(
    person: Person, *, is_away: bool, open_count: int, language: str
) -> str:
    """Say why a person cannot take a lead now, or return ""."""
    if not person.is_active:
        return "inactive"
    if is_away:
        return "out of office"
    if person.capacity is not None and open_count >= person.capacity:
        return f"at capacity ({open_count}/{person.capacity})"
    if language and person.languages and language not in person.languages:
        return f"does not speak {language_name(language)}"
    return ""


def team_members(team: Team, now, with_open_counts: bool) -> list[Person]:
    """The team's lead-taking members by id, each marked `is_away`.

    With `with_open_counts`, also `open_count`: one index lookup per member on
    (owner, status), rather than a join over every open lead of the team.
    """
    away = OutOfOffice.objects.filter(
        person=OuterRef("pk"), starts_at__lte=now, ends_at__gt=now
    )
    people = (
        Person.objects.filter(team=team, role__in=Person.LEAD_TAKING_ROLES)
        .annotate(is_away=Exists(away))
        .order_by("pk")
    )
    if with_open_counts:
        open_leads = (
            Lead.objects.filter(owner=OuterRef("pk"), status__in=Lead.OPEN_STATUSES)
            .order_by()
            .values("owner")
            .annotate(count=Count("*"))
            .values("count")
        )
        people = people.annotate(open_count=Coalesce(Subquery(open_leads), Value(0)))
    return list(people)


def judge(people: list[Person], language: str) -> tuple[list[dict], set[int]]:
    """Return each person's candidacy, as stored on the decision, and who is in."""
    candidates = []
    eligible = set()
    for person in people:
        why_not = ineligibility(
            person,
            is_away=person.is_away,
            open_count=getattr(person, "open_count", 0),
            language=language,
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
    return candidates, eligible


def rotation_members(team: Team, people: list[Person]) -> list[Member]:
    is_weighted = team.distribution != Team.Distribution.ROUND_ROBIN
    return [
        Member(
            person_id=person.pk,
            weight=max(person.routing_weight, 1) if is_weighted else 1,
            open_count=getattr(person, "open_count", 0),
            capacity=person.capacity,
        )
        for person in people
    ]


def distribute_in_team(
    team: Team, fields: dict, now, rule=None, configuration=None
) -> RoutingOutcome:
    # Who is under capacity is settled under the team's lock, in the intake
    # transaction: see `finish_routing`.
    deferred = RoutingOutcome(
        step="", team=team, person=None, reason="", rule=rule, needs_team_lock=True
    )
    if team.distribution == Team.Distribution.CAPACITY:
        return deferred

    people = (
        configuration.team_members(team, now)
        if configuration is not None
        else team_members(team, now, with_open_counts=False)
    )
    if any(person.capacity is not None for person in people):
        return deferred

    candidates, eligible = judge(people, fields.get("language", ""))
    sequence = weighted_sequence(rotation_members(team, people))
    chosen_id = claim_turn(team, sequence, eligible) if eligible else None
    return team_outcome(team, rule, people, candidates, chosen_id)


def claim_turn(team: Team, sequence: list[int], eligible: set[int]) -> int:
    """Move the team's counter past the next eligible member; return that member.

    One UPDATE ... RETURNING, given the counter's step from each place of the
    sequence, in a transaction of its own: the row is locked only while that
    statement runs (inside a caller's transaction, such as an import, until
    that commits).

    The turn is not given back if the intake then rolls back: the member it
    fell to misses one lead, and nobody gets two. That is rare (intakes of one
    person take turns before they claim, so a repeat never claims) and cheaper
    than holding the team's row for a whole intake, which capped a team at a
    few dozen leads a second.
    """
    steps = rotation_steps(sequence, eligible)
    quote = connection.ops.quote_name
    counter = quote("rotation_position")
    # An eligible member's place moves the counter by one; only the places of
    # those skipped need a branch.
    branches = " ".join(
        f"WHEN {int(place)} THEN {int(step)}"
        for place, step in enumerate(steps)
        if step != 1
    )
    step = (
        f"CASE {counter} %% {len(sequence)} {branches} ELSE 1 END" if branches else "1"
    )
    condition = ""
    if not connection.in_atomic_block and connection.vendor == "postgresql":
        # Commit without waiting for the disk, so the row is free at once
        # rather than after a flush. The intake that uses the turn flushes it
        # with its own commit, which comes later in the log; a crash before
        # that loses the turn together with that intake. Set by the statement
        # itself for its own implicit transaction: one round trip, where a
        # SET LOCAL would need a BEGIN and a COMMIT of its own.
        condition = " AND set_config('synchronous_commit', 'off', true) = 'off'"
    [(position,)] = run_statement(
        f"UPDATE {quote(Team._meta.db_table)} SET {counter} = {counter} + {step} "
        f"WHERE {quote('id')} = %s{condition} RETURNING {counter}",
        [team.pk],
    )
    return member_before(sequence, position)


def distribute_under_lock(
    team: Team, fields: dict, now, rule=None, excluded: frozenset[int] = frozenset()
) -> RoutingOutcome:
    """Pick a member by open-lead counts, holding the team's row until commit.

    `excluded` people are never picked: a reassignment never goes back to
    someone who already had the lead.
    """
    position = (
        Team.objects.select_for_update()
        .values_list("rotation_position", flat=True)
        .get(pk=team.pk)
    )
    # Counted after the lock, so the lead the previous intake gave out counts.
    people = team_members(team, now, with_open_counts=True)
    candidates, eligible = judge(people, fields.get("language", ""))
    for candidate in candidates:
        if candidate["person"] in excluded:
            candidate.update(eligible=False, reason="had this lead already")
    eligible -= excluded
    members = rotation_members(team, people)
    sequence = weighted_sequence(members)
    if team.distribution == Team.Distribution.CAPACITY:
        chosen_id, position = most_spare_capacity(members, sequence, position, eligible)
    else:
        chosen_id, position = next_in_rotation(sequence, position, eligible)

    if chosen_id is not None:
        Team.objects.filter(pk=team.pk).update(rotation_position=position)
    return team_outcome(team, rule, people, candidates, chosen_id)


def team_outcome(team, rule, people, candidates, chosen_id) -> RoutingOutcome:
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

    person = next(person for person in people if person.pk == chosen_id)
    return RoutingOutcome(
        step=(
            RoutingDecision.Step.RULE
            if rule and not rule.is_default
            else RoutingDecision.Step.DEFAULT_TEAM
        ),
        team=team,
        person=person,
        rule=rule,
        candidates=candidates,
        reason=f"Matched {via} to {team}; {HOW_CHOSEN[team.distribution]}: {person}.",
    )
