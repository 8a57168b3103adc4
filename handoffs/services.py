"""Every write on leads and their handoffs goes through these functions.

The form, the API, the importer, the admin and the tasks all call them, so
validation, deduplication, matching, scoring, routing and clocks are the same
whatever door a lead came through.
"""

import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from bowtie.domains import is_free_mail
from bowtie.models import AccountDomain, Person
from bowtie.notifications import in_zone_of, notify
from handoffs import clocks
from handoffs.classification import classify_lead
from handoffs.models import (
    Handoff,
    Lead,
    LeadType,
    Milestone,
    RoutingDecision,
    ScoringModel,
    Touch,
)
from handoffs.normalisation import normalise_submission
from handoffs.routing import route_lead
from handoffs.scoring import score_lead

logger = logging.getLogger(__name__)


class IntakeRejected(Exception):
    """The submission has bad fields; nothing was stored."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


class ActionRefused(Exception):
    """A lead action that the lead's state or the actor's role does not allow."""


@dataclass
class IntakeResult:
    lead: Lead
    created: bool


def match_account(email_domain: str):
    """Find the account of a registered domain; free-mail never matches."""
    if not email_domain or is_free_mail(email_domain):
        return None
    match = (
        AccountDomain.objects.select_related("account__owner")
        .filter(domain=email_domain)
        .first()
    )
    return match.account if match else None


def find_open_cycle(values: dict):
    query = Lead.objects.select_for_update().filter(closed_at__isnull=True)
    if values["email"]:
        return query.filter(email=values["email"]).first()
    return query.filter(
        external_source=values["external_source"], external_id=values["external_id"]
    ).first()


def find_last_cycle(values: dict):
    query = Lead.objects.filter(closed_at__isnull=False).order_by("-cycle")
    if values["email"]:
        return query.filter(email=values["email"]).first()
    return query.filter(
        external_source=values["external_source"], external_id=values["external_id"]
    ).first()


def intake_lead(
    submission: dict,
    *,
    channel: str,
    now=None,
    historical: bool = False,
    status: str = Lead.Status.NEW,
) -> IntakeResult:
    """Take in one lead submission from any door.

    Raises IntakeRejected, naming each bad field, before anything is written.
    A repeat inside an open cycle becomes a touch on that lead and leaves its
    clock alone. `historical` records imported history: routed, but no clock.
    """
    now = now or timezone.now()
    clean = normalise_submission(submission)
    if clean.errors:
        raise IntakeRejected(clean.errors)

    values = clean.values
    try:
        with transaction.atomic():
            open_lead = find_open_cycle(values)
            if open_lead is not None:
                record_repeat(open_lead, clean.engagement, channel, now)
                return IntakeResult(open_lead, created=False)
            lead = create_lead(
                values, clean.engagement, channel, now, historical, status
            )
    except IntegrityError:
        # Another request opened this person's cycle a moment ago: this one is
        # a repeat of it. The partial unique index settled the race.
        with transaction.atomic():
            open_lead = find_open_cycle(values)
            if open_lead is None:
                raise
            record_repeat(open_lead, clean.engagement, channel, now)
        return IntakeResult(open_lead, created=False)
    return IntakeResult(lead, created=True)


def record_repeat(lead: Lead, engagement: dict, channel: str, now) -> None:
    Touch.objects.create(
        lead=lead,
        kind=Touch.Kind.SUBMISSION,
        channel=channel,
        occurred_at=now,
        details={"engagement": engagement} if engagement else {},
    )
    Lead.objects.filter(pk=lead.pk).update(touch_count=F("touch_count") + 1)
    lead.touch_count += 1
    logger.info("lead %s touched again through %s", lead.pk, channel)


def create_lead(values, engagement, channel, now, historical, status) -> Lead:
    previous = find_last_cycle(values)
    account = match_account(values["email_domain"])
    lead_type = classify_lead(values)

    lead = Lead(
        **{name: value for name, value in values.items()},
        engagement=engagement,
        lead_type=lead_type,
        channel=channel,
        account=account,
        received_at=now,
        is_historical=historical,
        status=status,
        cycle=previous.cycle + 1 if previous else 1,
        previous_cycle=previous,
    )
    if account is not None:
        lead.company_name = lead.company_name or account.name
        lead.industry = lead.industry or account.industry
        lead.employee_count = lead.employee_count or account.employee_count
    if lead_type != LeadType.HAND_RAISER:
        apply_score(lead, values, engagement, account is not None)
    if status not in Lead.OPEN_STATUSES:
        lead.closed_at = now

    # Routed before the first save, so the audit history starts with the owner.
    # If the save then loses a race for this person's open cycle, the whole
    # transaction rolls back, rotation pointer included.
    outcome = route_lead(
        values | {"lead_type": lead_type, "score": lead.score}, account, now
    )
    lead.team = outcome.team
    lead.owner = outcome.person
    with transaction.atomic():
        lead.save()

    RoutingDecision.objects.create(
        lead=lead,
        step=outcome.step,
        rule=outcome.rule,
        team=outcome.team,
        person=outcome.person,
        reason=outcome.reason,
        candidates=outcome.candidates,
        decided_at=now,
    )
    Touch.objects.create(
        lead=lead, kind=Touch.Kind.SUBMISSION, channel=channel, occurred_at=now
    )

    handoff = Handoff.objects.create(
        kind=Handoff.Kind.LEAD_TO_SALES,
        lead=lead,
        receiving_team=outcome.team,
        receiver=outcome.person,
        opened_at=now,
        packet=lead_packet(lead),
    )
    if historical or status not in Lead.OPEN_STATUSES:
        return lead

    clocks.start_clocks(handoff, lead_type, now)
    announce_new_lead(lead, handoff, now)
    logger.info(
        "lead %s created and routed to person %s",
        lead.pk,
        outcome.person.pk if outcome.person else None,
    )
    return lead


def apply_score(lead: Lead, values: dict, engagement: dict, account_matched: bool):
    weights = ScoringModel.current().as_dict()
    score = score_lead(
        values | {"account_matched": account_matched}, engagement, weights
    )
    lead.fit_score = score.fit
    lead.intent_score = score.intent
    lead.third_party_score = score.third_party
    lead.score = score.total
    lead.score_weights = score.weights


def lead_packet(lead: Lead) -> dict:
    """The context that travels with the lead to sales (DESIGN.md §2)."""
    account = lead.account
    return {
        "firmographics": {
            "company": lead.company_name,
            "account_id": account.pk if account else None,
            "industry": lead.industry,
            "employee_count": lead.employee_count,
            "country": lead.country,
            "size": account.size if account else "",
        },
        "engagement": lead.engagement,
        "score": {
            "fit": lead.fit_score,
            "intent": lead.intent_score,
            "third_party": lead.third_party_score,
            "total": lead.score,
            "weights": lead.score_weights,
        },
        "buying_group": buying_group(lead),
    }


def buying_group(lead: Lead) -> list[dict]:
    if lead.account is None:
        return []
    contacts = lead.account.contacts.exclude(email=lead.email).order_by("last_name")
    return [
        {"name": str(contact), "email": contact.email, "title": contact.job_title}
        for contact in contacts[:20]
    ]


def lead_url(lead: Lead) -> str:
    return reverse("lead-detail", args=[lead.pk])


def announce_new_lead(lead: Lead, handoff: Handoff, now) -> None:
    first_response = handoff.milestones.filter(key=Milestone.Key.FIRST_RESPONSE).first()
    if lead.owner is not None:
        recipient, subject = lead.owner, f"New lead: {lead.display_name}"
    elif lead.team is not None and lead.team.head is not None:
        recipient = lead.team.head
        subject = f"Lead waiting in the {lead.team} fallback queue"
    else:
        return

    # With the date: a nurture lead is due days later, not at that hour today.
    due = (
        f" Respond by {in_zone_of(recipient, first_response.due_at)}."
        if first_response
        else ""
    )
    notify(
        recipient,
        event_key=f"lead:{lead.pk}:assigned:{handoff.pk}",
        subject=subject,
        body=f"{lead.get_lead_type_display()} lead from {lead.company_name or '?'}."
        + due,
        url=lead_url(lead),
        now=now,
    )


def check_can_work(lead: Lead, actor: Person) -> None:
    if not lead.is_open:
        raise ActionRefused("This lead's cycle is closed.")
    if lead.owner_id == actor.pk:
        return
    if actor.role in (Person.Role.MANAGER, Person.Role.REVOPS_ADMIN):
        return
    if lead.owner_id is None and lead.team_id == actor.team_id:
        return
    raise ActionRefused("Only the owner, their manager or RevOps can work this lead.")


def lead_handoff(lead: Lead) -> Handoff:
    return lead.handoffs.filter(kind=Handoff.Kind.LEAD_TO_SALES).latest("opened_at")


@transaction.atomic
def accept_lead(lead: Lead, actor: Person, now=None) -> Lead:
    """The receiver takes the lead; a queued lead is claimed by whoever accepts."""
    now = now or timezone.now()
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    check_can_work(lead, actor)
    handoff = lead_handoff(lead)
    if handoff.state != Handoff.State.OPEN:
        raise ActionRefused("This handoff was already accepted.")

    if lead.owner_id is None:
        lead.owner = actor
        RoutingDecision.objects.create(
            lead=lead,
            step=RoutingDecision.Step.MANUAL,
            team=lead.team,
            person=actor,
            reason=f"{actor} took the lead from the queue.",
            decided_at=now,
        )
    lead.status = Lead.Status.WORKING
    lead.save(update_fields=["owner", "status", "updated_at"])
    handoff.receiver = lead.owner
    handoff.accept()
    handoff.accepted_at = now
    handoff.save()
    logger.info("lead %s accepted by person %s", lead.pk, actor.pk)
    return lead


@transaction.atomic
def log_touch(lead: Lead, actor: Person, kind: str, notes: str = "", now=None) -> Touch:
    """Record a call, e-mail or meeting; the first one stops the response clock."""
    now = now or timezone.now()
    if kind not in Touch.RESPONSE_KINDS:
        raise ActionRefused(f"{kind!r} is not a touch a person can log.")
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    check_can_work(lead, actor)

    touch = Touch.objects.create(
        lead=lead, kind=kind, actor=actor, occurred_at=now, notes=notes
    )
    if lead.first_response_at is None:
        lead.first_response_at = now
        if lead.owner_id is None:
            lead.owner = actor
        lead.status = Lead.Status.WORKING
        lead.save(update_fields=["first_response_at", "owner", "status", "updated_at"])
        clocks.meet_milestone(lead_handoff(lead), Milestone.Key.FIRST_RESPONSE, now)
    logger.info("lead %s touched by person %s (%s)", lead.pk, actor.pk, kind)
    return touch


DISPOSITIONS = {
    Lead.Status.QUALIFIED: "complete",
    Lead.Status.DISQUALIFIED: "reject",
    Lead.Status.NURTURE: "complete",
}


@transaction.atomic
def disposition_lead(
    lead: Lead, actor: Person, status: str, reason: str = "", now=None
) -> Lead:
    """Close the cycle: qualified (SQL), disqualified with a reason, or nurture."""
    now = now or timezone.now()
    if status not in DISPOSITIONS:
        raise ActionRefused(f"{status!r} is not a disposition.")
    if status == Lead.Status.DISQUALIFIED and not reason.strip():
        raise ActionRefused("A disqualification needs a reason.")
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    check_can_work(lead, actor)

    handoff = lead_handoff(lead)
    if DISPOSITIONS[status] == "reject":
        handoff.reject()
        handoff.rejection_reason = reason.strip()
    else:
        if handoff.state == Handoff.State.OPEN:
            handoff.accept()
            handoff.accepted_at = now
        handoff.complete()
    handoff.closed_at = now
    handoff.save()

    lead.status = status
    lead.disqualification_reason = reason.strip()
    lead.closed_at = now
    lead.owner = lead.owner or actor
    # Looking at a lead and closing it is a response, even without a touch.
    lead.first_response_at = lead.first_response_at or now
    lead.save()
    # Closing the cycle settles every clock still running on it.
    for key in handoff.milestones.filter(met_at__isnull=True).values_list(
        "key", flat=True
    ):
        clocks.meet_milestone(handoff, key, now)
    logger.info("lead %s dispositioned %s by person %s", lead.pk, status, actor.pk)
    return lead
