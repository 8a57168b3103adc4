"""Close a deal won: the packet gate, then the handoff and the renewal, once.

`close_deal_won` is the one way a live deal reaches Closed Won. The deal page
and the admin's deal form call it; a deal API, an import of live deals or a
CRM webhook must call it too (none of them moves a deal to Won yet). It
refuses a deal whose packet lacks a required item and names each one. Run
twice, at once or by a retried webhook, it changes nothing the second time:
the deal row is locked for the close, and the database holds one
implementation handoff per deal and one renewal.
"""

import logging
from dataclasses import dataclass
from datetime import UTC
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from bowtie.models import Deal, Pipeline, Stage, Team, Topic
from bowtie.notifications import notify
from handoffs import clocks, involvement
from handoffs.models import Handoff, HandoffRating, HandoffTask, PacketItem
from handoffs.packets import Assessment, assess_packet
from handoffs.queries import received_handoffs
from handoffs.renewals import first_renewal_stage, renewal_of
from handoffs.services import ActionRefused

logger = logging.getLogger(__name__)

KIND = Handoff.Kind.SALES_TO_IMPLEMENTATION


class PacketIncomplete(ActionRefused):
    """The packet lacks required items; each is named."""

    def __init__(self, assessment: Assessment):
        self.assessment = assessment
        super().__init__(
            "Closed Won needs a complete handoff packet. Missing: "
            + " ".join(missing.text for missing in assessment.missing)
        )


@dataclass
class ClosedWon:
    deal: Deal
    handoff: Handoff
    renewal: Deal
    is_new: bool


def packet_items(kind: str = KIND) -> list[PacketItem]:
    return list(PacketItem.objects.filter(template__handoff_kind=kind))


def assess_deal_packet(deal: Deal) -> Assessment:
    return assess_packet(packet_items(), deal.packet or {})


@transaction.atomic
def save_deal_packet(deal: Deal, packet: dict, actor=None) -> Assessment:
    """Store a draft of the packet and its completeness; refuse nothing."""
    deal = Deal.objects.select_for_update().get(pk=deal.pk)
    assessment = assess_packet(packet_items(), packet)
    deal.packet = packet
    deal.packet_completeness = assessment.completeness
    deal.save(update_fields=["packet", "packet_completeness", "updated_at"])
    return assessment


@transaction.atomic
def close_deal_won(deal: Deal, actor=None, now=None) -> ClosedWon:
    """Move a deal to Closed Won, open its implementation handoff and renewal."""
    now = now or timezone.now()
    # The lock without joins: PostgreSQL re-reads a row it waited for but not
    # the rows joined to it, and a join on the stage the other close changed
    # would drop the deal from the answer.
    deal = Deal.objects.select_for_update().get(pk=deal.pk)
    if deal.stage.outcome == Stage.Outcome.WON:
        return already_won(deal)
    if deal.stage.outcome == Stage.Outcome.LOST:
        raise ActionRefused("A lost deal cannot be closed won; reopen it first.")
    if deal.is_historical:
        raise ActionRefused("Imported history is closed in its source system.")
    if deal.pipeline.kind != Pipeline.Kind.NEW_BUSINESS:
        raise ActionRefused(
            f"Only new-business deals close won here; {deal.pipeline} deals do not "
            "hand over to implementation."
        )
    if deal.term_months < 1:
        raise ActionRefused("Give the deal a term of at least one month first.")

    assessment = assess_deal_packet(deal)
    if not assessment.is_complete:
        raise PacketIncomplete(assessment)

    won_stage = deal.pipeline.stages.filter(outcome=Stage.Outcome.WON).first()
    if won_stage is None:
        raise ActionRefused(f"The pipeline {deal.pipeline} has no won stage.")
    deal.stage = won_stage
    # The day it closed where the AE works: near midnight UTC's date is not.
    zone = ZoneInfo(deal.owner.time_zone) if deal.owner else UTC
    deal.closed_on = now.astimezone(zone).date()
    deal.packet_completeness = assessment.completeness
    deal.save(update_fields=["stage", "closed_on", "packet_completeness", "updated_at"])

    handoff = open_implementation_handoff(deal, now)
    renewal = create_renewal(deal)
    logger.info(
        "deal %s closed won: handoff %s, renewal %s", deal.pk, handoff.pk, renewal.pk
    )
    return ClosedWon(deal, handoff, renewal, is_new=True)


def already_won(deal: Deal) -> ClosedWon:
    handoff = Handoff.objects.filter(deal=deal, kind=KIND).first()
    renewal = Deal.objects.filter(renews=deal).first()
    if handoff is None or renewal is None:
        raise ActionRefused("This deal was won before Bowtie kept its handoff.")
    return ClosedWon(deal, handoff, renewal, is_new=False)


def implementation_team() -> Team | None:
    return (
        Team.objects.filter(function=Team.Function.IMPLEMENTATION)
        .select_related("head")
        .order_by("pk")
        .first()
    )


def open_implementation_handoff(deal: Deal, now) -> Handoff:
    team = implementation_team()
    model = involvement.involvement_for(deal)
    handoff = Handoff.objects.create(
        kind=KIND,
        deal=deal,
        sending_team=deal.owner.team if deal.owner else None,
        sender=deal.owner,
        receiving_team=team,
        opened_at=now,
        packet=deal.packet,
        involvement=model,
    )
    milestones = clocks.start_clocks(handoff, "", now)
    kickoff = next((m for m in milestones if m.key == "kickoff_scheduled"), None)
    HandoffTask.objects.bulk_create(
        HandoffTask(
            handoff=handoff, title=task.title, owner=task.owner, due_at=task.due_at
        )
        for task in involvement.planned_tasks(
            model, deal, kickoff.due_at if kickoff else now, now
        )
    )
    if team is not None and team.head is not None:
        notify(
            team.head,
            event_key=f"handoff:{handoff.pk}:opened",
            topic=Topic.NEW_WORK,
            subject=f"Closed won, for implementation: {deal.name}",
            body=f"{deal.owner or 'Sales'} closed {deal.name}; the packet is "
            "complete and the first clocks are running.",
            url="",
            now=now,
        )
    return handoff


def create_renewal(deal: Deal) -> Deal:
    # Raised inside the close's transaction, a refusal leaves the deal open.
    renewal = renewal_of(deal, first_renewal_stage())
    renewal.save()
    return renewal


def can_work_received_handoff(handoff: Handoff, actor) -> bool:
    return received_handoffs(actor, handoff.kind).filter(pk=handoff.pk).exists()


@transaction.atomic
def accept_implementation_handoff(handoff: Handoff, actor, now=None) -> Handoff:
    """The implementation side takes the handoff; an open one only."""
    now = now or timezone.now()
    handoff = Handoff.objects.select_for_update().get(pk=handoff.pk)
    if not can_work_received_handoff(handoff, actor):
        raise ActionRefused("Only the receiving team can accept this handoff.")
    if handoff.state != Handoff.State.OPEN:
        raise ActionRefused(f"This handoff is {handoff.get_state_display().lower()}.")

    handoff.accept()
    handoff.accepted_at = now
    if handoff.receiver is None:
        handoff.receiver = actor
    handoff.save()
    clocks.meet_milestone(handoff, "ae_briefing", now)
    logger.info("handoff %s accepted by person %s", handoff.pk, actor.pk)
    return handoff


@transaction.atomic
def reject_implementation_handoff(handoff: Handoff, actor, reason: str, now=None):
    """Send the packet back to the AE, with the reason, for completion."""
    now = now or timezone.now()
    reason = reason.strip()
    if not reason:
        raise ActionRefused("Say what is missing or wrong: the AE reads it.")
    handoff = (
        Handoff.objects.select_for_update(of=("self",))
        .select_related("deal__owner")
        .get(pk=handoff.pk)
    )
    if not can_work_received_handoff(handoff, actor):
        raise ActionRefused("Only the receiving team can reject this handoff.")
    if handoff.state not in (Handoff.State.OPEN, Handoff.State.ACCEPTED):
        raise ActionRefused(f"This handoff is {handoff.get_state_display().lower()}.")

    handoff.reject()
    handoff.rejection_reason = reason
    handoff.closed_at = now
    handoff.save()
    # The work is back with sales: the receivers' clocks stop here.
    for milestone in handoff.milestones.filter(met_at__isnull=True):
        milestone.met_at = now
        milestone.save(update_fields=["met_at"])
        clocks.close_waiting_steps(
            milestone, now, "Not needed: the handoff was sent back to sales."
        )
    owner = handoff.deal.owner
    if owner is not None:
        notify(
            owner,
            event_key=f"handoff:{handoff.pk}:rejected",
            topic=Topic.REASSIGNMENT,
            subject=f"Handoff sent back: {handoff.deal.name}",
            body=f"{actor} sent the implementation handoff back: {reason}",
            url="",
            now=now,
        )
    logger.info("handoff %s rejected by person %s", handoff.pk, actor.pk)
    return handoff


@transaction.atomic
def rate_handoff(handoff: Handoff, actor, marks: dict, comment: str = "", now=None):
    """The receiving side marks the handoff 1-5 on each count, once.

    A second rating by the receivers replaces the first; `marks` names each
    dimension of `HandoffRating.DIMENSIONS`. Bad marks are refused by name.
    """
    now = now or timezone.now()
    if not can_work_received_handoff(handoff, actor):
        raise ActionRefused("Only the receiving team rates a handoff.")
    if handoff.state not in (Handoff.State.ACCEPTED, Handoff.State.COMPLETED):
        raise ActionRefused("Accept the handoff before rating it.")
    errors = {
        name: f"{label}: give a whole mark from 1 to 5."
        for name, label in HandoffRating.DIMENSIONS
        if not is_mark(marks.get(name))
    }
    if errors:
        raise RatingRefused(errors)

    rating, _ = HandoffRating.objects.update_or_create(
        handoff=handoff,
        defaults={
            "rated_by": actor,
            "comment": comment.strip(),
            "rated_at": now,
            **{name: int(marks[name]) for name, _ in HandoffRating.DIMENSIONS},
        },
    )
    logger.info("handoff %s rated %.1f", handoff.pk, rating.average)
    return rating


def is_mark(value) -> bool:
    try:
        return 1 <= int(value) <= 5 and str(value).strip().isdigit()
    except (TypeError, ValueError):
        return False


class RatingRefused(ActionRefused):
    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__(" ".join(errors.values()))
