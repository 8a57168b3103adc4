"""Close a deal won: the packet gate, then the handoff and the renewal, once.

`close_deal_won` is the one way a live deal reaches Closed Won. The deal page
and the admin's deal form call it; the deals API, the import of deal updates
and the inbound CRM webhook reach it through `handoffs.deal_changes`. It
refuses a deal whose packet lacks a required item and names each one. Run
twice, at once or by a retried webhook, it changes nothing the second time:
the deal row is locked for the close, and the database holds one
implementation handoff per deal and one renewal.

After the close, the receivers accept or send the handoff back; a send-back
starts the AE's own clock until they send it again. The same accept, send-back
and resubmission serve the Implementation -> CS handoff that hypercare's end
opens (`partners.handover`); `FLOWS` holds what differs by kind.
"""

import logging
from dataclasses import dataclass
from datetime import UTC, date
from zoneinfo import ZoneInfo

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from bowtie.models import Deal, EventType, Pipeline, Stage, Team, Topic
from bowtie.notifications import Notice, notify, notify_many
from handoffs import clocks, involvement, webhook_events
from handoffs.models import (
    Handoff,
    HandoffParticipant,
    HandoffRating,
    HandoffTask,
    OwedBy,
    PacketItem,
    SlaPolicy,
)
from handoffs.packets import Assessment, assess_packet
from handoffs.queries import received_handoffs
from handoffs.renewals import build_renewal, find_first_renewal_stage
from handoffs.services import ActionRefused

logger = logging.getLogger(__name__)

KIND = Handoff.Kind.SALES_TO_IMPLEMENTATION
CS_KIND = Handoff.Kind.IMPLEMENTATION_TO_CS


class PacketIncomplete(ActionRefused):
    """The packet lacks required items; each is named."""

    def __init__(
        self,
        assessment: Assessment,
        needs: str = "Closed Won needs a complete handoff packet.",
    ):
        self.assessment = assessment
        super().__init__(
            f"{needs} Missing: "
            + " ".join(missing.text for missing in assessment.missing)
        )


@dataclass(frozen=True)
class Flow:
    """What accepting, sending back and sending again differ in, by kind."""

    # The receivers' clock that acceptance stops.
    accepted_clock: str
    # Who a send-back goes to, and their side, as the pages name them.
    sender_title: str
    sender_side: str
    only_sender: str
    packet_needed: str


FLOWS = {
    KIND: Flow(
        accepted_clock="ae_briefing",
        sender_title="the AE",
        sender_side="sales",
        only_sender="Only the deal's AE or their manager sends it again.",
        packet_needed="Closed Won needs a complete handoff packet.",
    ),
    CS_KIND: Flow(
        accepted_clock="cs_accepted",
        sender_title="the implementation lead",
        sender_side="implementation",
        only_sender="Only the implementation lead or their manager sends it again.",
        packet_needed="Customer success takes over with a complete CS packet.",
    ),
}


def flow_of(handoff: Handoff) -> Flow:
    flow = FLOWS.get(handoff.kind)
    if flow is None:
        raise ActionRefused(
            f"{handoff.get_kind_display()} handoffs are not accepted or sent back here."
        )
    return flow


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


def is_packet_open(deal: Deal, handoff: Handoff | None) -> bool:
    """A live new-business deal takes packet edits while open, and once won
    only while the receivers have sent its handoff back."""
    if deal.is_historical or deal.pipeline.kind != Pipeline.Kind.NEW_BUSINESS:
        return False
    if deal.stage.outcome == Stage.Outcome.OPEN:
        return True
    return handoff is not None and handoff.state == Handoff.State.REJECTED


def find_implementation_handoff(deal: Deal) -> Handoff | None:
    return Handoff.objects.filter(deal=deal, kind=KIND).first()


@transaction.atomic
def save_deal_packet(deal: Deal, packet: dict, actor=None) -> Assessment:
    """Store a draft of the packet and its completeness.

    Checked under the deal's lock: a draft saved as the deal closes must not
    land on the won deal's final packet.
    """
    deal = Deal.objects.select_for_update().get(pk=deal.pk)
    if not is_packet_open(deal, find_implementation_handoff(deal)):
        raise ActionRefused("This deal's packet is final: it is closed.")
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
    if deal.owner is None:
        # The AE answers for the packet: a send-back needs someone to go to.
        raise ActionRefused("Give the deal an owner, the AE, before closing it.")

    assessment = assess_deal_packet(deal)
    if not assessment.is_complete:
        raise PacketIncomplete(assessment)

    won_stage = deal.pipeline.stages.filter(outcome=Stage.Outcome.WON).first()
    if won_stage is None:
        raise ActionRefused(f"The pipeline {deal.pipeline} has no won stage.")
    deal.stage = won_stage
    deal.closed_on = closing_day(deal, now)
    deal.packet_completeness = assessment.completeness
    deal.save(update_fields=["stage", "closed_on", "packet_completeness", "updated_at"])

    handoff = open_implementation_handoff(deal, now)
    renewal = create_renewal(deal)
    # Only here, past the early return of a deal won before: once per close.
    webhook_events.publish_closed_won(deal, handoff, renewal, now)
    logger.info(
        "deal %s closed won: handoff %s, renewal %s", deal.pk, handoff.pk, renewal.pk
    )
    return ClosedWon(deal, handoff, renewal, is_new=True)


def closing_day(deal: Deal, now) -> date:
    # The day it closed where the AE works: near midnight UTC's date is not.
    zone = ZoneInfo(deal.owner.time_zone) if deal.owner else UTC
    return now.astimezone(zone).date()


def already_won(deal: Deal) -> ClosedWon:
    handoff = find_implementation_handoff(deal)
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
    value = involvement.annual_value_in_euros(deal)
    model = involvement.involvement_for(deal, value)
    handoff = Handoff.objects.create(
        kind=KIND,
        deal=deal,
        sending_team=deal.owner.team if deal.owner else None,
        sender=deal.owner,
        receiving_team=team,
        opened_at=now,
        packet=deal.packet,
        involvement=model,
        annual_value_eur=value,
    )
    milestones = clocks.start_clocks(handoff, "", now)
    kickoff = next((m for m in milestones if m.key == "kickoff_scheduled"), None)
    HandoffTask.objects.bulk_create(
        HandoffTask(
            handoff=handoff, title=task.title, owner=task.owner, due_at=task.due_at
        )
        for task in involvement.planned_tasks(
            model,
            deal,
            kickoff.due_at if kickoff else now,
            now,
            implementation_lead=team.head if team is not None else None,
        )
    )
    HandoffParticipant.objects.bulk_create(
        HandoffParticipant(
            handoff=handoff,
            person=planned.person,
            role=planned.role,
            copy_ends_at=planned.copy_ends_at,
        )
        for planned in involvement.planned_participants(model, deal, now)
    )
    if team is not None and team.head is not None:
        notify(
            team.head,
            event_key=f"handoff:{handoff.pk}:opened",
            topic=Topic.NEW_WORK,
            subject=f"Closed won, for implementation: {deal.name}",
            body=f"{deal.owner or 'Sales'} closed {deal.name}; the packet is "
            "complete and the first clocks are running.",
            url=handoff_path(handoff),
            now=now,
        )
    return handoff


def handoff_path(handoff: Handoff) -> str:
    return reverse("handoff-detail", args=[handoff.pk])


def create_renewal(deal: Deal) -> Deal:
    # Raised inside the close's transaction, a refusal leaves the deal open.
    renewal = build_renewal(deal, find_first_renewal_stage())
    renewal.save()
    return renewal


def can_work_received_handoff(handoff: Handoff, actor) -> bool:
    return received_handoffs(actor, handoff.kind).filter(pk=handoff.pk).exists()


@transaction.atomic
def accept_implementation_handoff(handoff: Handoff, actor, now=None) -> Handoff:
    """The receiving side takes the handoff; an open one only.

    Implementation takes a won deal, customer success an implementation; the
    kind's acceptance clock stops.
    """
    now = now or timezone.now()
    handoff = Handoff.objects.select_for_update().get(pk=handoff.pk)
    flow = flow_of(handoff)
    if not can_work_received_handoff(handoff, actor):
        raise ActionRefused("Only the receiving team can accept this handoff.")
    if handoff.state != Handoff.State.OPEN:
        raise ActionRefused(f"This handoff is {handoff.get_state_display().lower()}.")

    handoff.accept()
    handoff.accepted_at = now
    if handoff.receiver is None:
        handoff.receiver = actor
    handoff.save()
    clocks.meet_milestone(handoff, flow.accepted_clock, now)
    webhook_events.publish_handoff(EventType.HANDOFF_ACCEPTED, handoff, actor, now)
    copy_participants(
        handoff, "accepted", f"{actor} accepted the handoff.", now, told=[actor]
    )
    logger.info("handoff %s accepted by person %s", handoff.pk, actor.pk)
    return handoff


@transaction.atomic
def record_first_check_in(handoff: Handoff, actor, now=None) -> Handoff:
    """Customer success held its first check-in with the customer.

    Stops the Implementation -> CS handoff's `first_check_in` clock; only the
    receiving team, and only once it has accepted the handoff.
    """
    now = now or timezone.now()
    handoff = Handoff.objects.select_for_update(of=("self",)).get(pk=handoff.pk)
    if handoff.kind != CS_KIND:
        raise ActionRefused("A first check-in belongs to a customer-success handoff.")
    if not can_work_received_handoff(handoff, actor):
        raise ActionRefused("Only customer success records its check-in.")
    if handoff.state not in (Handoff.State.ACCEPTED, Handoff.State.COMPLETED):
        raise ActionRefused("Accept the handoff before recording the check-in.")

    if not clocks.meet_milestone(handoff, "first_check_in", now):
        raise ActionRefused("The first check-in is recorded already.")
    logger.info("handoff %s first check-in by person %s", handoff.pk, actor.pk)
    return handoff


@transaction.atomic
def reject_implementation_handoff(handoff: Handoff, actor, reason: str, now=None):
    """Send the packet back to its sender, with the reason and a clock to answer.

    The receivers' running clocks end without a verdict, as they no longer
    owe the work; the history keeps them. The sender's clock (the policies
    that start when a handoff is sent back) runs on the sender's calendar
    until they send it again. The AE hears of a deal's handoff sent back, the
    implementation lead of a customer-success one.
    """
    now = now or timezone.now()
    flow = flow_of(handoff)
    reason = reason.strip()
    if not reason:
        raise ActionRefused(
            f"Say what is missing or wrong: {flow.sender_title} reads it."
        )
    handoff = (
        Handoff.objects.select_for_update(of=("self",))
        .select_related("deal__owner", "sender", "sending_team")
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
    end_receivers_clocks(handoff, now)
    start_sender_clocks(handoff, now)
    webhook_events.publish_handoff(
        EventType.HANDOFF_REJECTED, handoff, actor, now, reason=reason
    )

    told = tell_sender_sent_back(handoff, actor, reason, now)
    copy_participants(
        handoff, "sent back", f"{actor} sent it back: {reason}", now, told=[told]
    )
    logger.info("handoff %s rejected by person %s", handoff.pk, actor.pk)
    return handoff


def tell_sender_sent_back(handoff: Handoff, actor, reason: str, now):
    """Tell the sender's side the work is back with them; return who was told."""
    if handoff.kind == CS_KIND:
        # The implementation lead, or their team's head if they have left.
        person = clocks.answerable_person(handoff, OwedBy.SENDER)
        subject = f"CS handoff sent back: {handoff.deal.name}"
        body = (
            f"{actor} sent the customer-success handoff back: {reason} Complete "
            "the CS packet on the engagement and send it again."
        )
        engagement = getattr(handoff, "delivered_engagement", None)
        url = (
            reverse("engagement-detail", args=[engagement.pk])
            if engagement is not None
            else handoff_path(handoff)
        )
    else:
        person = handoff.deal.owner
        subject = f"Handoff sent back: {handoff.deal.name}"
        body = (
            f"{actor} sent the implementation handoff back: {reason} "
            "Complete the packet on the deal page and send it again."
        )
        url = reverse("deal-detail", args=[handoff.deal_id])
    if person is None:
        return None

    notify(
        person,
        event_key=f"handoff:{handoff.pk}:rejected:{now.isoformat()}",
        topic=Topic.REASSIGNMENT,
        subject=subject,
        body=body,
        url=url,
        now=now,
    )
    return person


def end_receivers_clocks(handoff: Handoff, now) -> None:
    """The receivers owe nothing once the work is back with the sender.

    Running clocks go (one by one, so the audit history records each); a
    breached one stays a fact, but its waiting rungs close: nobody is to be
    escalated for work they no longer have.
    """
    flow = FLOWS.get(handoff.kind, FLOWS[KIND])
    unmet = handoff.milestones.filter(owed_by=OwedBy.RECEIVERS, met_at__isnull=True)
    for milestone in unmet:
        if milestone.breached_at is None:
            milestone.delete()
        else:
            clocks.close_waiting_steps(
                milestone,
                now,
                f"Not needed: the handoff was sent back to {flow.sender_side}.",
            )


def start_sender_clocks(handoff: Handoff, now) -> None:
    """Start the sender's clocks, a round of its own for each send-back, so a
    breach of an earlier round stays on record."""
    policies = clocks.policies_for(
        handoff.kind, starts_when=SlaPolicy.StartsWhen.SENT_BACK
    )
    earlier = handoff.milestones.filter(owed_by=OwedBy.SENDER).count()
    rounds = len(policies) and earlier // len(policies)
    suffix = f"-{rounds + 1}" if rounds else ""
    clocks.start_clocks(
        handoff, "", now, policies=policies, owed_by=OwedBy.SENDER, key_suffix=suffix
    )


def can_resubmit(handoff: Handoff, actor) -> bool:
    """The sender, or their manager, sends it again; a deal's owner too.

    For a customer-success handoff the sender is the implementation lead; a
    partner's people send theirs again through `partners.handover`.
    """
    people = {handoff.sender} - {None}
    if handoff.kind == KIND:
        people |= {handoff.deal.owner} - {None}
    return actor in people or any(person.manager_id == actor.pk for person in people)


def lock_sent_back(handoff: Handoff) -> Handoff:
    handoff = Handoff.objects.select_for_update(of=("self",)).get(pk=handoff.pk)
    if handoff.state != Handoff.State.REJECTED:
        raise ActionRefused("Only a handoff sent back can be sent again.")
    return handoff


def find_draft_packet(handoff: Handoff) -> dict:
    """The packet as its sender keeps it: the deal's, or the engagement's."""
    if handoff.kind == CS_KIND:
        # Through the relation: handoffs does not import the partners app.
        return handoff.delivered_engagement.cs_packet or {}
    return handoff.deal.packet or {}


@transaction.atomic
def resubmit_implementation_handoff(handoff: Handoff, actor, now=None) -> Handoff:
    """The sender sends a sent-back handoff again, its packet complete this time.

    The AE does for a won deal's, the implementation lead for a
    customer-success one; see `send_again`.
    """
    now = now or timezone.now()
    handoff = lock_sent_back(handoff)
    if not can_resubmit(handoff, actor):
        raise ActionRefused(flow_of(handoff).only_sender)
    return send_again(handoff, actor, now, person=actor)


def send_again(handoff: Handoff, actor, now, person=None) -> Handoff:
    """Send a handoff again that `lock_sent_back` holds; the caller checked who.

    The sender's clock stops; the receivers get the new packet and fresh
    clocks for the milestones they had not met. `actor` is named in the
    notices; `person`, the vendor person acting, in the event and the log
    (none for a partner's person).
    """
    flow = flow_of(handoff)
    packet = find_draft_packet(handoff)
    assessment = assess_packet(packet_items(handoff.kind), packet)
    if not assessment.is_complete:
        raise PacketIncomplete(assessment, flow.packet_needed)

    deal = handoff.deal
    handoff.resubmit()
    handoff.packet = packet
    handoff.closed_at = None
    handoff.accepted_at = None
    handoff.save()
    sender_clocks = handoff.milestones.filter(owed_by=OwedBy.SENDER, met_at=None)
    for key in sender_clocks.values_list("key", flat=True):
        clocks.meet_milestone(handoff, key, now)
    # Met or breached, a receiver's milestone of the first round stays; the
    # ones sent back before they were due start again.
    done = set(handoff.milestones.values_list("key", flat=True))
    policies = [
        policy
        for policy in clocks.policies_for(handoff.kind)
        if policy.milestone_key not in done
    ]
    clocks.start_clocks(handoff, "", now, policies=policies)
    if handoff.kind == KIND:
        Deal.objects.filter(pk=deal.pk).update(
            packet_completeness=assessment.completeness, updated_at=now
        )
    webhook_events.publish_handoff(EventType.HANDOFF_RESUBMITTED, handoff, person, now)

    receivers = list_receivers_to_tell(handoff)
    for receiver in receivers:
        notify(
            receiver,
            event_key=f"handoff:{handoff.pk}:resubmitted:{now.isoformat()}",
            topic=Topic.NEW_WORK,
            subject=f"Handoff sent again: {deal.name}",
            body=f"{actor} completed the packet after: {handoff.rejection_reason}",
            url=handoff_path(handoff),
            now=now,
        )
    copy_participants(
        handoff,
        "sent again",
        f"{actor} sent it again.",
        now,
        told=[person, *receivers],
    )
    logger.info(
        "handoff %s sent again by person %s",
        handoff.pk,
        person.pk if person is not None else None,
    )
    return handoff


def list_receivers_to_tell(handoff: Handoff) -> list:
    team = handoff.receiving_team
    head = team.head if team is not None else None
    return [person for person in {handoff.receiver, head} - {None} if person.is_active]


def copy_participants(handoff: Handoff, what: str, body: str, now, told=()) -> None:
    """Tell the participants still copied what happened, but not twice those
    `told` directly."""
    participants = handoff.participants.select_related("person").exclude(
        person__in=[person for person in told if person is not None]
    )
    notices = [
        Notice(
            participant.person,
            event_key=f"handoff:{handoff.pk}:{what}:{now.isoformat()}:copy",
            topic=Topic.NEW_WORK,
            subject=f"Handoff {what}: {handoff.deal or handoff.subject}",
            body=body,
            url=handoff_path(handoff),
        )
        for participant in participants
        if participant.is_copied_at(now) and participant.person.is_active
    ]
    notify_many(notices, now)


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
