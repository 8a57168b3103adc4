"""Start, stop and enforce the clocks on handoffs.

Due times are stored in UTC. A business-time target counts the working hours
of the receiver's calendar (the receiving team's while nobody owns the
handoff), an elapsed one counts every second. A clock owed by the sender,
started when the receivers send the work back, counts the sender's calendar
and answers to the sender's side instead. Whenever a calendar or a policy
changes, or the receiver does, the open milestones are recomputed.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Prefetch, Q
from django.dispatch import receiver
from django.urls import reverse
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from bowtie.calendars import (
    BusinessCalendar,
    NoWorkingTime,
    add_business_seconds,
    calendar_changed,
    calendar_for,
)
from bowtie.models import Person, Team, Topic
from bowtie.notifications import Notice, in_zone_of, notify_many
from handoffs import webhook_events
from handoffs.models import (
    ClockType,
    EscalationRule,
    Handoff,
    LadderStep,
    Milestone,
    OwedBy,
    SlaPolicy,
)

logger = logging.getLogger(__name__)


def due_time(
    started_at, target_seconds: int, clock_type: str, calendar: BusinessCalendar
):
    if clock_type == ClockType.BUSINESS:
        try:
            return add_business_seconds(calendar, started_at, target_seconds)
        except NoWorkingTime:
            # A calendar closed for more than a year is a data error, not a
            # reason to keep a lead from its owner: count elapsed time.
            logger.warning("calendar without working time: counting elapsed time")
    return started_at + timedelta(seconds=target_seconds)


@dataclass(frozen=True)
class Side:
    """The person and team a clock runs against."""

    person: Person | None
    team: Team | None


def find_side_owing(handoff: Handoff, owed_by: str = OwedBy.RECEIVERS) -> Side:
    if owed_by == OwedBy.SENDER:
        return Side(handoff.sender, handoff.sending_team)
    return Side(handoff.receiver, handoff.receiving_team)


def calendar_of(
    handoff: Handoff, owed_by: str = OwedBy.RECEIVERS, configuration=None
) -> BusinessCalendar:
    """The calendar a handoff's clocks count: the person's who owes the work,
    or their team's. From the rows of a kept `configuration` when given."""
    side = find_side_owing(handoff, owed_by)
    if configuration is not None:
        return configuration.calendar_for(person=side.person, team=side.team)
    return calendar_for(person=side.person, team=side.team)


def policies_for(
    kind: str,
    lead_type: str = "",
    starts_when: str = SlaPolicy.StartsWhen.OPENED,
) -> list[SlaPolicy]:
    """The active targets for a handoff, one per milestone key.

    A policy for the specific lead type wins over the one for every type.
    """
    policies = SlaPolicy.objects.filter(
        lead_type__in=[lead_type, ""],
        handoff_kind=kind,
        starts_when=starts_when,
        is_active=True,
    ).prefetch_related(
        Prefetch(
            "ladder",
            queryset=EscalationRule.objects.filter(is_active=True),
            to_attr="active_ladder",
        )
    )
    return one_policy_per_milestone(policies)


def one_policy_per_milestone(policies) -> list[SlaPolicy]:
    """Of the policies that apply, the one for the lead type wins per milestone."""
    chosen: dict[str, SlaPolicy] = {}
    for policy in sorted(policies, key=lambda policy: policy.lead_type != ""):
        chosen[policy.milestone_key] = policy
    return list(chosen.values())


def start_clocks(
    handoff: Handoff,
    lead_type: str,
    now,
    policies: list[SlaPolicy] | None = None,
    owed_by: str = OwedBy.RECEIVERS,
    key_suffix: str = "",
    configuration=None,
) -> list[Milestone]:
    """Start one milestone per active target; return them as stored.

    `policies` are those of `policies_for`, when the caller read them already;
    `key_suffix` tells a later round of the same clocks from the first. With
    a kept `configuration` (handoffs.configuration_cache), the calendar is
    built from its rows.
    """
    if policies is None:
        policies = policies_for(handoff.kind, lead_type)
    calendar = calendar_for_policies(handoff, policies, owed_by, configuration)
    milestones = milestone_rows(handoff, now, policies, owed_by, key_suffix, calendar)
    # With history rows too: a plain bulk_create would skip the audit trail.
    milestones = bulk_create_with_history(milestones, Milestone)
    LadderStep.objects.bulk_create(ladder_rows(milestones, policies, calendar))
    return milestones


def calendar_for_policies(
    handoff: Handoff, policies, owed_by: str, configuration=None
) -> BusinessCalendar | None:
    """The calendar the clocks count, read only when a target counts business
    time: elapsed clocks need none."""
    if any(policy.clock_type == ClockType.BUSINESS for policy in policies):
        return calendar_of(handoff, owed_by, configuration)
    return None


def milestone_rows(
    handoff: Handoff,
    now,
    policies: list[SlaPolicy],
    owed_by: str = OwedBy.RECEIVERS,
    key_suffix: str = "",
    calendar: BusinessCalendar | None = None,
) -> list[Milestone]:
    """One unsaved milestone per policy, started now."""
    return [
        Milestone(
            handoff=handoff,
            key=policy.milestone_key + key_suffix,
            label=policy.label,
            clock_type=policy.clock_type,
            owed_by=owed_by,
            target_seconds=policy.target_seconds,
            policy=policy,
            started_at=now,
            due_at=due_time(now, policy.target_seconds, policy.clock_type, calendar),
        )
        for policy in policies
    ]


def ladder_step_due_at(
    milestone: Milestone, rule: EscalationRule, calendar: BusinessCalendar | None
):
    """When a rung fires: on the milestone's own clock, or after its due time."""
    if rule.anchor == EscalationRule.Anchor.AFTER_DUE:
        return milestone.due_at + timedelta(seconds=rule.elapsed_seconds)
    share = milestone.target_seconds * rule.percent_of_target // 100
    if rule.percent_of_target == 100:
        return milestone.due_at
    return due_time(milestone.started_at, share, milestone.clock_type, calendar)


def ladder_rows(
    milestones: list[Milestone],
    policies: list[SlaPolicy],
    calendar: BusinessCalendar | None,
) -> list[LadderStep]:
    """Every active rung of each milestone's policy, unsaved."""
    rules_by_policy = {policy.pk: active_rules(policy) for policy in policies}
    return [
        LadderStep(
            milestone=milestone,
            rule=rule,
            action=rule.action,
            rule_text=str(rule),
            due_at=ladder_step_due_at(milestone, rule, calendar),
        )
        for milestone in milestones
        for rule in rules_by_policy.get(milestone.policy_id, [])
    ]


def active_rules(policy: SlaPolicy) -> list[EscalationRule]:
    # Prefetched by `policies_for`; a policy read elsewhere reads its own.
    if hasattr(policy, "active_ladder"):
        return policy.active_ladder
    return list(policy.ladder.filter(is_active=True))


def close_waiting_steps(milestone: Milestone, now, outcome: str) -> int:
    """Close the rungs that have not fired: the clock they wait on stopped."""
    return LadderStep.objects.filter(milestone=milestone, taken_at__isnull=True).update(
        taken_at=now, outcome=outcome
    )


def meet_milestone(handoff: Handoff, key: str, now) -> bool:
    """Stop a clock when its work is done, on time or late.

    Work done after the due time but before the sweeper noticed is still a
    breach: record it here, so the fact does not depend on sweep timing.
    """
    running = Milestone.objects.select_for_update().filter(
        handoff=handoff, key=key, met_at__isnull=True
    )
    milestone = running.first()
    if milestone is None:
        return False

    changed = ["met_at"]
    milestone.met_at = now
    breached_now = milestone.due_at < now and milestone.breached_at is None
    if breached_now:
        milestone.breached_at = now
        milestone.owner_at_breach = find_side_owing(handoff, milestone.owed_by).person
        changed += ["breached_at", "owner_at_breach"]
    # A save, not an update, so the audit history records the stop.
    milestone.save(update_fields=changed)
    close_waiting_steps(
        milestone,
        now,
        "Not needed any more: the work was done, late."
        if milestone.breached_at
        else "Not needed: the clock stopped in time.",
    )
    webhook_events.publish_milestone_met(milestone, handoff, breached_now, now)
    return True


def due_milestone_ids(now, limit: int, skipping=()) -> list[int]:
    # A completed handoff owes nothing more: its unmet clocks stay unmet on
    # record, but nobody is warned or escalated for them.
    return list(
        Milestone.objects.filter(
            met_at__isnull=True, breached_at__isnull=True, due_at__lte=now
        )
        .exclude(pk__in=skipping)
        .exclude(handoff__state=Handoff.State.COMPLETED)
        .order_by("due_at")
        .values_list("pk", flat=True)[:limit]
    )


def record_breach(milestone_id: int, now) -> bool:
    """Mark one milestone breached and notify, exactly once."""
    return record_breaches([milestone_id], now) == [milestone_id]


def record_breaches(milestone_ids: list[int], now) -> list[int]:
    """Mark due milestones breached and notify each owner, exactly once.

    The claim is a row lock that skips rows another sweeper holds, with the
    running and due conditions checked again under it: of two sweepers racing
    for a milestone, one takes it and the other passes it by, and once the
    first commits the milestone no longer matches. One transaction for the
    batch: a crash part-way leaves every row of it for the next sweep.
    Returns the ids this call breached.
    """
    with transaction.atomic():
        milestones = list(
            Milestone.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                pk__in=milestone_ids,
                met_at__isnull=True,
                breached_at__isnull=True,
                due_at__lte=now,
            )
            .select_related(
                "handoff__receiver",
                "handoff__receiving_team__head",
                "handoff__sender",
                "handoff__sending_team__head",
                "handoff__lead",
            )
            .order_by("pk")
        )
        if not milestones:
            return []

        for milestone in milestones:
            milestone.breached_at = now
            milestone.owner_at_breach = find_side_owing(
                milestone.handoff, milestone.owed_by
            ).person
        Milestone.objects.bulk_update(milestones, ["breached_at", "owner_at_breach"])
        # A bulk update, which the audit history cannot see by itself.
        Milestone.history.bulk_history_create(milestones, update=True)
        notices = [breach_notice(milestone, now) for milestone in milestones]
        notify_many([notice for notice in notices if notice is not None], now)
        webhook_events.publish_breaches(milestones, now)
    logger.info("%s milestones breached", len(milestones))
    return [milestone.pk for milestone in milestones]


def answerable_person(
    handoff: Handoff, owed_by: str = OwedBy.RECEIVERS
) -> Person | None:
    """Who answers for a clock now: the active person who owes the work, or
    their team's head."""
    side = find_side_owing(handoff, owed_by)
    for person in (side.person, side.team.head if side.team else None):
        if person is not None and person.is_active:
            return person
    return None


def breach_notice(milestone: Milestone, now) -> Notice | None:
    """What the owner (or the team's head) is told when the clock ran out."""
    handoff = milestone.handoff
    recipient = answerable_person(handoff, milestone.owed_by)
    if recipient is None:
        return None
    late = now - milestone.due_at
    return Notice(
        recipient,
        event_key=f"milestone:{milestone.pk}:breached",
        topic=Topic.SLA_BREACH,
        subject=f"SLA breached: {milestone.label} for {handoff.subject}",
        body=(
            f"{milestone.label} was due "
            f"{in_zone_of(recipient, milestone.due_at)} and is now "
            f"{int(late.total_seconds() // 60)} min overdue."
        ),
        url=handoff_url(handoff),
    )


def handoff_url(handoff: Handoff) -> str:
    if handoff.lead_id:
        return reverse("lead-detail", args=[handoff.lead_id])
    return ""


def recompute_due_times(milestones, now) -> int:
    """Recompute the due times of open milestones and their waiting rungs.

    `milestones` is a queryset; breached and met ones are left alone, so a
    breach already recorded stays a fact. Each milestone takes its policy's
    current target and clock type, and its handoff's current calendar.
    Returns how many due times moved.
    """
    open_milestones = list(
        milestones.filter(met_at__isnull=True, breached_at__isnull=True)
        .select_for_update(of=("self",))
        .select_related(
            "policy",
            "handoff__receiver__team",
            "handoff__receiving_team",
            "handoff__sender__team",
            "handoff__sending_team",
        )
        .order_by("pk")
    )
    calendars = calendars_of(open_milestones)
    moved = []
    for milestone in open_milestones:
        policy = milestone.policy
        if policy is not None:
            milestone.target_seconds = policy.target_seconds
            milestone.clock_type = policy.clock_type
            milestone.label = policy.label
        due_at = due_time(
            milestone.started_at,
            milestone.target_seconds,
            milestone.clock_type,
            calendars[calendar_key(milestone)],
        )
        if due_at != milestone.due_at:
            milestone.due_at = due_at
            moved.append(milestone)
    if not open_milestones:
        return 0

    bulk_update_with_history(
        open_milestones,
        Milestone,
        ["due_at", "target_seconds", "clock_type", "label"],
        batch_size=500,
    )
    reschedule_waiting_steps(open_milestones, calendars)
    logger.info(
        "due times recomputed: %s of %s moved", len(moved), len(open_milestones)
    )
    return len(moved)


def calendar_key(milestone: Milestone) -> tuple:
    # What `calendar_of` reads: clocks owed by one person and team share one.
    handoff = milestone.handoff
    if milestone.owed_by == OwedBy.SENDER:
        return (handoff.sender_id, handoff.sending_team_id)
    return (handoff.receiver_id, handoff.receiving_team_id)


def calendars_of(milestones: list[Milestone]) -> dict[tuple, BusinessCalendar]:
    """One calendar per owing person and team among the milestones, read once."""
    calendars = {}
    for milestone in milestones:
        key = calendar_key(milestone)
        if key not in calendars:
            calendars[key] = calendar_of(milestone.handoff, milestone.owed_by)
    return calendars


def reschedule_waiting_steps(milestones: list[Milestone], calendars: dict) -> None:
    by_id = {milestone.pk: milestone for milestone in milestones}
    # A rung whose rule was deleted keeps the time it had.
    waiting = list(
        LadderStep.objects.filter(
            milestone__in=by_id, taken_at__isnull=True, rule__isnull=False
        )
        .select_related("rule")
        .order_by("pk")
    )
    for step in waiting:
        milestone = by_id[step.milestone_id]
        calendar = calendars[calendar_key(milestone)]
        step.due_at = ladder_step_due_at(milestone, step.rule, calendar)
        step.rule_text = str(step.rule)
    LadderStep.objects.bulk_update(waiting, ["due_at", "rule_text"], batch_size=500)


def open_business_milestones(*, teams=(), people=(), everyone=False):
    """The running business-time milestones a calendar change can move."""
    running = Milestone.objects.filter(
        clock_type=ClockType.BUSINESS, met_at__isnull=True, breached_at__isnull=True
    )
    if everyone:
        return running
    # The clocks count the owing person's own hours, or their team's:
    # `calendar_of` reads no other team.
    team_ids = [team.pk for team in teams]
    person_ids = [person.pk for person in people]
    receivers = Q(handoff__receiver__in=person_ids) | Q(
        handoff__receiving_team__in=team_ids
    )
    sender = Q(handoff__sender__in=person_ids) | Q(handoff__sending_team__in=team_ids)
    return running.filter(
        (Q(owed_by=OwedBy.RECEIVERS) & receivers) | (Q(owed_by=OwedBy.SENDER) & sender)
    )


@receiver(calendar_changed)
def recompute_after_calendar_change(sender, teams, people, everyone, now, **kwargs):
    recompute_due_times(
        open_business_milestones(teams=teams, people=people, everyone=everyone), now
    )


def apply_policy_change(policy: SlaPolicy, now) -> int:
    """Carry an edited target, clock type or ladder to its running clocks.

    Running milestones take the new target; every rung still waiting, on a
    running or a breached milestone, takes its rule's new timing. A rung
    whose rule was switched off or deleted closes where it waits. Rungs added
    later, and a policy switched off, apply to clocks started from then on.
    """
    waiting = LadderStep.objects.filter(
        milestone__policy=policy, milestone__met_at__isnull=True, taken_at__isnull=True
    )
    waiting.filter(Q(rule__is_active=False) | Q(rule=None)).update(
        taken_at=now, outcome="Not taken: the rule was switched off or removed."
    )
    moved = recompute_due_times(Milestone.objects.filter(policy=policy), now)

    breached = list(
        Milestone.objects.filter(
            policy=policy, met_at__isnull=True, breached_at__isnull=False
        ).select_related("handoff__receiver", "handoff__receiving_team")
    )
    reschedule_waiting_steps(breached, calendars_of(breached))
    return moved
