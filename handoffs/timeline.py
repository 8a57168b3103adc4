"""What happened to a handoff's clocks, in order: for every kind of handoff."""

from dataclasses import dataclass
from datetime import datetime

from handoffs.models import Handoff, LadderStep, Milestone


@dataclass
class TimelineEntry:
    at: datetime
    what: str
    detail: str
    # "done", "late" or "scheduled": how the page marks it.
    state: str


def handoff_timeline(handoff: Handoff) -> list[TimelineEntry]:
    """The handoff's milestones and ladder steps, past and scheduled, by time."""
    milestones = list(handoff.milestones.all())
    steps = LadderStep.objects.filter(milestone__handoff=handoff).select_related(
        "milestone"
    )
    entries = [TimelineEntry(handoff.opened_at, "Handoff opened", "", "done")]
    for milestone in milestones:
        entries += milestone_entries(milestone)
    for step in steps:
        entries.append(step_entry(step))
    return sorted(entries, key=lambda entry: (entry.state == "scheduled", entry.at))


def milestone_entries(milestone: Milestone) -> list[TimelineEntry]:
    target = f"{milestone.label} due ({milestone.get_clock_type_display().lower()})"
    entries = [TimelineEntry(milestone.due_at, target, "", "scheduled")]
    if milestone.breached_at:
        entries.append(
            TimelineEntry(
                milestone.breached_at, f"{milestone.label} breached", "", "late"
            )
        )
    if milestone.met_at:
        late = milestone.met_at > milestone.due_at
        entries.append(
            TimelineEntry(
                milestone.met_at,
                f"{milestone.label} met" + (" late" if late else ""),
                "",
                "late" if late else "done",
            )
        )
    if milestone.met_at or milestone.breached_at:
        # The due time has passed or no longer matters: show it as a fact.
        entries[0].state = "done"
    return entries


def step_entry(step: LadderStep) -> TimelineEntry:
    rung = f"{step.milestone.label}: {step.get_action_display().lower()}"
    if step.taken_at is None:
        return TimelineEntry(step.due_at, rung, f"Rule: {step.rule_text}.", "scheduled")
    return TimelineEntry(
        step.taken_at, rung, f"{step.outcome} Rule: {step.rule_text}.", "done"
    )
