"""Hypercare's end: the CS packet, the hand-over to customer success, the sweep.

During hypercare the partner or the implementation side drafts the
Implementation -> CS packet on the engagement (`save_cs_packet`, starting
from `prefill_cs_packet`). Logging the hypercare end, or the hourly sweep
once the day it ends has come, hands the account over: `hand_over_to_cs`
opens the customer-success handoff with that packet and its clocks, once.
An incomplete packet is refused by name, and the sweep tells the
implementation lead once what it lacks.

Customer success then accepts, sends back or rates the handoff through the
services of `handoffs.closing`, as implementation does a won deal's; a
partner's people send a sent-back one again through `resubmit_cs_handoff`.

Locks are taken engagement first, then its handoffs, on every path here; a
person's send-again (`handoffs.closing`) locks the CS handoff and reads the
engagement without a lock.
"""

import logging
from datetime import UTC, datetime

from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone

from bowtie.models import EventType, ProductUsage, Team, Topic
from bowtie.notifications import Notice, notify, notify_many
from handoffs import clocks, webhook_events
from handoffs.closing import (
    CS_KIND,
    FLOWS,
    PacketIncomplete,
    handoff_path,
    lock_sent_back,
    packet_items,
    resubmit_implementation_handoff,
    send_again,
)
from handoffs.models import Handoff
from handoffs.packets import Assessment, assess_packet, filled
from handoffs.services import ActionRefused
from partners.actors import Actor
from partners.models import (
    CustomerSession,
    Engagement,
    ImplementationMilestone,
    ReadinessCondition,
)
from partners.services import (
    FieldsRefused,
    engagement_path,
    local_today,
    lock_engagement,
    publish_milestone_logged,
)

logger = logging.getLogger(__name__)

Status = Engagement.Status
Key = ReadinessCondition.Key

# Who the hourly sweep acts as: nobody's person, no partner.
SWEEP_ACTOR = Actor(name="Bowtie (hypercare sweep)")

# Features named in the adoption line; the rest are counted.
FEATURES_NAMED = 5


def assess_cs_packet(packet: dict) -> Assessment:
    return assess_packet(packet_items(CS_KIND), packet or {})


def is_system(actor: Actor) -> bool:
    return actor.person is None and not actor.is_partner


def lock_cs_handoff(engagement: Engagement) -> Handoff | None:
    if engagement.cs_handoff_id is None:
        return None
    return Handoff.objects.select_for_update(of=("self",)).get(
        pk=engagement.cs_handoff_id
    )


def is_cs_packet_open(engagement: Engagement, cs_handoff: Handoff | None) -> bool:
    """Drafted until customer success has the account, and again while they
    have sent its handoff back."""
    if cs_handoff is None:
        return engagement.status != Status.HANDED_TO_CS
    return cs_handoff.state == Handoff.State.REJECTED


@transaction.atomic
def save_cs_packet(
    engagement: Engagement, actor: Actor, packet: dict, now=None
) -> Assessment:
    """Store a draft of the CS packet and its completeness.

    Only the partner delivering it or the implementation side writes it (a
    partner's caller on another's is told it does not exist). Checked under
    the engagement's lock and the CS handoff's: a draft saved as the handoff
    is sent again must not land after it.
    """
    now = now or timezone.now()
    engagement = lock_engagement(engagement, actor)
    if not isinstance(packet, dict):
        raise FieldsRefused({"packet": "Send the packet as an object keyed by item."})
    if not is_cs_packet_open(engagement, lock_cs_handoff(engagement)):
        raise ActionRefused(
            "Customer success has this packet; it opens again only if they send "
            "it back."
        )

    assessment = assess_cs_packet(packet)
    engagement.cs_packet = packet
    engagement.cs_packet_completeness = assessment.completeness
    engagement.save(update_fields=["cs_packet", "cs_packet_completeness", "updated_at"])
    logger.info(
        "engagement %s CS packet saved at %s%%", engagement.pk, assessment.completeness
    )
    return assessment


def prefill_cs_packet(engagement: Engagement) -> dict:
    """A CS packet's starting values, from what Bowtie knows of the engagement.

    Sentiment and lessons are the implementation side's own to write, and
    so are open issues: a workaround is known only to whoever found it. Those
    items start empty.
    """
    deal_packet = engagement.deal.packet or {}
    readiness = {condition.key: condition for condition in engagement.readiness.all()}
    return {
        "scope_configuration": describe_scope(
            deal_packet, readiness.get(Key.TASKS_WORK)
        ),
        "training": list_training(engagement, readiness.get(Key.PEOPLE_TRAINED)),
        "open_issues": [],
        "stakeholders": list_stakeholders(deal_packet),
        "adoption": describe_adoption(engagement),
    }


def describe_scope(deal_packet: dict, tasks_work: ReadinessCondition | None) -> str:
    """What was built: the technical requirements sold, and the evidence that
    the customer's tasks work end to end."""
    lines = []
    for row in deal_packet.get("technical_requirements") or []:
        row = row if isinstance(row, dict) else {}
        if not filled(row.get("requirement")):
            continue
        area = row.get("area")
        lines.append(
            f"{area.capitalize()}: {row['requirement']}."
            if filled(area)
            else f"{row['requirement']}."
        )
    if tasks_work is not None and tasks_work.evidence:
        lines.append(f"Tasks work end to end: {tasks_work.evidence}")
    return "\n".join(lines)


def list_training(
    engagement: Engagement, people_trained: ReadinessCondition | None
) -> list[dict]:
    """A row per training session, by who came, and the go-live evidence."""
    rows = []
    sessions = (
        engagement.sessions.filter(kind=CustomerSession.Kind.TRAINING)
        .prefetch_related("invited", "attended")
        .order_by("held_on", "pk")
    )
    for session in sessions:
        invited = set(session.invited.all())
        attended = set(session.attended.all())
        absent = sorted(str(contact) for contact in invited - attended)
        if not attended:
            status, gap = "not trained", "Nobody recorded as attending."
        elif absent:
            status, gap = "partly trained", f"Absent: {', '.join(absent)}."
        else:
            status, gap = "trained", f"None: all {len(invited)} invited attended."
        rows.append(
            {
                "group": f"{session.title} ({session.held_on:%d %b %Y})",
                "status": status,
                "gap": gap,
            }
        )
    if people_trained is not None and people_trained.evidence:
        # The gap is the implementation side's to say: the evidence tells
        # who was trained, not who was not.
        rows.append(
            {
                "group": f"At go-live: {people_trained.evidence}",
                "status": "trained" if people_trained.is_met else "partly trained",
                "gap": "",
            }
        )
    return rows


def list_stakeholders(deal_packet: dict) -> list[dict]:
    """The deal's stakeholder map, as sales handed it over, to bring up to date."""
    return [
        {
            "person": row.get("person", ""),
            "role": row.get("role", ""),
            "sentiment": row.get("sentiment", ""),
        }
        for row in deal_packet.get("stakeholders") or []
        if isinstance(row, dict) and filled(row.get("person"))
    ]


def describe_adoption(engagement: Engagement) -> str:
    """Active days and features used since go-live, from the account's usage.

    Empty before go-live: there is no adoption to speak of yet.
    """
    went_live_on = (
        engagement.milestones.filter(kind=ImplementationMilestone.Kind.GO_LIVE)
        .values_list("actual_on", flat=True)
        .first()
    )
    if went_live_on is None or engagement.account_id is None:
        return ""

    usage = ProductUsage.objects.filter(
        account=engagement.account_id, used_on__gte=went_live_on
    )
    totals = usage.aggregate(days=Count("used_on", distinct=True))
    since = f"{went_live_on:%d %b %Y}"
    if not totals["days"]:
        return f"No product use recorded since go-live on {since}."
    features = list(
        usage.values("feature")
        .annotate(uses=Sum("usage_count"))
        .order_by("-uses", "feature")
        .values_list("feature", flat=True)
    )
    named = ", ".join(features[:FEATURES_NAMED])
    if len(features) > FEATURES_NAMED:
        named += f" and {len(features) - FEATURES_NAMED} more"
    return (
        f"Since go-live on {since}: {totals['days']} active days, "
        f"{len(features)} features used ({named})."
    )


def customer_success_team() -> Team | None:
    return (
        Team.objects.filter(function=Team.Function.CUSTOMER_SUCCESS)
        .select_related("head")
        .order_by("pk")
        .first()
    )


@transaction.atomic
def hand_over_to_cs(engagement: Engagement, actor: Actor, now=None) -> Handoff:
    """Open the Implementation -> CS handoff of a live engagement, once.

    Refused, naming each missing item, unless the CS packet is complete.
    The handoff carries the packet from the implementation lead (and the
    implementation handoff's receiving team) to the customer-success team
    and the account's owner if they belong to it; its clocks start. The
    hypercare end is recorded as done today if nobody logged it, the
    engagement is handed over, and an accepted sales -> implementation
    handoff is completed: implementation is done. Run again, it returns the
    handoff it opened and changes nothing.

    `actor` is `SWEEP_ACTOR` for the sweep; anyone else must work the
    engagement.
    """
    now = now or timezone.now()
    if is_system(actor):
        engagement = (
            Engagement.objects.select_for_update(of=("self",))
            .select_related("deal", "handoff")
            .get(pk=engagement.pk)
        )
    else:
        engagement = lock_engagement(engagement, actor)
    existing = Handoff.objects.filter(deal=engagement.deal_id, kind=CS_KIND).first()
    if existing is not None:
        return existing

    if engagement.status != Status.HYPERCARE:
        raise ActionRefused("Customer success takes over after go-live, in hypercare.")
    assessment = assess_cs_packet(engagement.cs_packet)
    if not assessment.is_complete:
        raise PacketIncomplete(assessment, FLOWS[CS_KIND].packet_needed)
    team = customer_success_team()
    if team is None:
        raise ActionRefused(
            "No customer-success team exists to take the account: RevOps sets "
            "one up first."
        )

    handoff = open_cs_handoff(engagement, team, now)
    record_hypercare_end(engagement, actor, now)
    engagement.cs_handoff = handoff
    engagement.status = Status.HANDED_TO_CS
    engagement.cs_packet_completeness = assessment.completeness
    engagement.save(
        update_fields=["cs_handoff", "status", "cs_packet_completeness", "updated_at"]
    )
    complete_implementation(engagement.handoff, now)

    webhook_events.publish_handoff(EventType.HANDOFF_OPENED, handoff, actor.person, now)
    tell_customer_success(handoff, engagement, now)
    logger.info(
        "engagement %s handed to customer success: handoff %s",
        engagement.pk,
        handoff.pk,
    )
    return handoff


def open_cs_handoff(engagement: Engagement, team: Team, now) -> Handoff:
    owner = engagement.account.owner if engagement.account_id else None
    is_owner_in_team = (
        owner is not None and owner.team_id == team.pk and owner.is_active
    )
    handoff = Handoff.objects.create(
        kind=CS_KIND,
        deal=engagement.deal,
        sending_team=engagement.handoff.receiving_team,
        sender=engagement.implementation_lead,
        receiving_team=team,
        receiver=owner if is_owner_in_team else None,
        opened_at=now,
        packet=engagement.cs_packet,
    )
    clocks.start_clocks(handoff, "", now)
    return handoff


def record_hypercare_end(engagement: Engagement, actor: Actor, now) -> None:
    ending = engagement.milestones.select_for_update().get(
        kind=ImplementationMilestone.Kind.HYPERCARE_END
    )
    if ending.is_done():
        return

    # The sweep hands over on the planned end, however late it runs: a
    # scheduler that was down must not make the partner look late.
    if actor is SWEEP_ACTOR and engagement.hypercare_ends_on is not None:
        ending.actual_on = engagement.hypercare_ends_on
    else:
        ending.actual_on = local_today(actor, now)
    ending.logged_by = actor.name
    ending.logged_by_user = actor.user
    ending.logged_at = now
    ending.save()
    publish_milestone_logged(engagement, ending, actor, now)


def complete_implementation(handoff: Handoff, now) -> None:
    """Complete the sales -> implementation handoff: its work is delivered."""
    # Locked after the engagement, where `assign_partner` locks it before: a
    # reassignment racing the hand-over deadlocks, and PostgreSQL fails one
    # of the two; the reassignment would be refused after it anyway.
    handoff = Handoff.objects.select_for_update(of=("self",)).get(pk=handoff.pk)
    if handoff.state != Handoff.State.ACCEPTED:
        logger.warning(
            "handoff %s left %s at hand-over to customer success",
            handoff.pk,
            handoff.state,
        )
        return

    handoff.complete()
    handoff.closed_at = now
    handoff.save()


def tell_customer_success(handoff: Handoff, engagement: Engagement, now) -> None:
    team = handoff.receiving_team
    people = {handoff.receiver, team.head} - {None}
    deal = engagement.deal
    notify_many(
        [
            Notice(
                person,
                event_key=f"handoff:{handoff.pk}:opened",
                topic=Topic.NEW_WORK,
                subject=f"Hypercare over, for customer success: {deal.name}",
                body=f"{engagement.delivered_by} delivered {deal.name}; the CS "
                "packet is complete and the first clocks are running.",
                url=handoff_path(handoff),
            )
            for person in sorted(people, key=lambda person: person.pk)
            if person.is_active
        ],
        now,
    )


@transaction.atomic
def resubmit_cs_handoff(engagement: Engagement, actor: Actor, now=None) -> Handoff:
    """Send the CS handoff that customer success sent back again.

    A partner's person sends their own engagement's (another partner's is
    not found, as everywhere in the partner area); a vendor person as
    `resubmit_implementation_handoff` allows: the implementation lead or
    their manager. The CS packet must be complete by then.
    """
    now = now or timezone.now()
    if not actor.is_partner:
        if actor.person is None:
            raise ActionRefused("A send-again is made by a person.")
        engagement = Engagement.objects.get(pk=engagement.pk)
        if engagement.cs_handoff_id is None:
            raise ActionRefused("Customer success has not had this account yet.")
        return resubmit_implementation_handoff(engagement.cs_handoff, actor.person, now)

    engagement = lock_engagement(engagement, actor)
    if engagement.cs_handoff_id is None:
        raise ActionRefused("Customer success has not had this account yet.")
    handoff = lock_sent_back(engagement.cs_handoff)
    return send_again(handoff, actor, now)


def sweep_hypercare(now: datetime) -> dict:
    """Hand over every engagement whose hypercare has ended, or say what its
    packet lacks.

    The day is UTC's. Each engagement is claimed alone, skipping one another
    sweep or a person holds, and checked again under the lock; a packet still
    incomplete is told to the implementation lead once for its end date, and
    looked at again by every sweep until it is complete.
    """
    today = now.astimezone(UTC).date()
    due_ids = list(
        Engagement.objects.filter(status=Status.HYPERCARE, hypercare_ends_on__lte=today)
        .order_by("hypercare_ends_on", "pk")
        .values_list("pk", flat=True)
    )
    counts = {"handed_over": 0, "incomplete": 0, "skipped": 0, "refused": 0}
    for engagement_id in due_ids:
        counts[sweep_engagement(engagement_id, today, now)] += 1
    return counts


def sweep_engagement(engagement_id: int, today, now) -> str:
    try:
        with transaction.atomic():
            engagement = (
                Engagement.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("deal", "handoff__receiving_team__head")
                .filter(
                    pk=engagement_id,
                    status=Status.HYPERCARE,
                    hypercare_ends_on__lte=today,
                )
                .first()
            )
            if engagement is None:
                return "skipped"

            assessment = assess_cs_packet(engagement.cs_packet)
            if not assessment.is_complete:
                tell_packet_lacking(engagement, assessment, now)
                return "incomplete"
            hand_over_to_cs(engagement, SWEEP_ACTOR, now)
            return "handed_over"
    except ActionRefused as refused:
        logger.error(
            "engagement %s not handed over: %s",
            engagement_id,
            refused,
            extra={"engagement_id": engagement_id},
        )
        return "refused"


def tell_packet_lacking(engagement: Engagement, assessment: Assessment, now) -> None:
    """Tell the implementation lead (or their team's head) once per end date."""
    lead = engagement.implementation_lead
    if lead is None or not lead.is_active:
        team = engagement.handoff.receiving_team
        lead = team.head if team is not None else None
    if lead is None or not lead.is_active:
        logger.warning("engagement %s: nobody to tell of its CS packet", engagement.pk)
        return

    notify(
        lead,
        event_key=(
            f"engagement:{engagement.pk}:hypercare_ended:"
            f"{engagement.hypercare_ends_on.isoformat()}"
        ),
        topic=Topic.SLA_BREACH,
        subject=f"Hypercare ended, CS packet incomplete: {engagement.deal.name}",
        body=f"Hypercare of {engagement.deal.name} ended on "
        f"{engagement.hypercare_ends_on:%d %b %Y}. Customer success takes over "
        "once the CS packet is complete; it lacks: "
        + " ".join(missing.text for missing in assessment.missing),
        url=engagement_path(engagement),
        now=now,
    )
