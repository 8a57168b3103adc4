"""Take the ladder steps that are due: warn, tell the manager, reassign, escalate.

Each step is claimed by a conditional update and acted on in the same
transaction, so two sweepers never act twice, and a sweeper that dies before
its commit leaves the step for the next one. Notifications written here go
out only after that commit (see `bowtie.notifications`).
"""

import logging
import time
from dataclasses import dataclass

from django.db import transaction

from bowtie.models import Person, Topic
from bowtie.notifications import in_zone_of, notify
from handoffs import clocks
from handoffs.models import EscalationRule, LadderStep, Milestone

logger = logging.getLogger(__name__)

Action = EscalationRule.Action


def due_step_ids(now, limit: int, skipping=()) -> list[int]:
    return list(
        LadderStep.objects.filter(taken_at__isnull=True, due_at__lte=now)
        .exclude(pk__in=skipping)
        .order_by("due_at")
        .values_list("pk", flat=True)[:limit]
    )


def take_step(step_id: int, now) -> bool:
    """Act on one due step, exactly once; False if another sweeper has it.

    The claim is a row lock that skips a step another sweeper holds, with the
    conditions checked again under it, and the step is written once, at the
    end: a second update of a row written in the same transaction would make
    PostgreSQL check its foreign key at commit, and wait on a milestone that
    a calendar edit holds.
    """
    with transaction.atomic():
        step = (
            LadderStep.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk=step_id, taken_at__isnull=True, due_at__lte=now)
            .select_related(
                "milestone__handoff__lead",
                "milestone__handoff__receiver__manager",
                "milestone__handoff__receiving_team__head",
                "milestone__handoff__receiving_team__parent__head",
                "milestone__handoff__sender__manager",
                "milestone__handoff__sending_team__head",
                "milestone__handoff__sending_team__parent__head",
            )
            .first()
        )
        if step is None:
            return False

        outcome = ACTIONS[step.action](step, now)
        LadderStep.objects.filter(pk=step_id).update(
            taken_at=now, outcome=outcome.text[:300], fired=outcome.acted
        )
    logger.info("ladder step %s (%s): %s", step_id, step.action, outcome.text)
    return True


@dataclass(frozen=True)
class Outcome:
    """What a rung did, in words, and whether it reached anyone."""

    text: str
    acted: bool = True


def passed(text: str) -> Outcome:
    """A rung that fired with nobody to act on: counted, but not as done."""
    return Outcome(text, acted=False)


owner_of = clocks.answerable_person


def active(person: Person | None) -> Person | None:
    return person if person is not None and person.is_active else None


def manager_of(milestone: Milestone) -> Person | None:
    """The owing person's active manager; the team's head when there is none."""
    side = clocks.find_side_owing(milestone.handoff, milestone.owed_by)
    if side.person is not None and active(side.person.manager):
        return side.person.manager
    return active(side.team.head) if side.team is not None else None


def head_above(milestone: Milestone, manager: Person | None) -> Person | None:
    """The head of the team, or of its parent team when that is the manager."""
    team = clocks.find_side_owing(milestone.handoff, milestone.owed_by).team
    if team is None:
        return None
    if active(team.head) and team.head != manager:
        return team.head
    parent = team.parent
    if parent is not None and active(parent.head):
        return parent.head
    return active(team.head)


def overdue_text(milestone: Milestone, recipient: Person, now) -> str:
    late_minutes = int((now - milestone.due_at).total_seconds() // 60)
    return (
        f"{milestone.label} was due {in_zone_of(recipient, milestone.due_at)}"
        f" and is {late_minutes} min overdue"
    )


def warn(step: LadderStep, now) -> str:
    milestone = step.milestone
    handoff = milestone.handoff
    if now >= milestone.due_at:
        # Only after downtime: the breach notice says more than a warning would.
        return passed("Skipped: the clock had run out before the warning was sent.")
    recipient = owner_of(handoff, milestone.owed_by)
    if recipient is None:
        return passed("Nobody to warn: nobody active owes it and no team head.")

    minutes_left = max(1, int((milestone.due_at - now).total_seconds() // 60))
    notify(
        recipient,
        event_key=f"ladder:{step.pk}",
        topic=Topic.SLA_WARNING,
        subject=f"Due soon: {milestone.label} for {handoff.subject}",
        body=f"{milestone.label} is due {in_zone_of(recipient, milestone.due_at)}, "
        f"in {minutes_left} min.",
        url=clocks.handoff_url(handoff),
        now=now,
    )
    return Outcome(f"Warned {recipient}.")


def notify_manager(step: LadderStep, now) -> str:
    milestone = step.milestone
    handoff = milestone.handoff
    manager = manager_of(milestone)
    if manager is None:
        return passed("Nobody to tell: no active manager and no team head.")

    owing = clocks.find_side_owing(handoff, milestone.owed_by).person
    whose = f" ({owing} has it)" if owing else " (unassigned)"
    notify(
        manager,
        event_key=f"ladder:{step.pk}",
        topic=Topic.SLA_BREACH,
        subject=f"SLA breached in your team: {milestone.label} for {handoff.subject}",
        body=overdue_text(milestone, manager, now) + whose + ".",
        url=clocks.handoff_url(handoff),
        now=now,
    )
    return Outcome(f"Told {manager}, the manager.")


def reassign(step: LadderStep, now) -> str:
    # Imported here: the services start clocks, so they import this module's
    # neighbours, and a top-level import would go round in a circle.
    from handoffs.services import reassign_lead

    milestone = step.milestone
    handoff = milestone.handoff
    if handoff.lead is None:
        return passed(
            f"Not reassigned: {handoff.get_kind_display()} is reassigned by hand."
        )

    first_decision = handoff.lead.decisions.order_by("decided_at", "pk").first()
    if first_decision and first_decision.step == first_decision.Step.ACCOUNT_OWNER:
        # DESIGN: a known account's lead never goes into rotation.
        return passed("Not reassigned: a known account's lead stays with its owner.")

    why = f"{milestone.label} breached ({step.rule_text})."
    result = reassign_lead(handoff.lead, now, why)
    if result.successor is not None:
        former = result.former or "the queue"
        return Outcome(f"Reassigned from {former} to {result.successor}.")
    summary = "; ".join(
        f"{candidate['name']}: {candidate['reason']}" for candidate in result.candidates
    )
    return passed(f"Nobody else eligible ({summary or 'no members'}); left as it was.")


def escalate(step: LadderStep, now) -> str:
    milestone = step.milestone
    handoff = milestone.handoff
    head = head_above(milestone, manager_of(milestone))
    owner = clocks.find_side_owing(handoff, milestone.owed_by).person
    if head is None:
        return passed("Nobody to escalate to: the team has no active head.")

    notify(
        head,
        event_key=f"ladder:{step.pk}",
        topic=Topic.ESCALATION,
        subject=f"Escalation: {milestone.label} for {handoff.subject}",
        body=overdue_text(milestone, head, now)
        + f". Owner: {owner or 'nobody'}; the manager was told at the due time.",
        url=clocks.handoff_url(handoff),
        now=now,
    )
    return Outcome(f"Escalated to {head}, head of the team.")


ACTIONS = {
    Action.WARN: warn,
    Action.NOTIFY_MANAGER: notify_manager,
    Action.REASSIGN: reassign,
    Action.ESCALATE: escalate,
}


def sweep(now, batch_size: int = 500, time_budget_seconds: float = 30.0) -> dict:
    """Record every due breach and take every due ladder step, oldest first.

    Works in batches until nothing is due, so a sweeper that was down catches
    up in one run; the time budget hands the rest to the next run rather than
    overlap it.
    """
    started = time.monotonic()
    done = {"breaches": 0, "steps": 0}
    # Rows left for the next run: a broken one, logged, so that it cannot stop
    # the rest; and a breach another transaction holds (a second sweeper, a
    # calendar edit), so that this run does not spin on it.
    skipped = {"breach": set(), "step": set()}
    while time.monotonic() - started < time_budget_seconds:
        breaches = clocks.due_milestone_ids(now, batch_size, skipped["breach"])
        steps = due_step_ids(now, batch_size, skipped["step"])
        if not breaches and not steps:
            break
        # Breaches first: a breach notice reads before the manager's.
        for start in range(0, len(breaches), BREACH_BATCH_SIZE):
            batch = breaches[start : start + BREACH_BATCH_SIZE]
            recorded = record_breaches_isolating_failures(batch, now, skipped)
            done["breaches"] += len(recorded)
            skipped["breach"].update(set(batch) - set(recorded))
        for pk in steps:
            try:
                if take_step(pk, now):
                    done["steps"] += 1
                else:
                    skipped["step"].add(pk)
            except Exception:
                logger.exception("sweep could not act on step %s", pk)
                skipped["step"].add(pk)
    return done


# Breaches are claimed and committed this many at a time: one commit per row
# would cost more than the rest of the work.
BREACH_BATCH_SIZE = 100


def record_breaches_isolating_failures(
    batch: list[int], now, skipped: dict
) -> list[int]:
    try:
        return clocks.record_breaches(batch, now)
    except Exception:
        logger.warning("breach batch failed: retrying its rows one by one")
    recorded = []
    for pk in batch:
        try:
            recorded += clocks.record_breaches([pk], now)
        except Exception:
            logger.exception("sweep could not act on breach %s", pk)
            skipped["breach"].add(pk)
    return recorded
