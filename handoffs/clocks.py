"""Start, stop and enforce the clocks on handoffs.

Due times are stored in UTC. This issue's clocks run on elapsed time; the
business-time arithmetic of team calendars plugs in at `due_time`.
"""

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import Prefetch
from django.urls import reverse
from simple_history.utils import bulk_create_with_history

from bowtie.models import Topic
from bowtie.notifications import in_zone_of, notify
from handoffs.models import EscalationRule, Handoff, LadderStep, Milestone, SlaPolicy

logger = logging.getLogger(__name__)


def due_time(started_at, target_seconds: int, clock_type: str):
    # TODO(clocks): business-time policies fall back to elapsed time until team
    # calendars land; replace this when working hours drive due times.
    return started_at + timedelta(seconds=target_seconds)


def policies_for(kind: str, lead_type: str = "") -> list[SlaPolicy]:
    """The active targets for a handoff, one per milestone key.

    A policy for the specific lead type wins over the one for every type.
    """
    chosen: dict[str, SlaPolicy] = {}
    policies = SlaPolicy.objects.filter(
        lead_type__in=[lead_type, ""], handoff_kind=kind, is_active=True
    ).prefetch_related(
        Prefetch(
            "ladder",
            queryset=EscalationRule.objects.filter(is_active=True),
            to_attr="active_ladder",
        )
    )
    for policy in sorted(policies, key=lambda policy: policy.lead_type != ""):
        chosen[policy.milestone_key] = policy
    return list(chosen.values())


def start_clocks(
    handoff: Handoff, lead_type: str, now, policies: list[SlaPolicy] | None = None
) -> list[Milestone]:
    """Start one milestone per active target; return them as stored.

    `policies` are those of `policies_for`, when the caller read them already.
    """
    if policies is None:
        policies = policies_for(handoff.kind, lead_type)
    milestones = [
        Milestone(
            handoff=handoff,
            key=policy.milestone_key,
            label=policy.label,
            clock_type=policy.clock_type,
            target_seconds=policy.target_seconds,
            policy=policy,
            started_at=now,
            due_at=due_time(now, policy.target_seconds, policy.clock_type),
        )
        for policy in policies
    ]
    # With history rows too: a plain bulk_create would skip the audit trail.
    milestones = bulk_create_with_history(milestones, Milestone)
    schedule_ladders(milestones, policies)
    return milestones


def ladder_step_due_at(milestone: Milestone, rule: EscalationRule):
    """When a rung fires: on the milestone's own clock, or after its due time."""
    if rule.anchor == EscalationRule.Anchor.AFTER_DUE:
        return milestone.due_at + timedelta(seconds=rule.elapsed_seconds)
    share = milestone.target_seconds * rule.percent_of_target // 100
    if rule.percent_of_target == 100:
        return milestone.due_at
    return due_time(milestone.started_at, share, milestone.clock_type)


def schedule_ladders(milestones: list[Milestone], policies: list[SlaPolicy]) -> None:
    """Schedule every active rung of each milestone's policy, in one insert."""
    rules_by_policy = {policy.pk: active_rules(policy) for policy in policies}
    steps = [
        LadderStep(
            milestone=milestone,
            rule=rule,
            action=rule.action,
            rule_text=str(rule),
            due_at=ladder_step_due_at(milestone, rule),
        )
        for milestone in milestones
        for rule in rules_by_policy.get(milestone.policy_id, [])
    ]
    LadderStep.objects.bulk_create(steps)


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
    if milestone.due_at < now and milestone.breached_at is None:
        milestone.breached_at = now
        changed.append("breached_at")
    # A save, not an update, so the audit history records the stop.
    milestone.save(update_fields=changed)
    close_waiting_steps(
        milestone,
        now,
        "Not needed any more: the work was done, late."
        if milestone.breached_at
        else "Not needed: the clock stopped in time.",
    )
    return True


def due_milestone_ids(now, limit: int, skipping=()) -> list[int]:
    return list(
        Milestone.objects.filter(
            met_at__isnull=True, breached_at__isnull=True, due_at__lte=now
        )
        .exclude(pk__in=skipping)
        .order_by("due_at")
        .values_list("pk", flat=True)[:limit]
    )


def record_breach(milestone_id: int, now) -> bool:
    """Mark one milestone breached and notify, exactly once.

    The conditional update is the claim: of two sweepers racing for the same
    milestone, only the one that changed the row goes on to notify.
    """
    with transaction.atomic():
        claimed = Milestone.objects.filter(
            pk=milestone_id,
            met_at__isnull=True,
            breached_at__isnull=True,
            due_at__lte=now,
        ).update(breached_at=now)
        if claimed != 1:
            return False

        milestone = Milestone.objects.select_related(
            "handoff__receiver", "handoff__receiving_team__head", "handoff__lead"
        ).get(pk=milestone_id)
        # The claim above was an update, which the audit history cannot see.
        Milestone.history.bulk_history_create([milestone], update=True)
        handoff = milestone.handoff
        recipient = handoff.receiver or (
            handoff.receiving_team.head if handoff.receiving_team else None
        )
        if recipient is not None:
            late = now - milestone.due_at
            notify(
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
                now=now,
            )
    logger.info("milestone %s breached", milestone_id)
    return True


def handoff_url(handoff: Handoff) -> str:
    if handoff.lead_id:
        return reverse("lead-detail", args=[handoff.lead_id])
    return ""
