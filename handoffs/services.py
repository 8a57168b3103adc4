"""Every write on leads and their handoffs goes through these functions.

The form, the API, the importer, the admin and the tasks all call them, so
validation, deduplication, matching, scoring, routing and clocks are the same
whatever door a lead came through.
"""

import hashlib
import logging
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from bowtie.calendars import calendar_for
from bowtie.compiled_queries import CompiledQuery, run_statement, run_together
from bowtie.domains import is_free_mail
from bowtie.models import Account, AccountDomain, Person, Topic
from bowtie.notifications import notify
from handoffs import clocks, metrics, webhook_events
from handoffs.classification import classify_lead
from handoffs.configuration_cache import (
    configuration_token_statement,
    current_configuration,
)
from handoffs.intake_writes import write_new_lead
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
from handoffs.queries import MANAGING_ROLES, managed_leads_filter
from handoffs.routing import (
    distribute_under_lock,
    finish_routing,
    route_history,
    route_lead,
)
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
    # What a new lead's intake wrote, so callers can answer without reading
    # it back; None on a repeat.
    decision: RoutingDecision | None = None
    first_response_due_at: datetime | None = None


def match_account(email_domain: str):
    """Find the account of a registered domain; free-mail never matches."""
    if not can_match_account(email_domain):
        return None
    return account_with_owner(ACCOUNT_OF_DOMAIN.first_value(email_domain))


def can_match_account(email_domain: str) -> bool:
    return bool(email_domain) and not is_free_mail(email_domain)


def account_with_owner(account_id: int | None):
    # The id alone is a cheap lookup; the account, its owner and their team
    # are loaded only when the domain is registered.
    if account_id is None:
        return None
    return Account.objects.select_related("owner__team").get(pk=account_id)


def cycles_of(values: dict):
    if values["email"]:
        return cycles_by_email(values["email"])
    return cycles_by_external_id(values["external_source"], values["external_id"])


def cycles_by_email(email: str):
    return Lead.objects.filter(email=email)


def cycles_by_external_id(source: str, external_id: str):
    return Lead.objects.filter(external_source=source, external_id=external_id)


def find_open_cycle(values: dict):
    return cycles_of(values).select_for_update().filter(closed_at__isnull=True).first()


def find_latest_cycle(values: dict):
    """The person's most recent cycle: the open one if there is one.

    A new cycle is only opened when none is open, and a closed one never
    reopens, so an open cycle is always the latest.
    """
    query, statement = latest_cycle_statement(values)
    rows = run_statement(*statement)
    return query.first_instance_of(rows)


def latest_cycle_statement(values: dict) -> tuple[CompiledQuery, tuple]:
    if values["email"]:
        return LATEST_CYCLE_BY_EMAIL, LATEST_CYCLE_BY_EMAIL.statement(values["email"])
    return LATEST_CYCLE_BY_EXTERNAL_ID, LATEST_CYCLE_BY_EXTERNAL_ID.statement(
        values["external_source"], values["external_id"]
    )


def latest_cycle(cycles):
    return cycles.only("id", "cycle", "closed_at").order_by("-cycle")[:1]


# Asked of every lead taken in: compiled once (bowtie.compiled_queries).
ACCOUNT_OF_DOMAIN = CompiledQuery(
    lambda domain: (
        AccountDomain.objects.filter(domain=domain)
        .values_list("account_id", flat=True)
        .order_by("pk")[:1]
    ),
    "example.org",
)
LATEST_CYCLE_BY_EMAIL = CompiledQuery(
    lambda email: latest_cycle(cycles_by_email(email)), "kim@example.org"
)
LATEST_CYCLE_BY_EXTERNAL_ID = CompiledQuery(
    lambda source, external_id: latest_cycle(
        cycles_by_external_id(source, external_id)
    ),
    "example-source",
    "example-id",
)


@dataclass
class FirstReads:
    """What an intake reads before it decides anything."""

    latest: Lead | None
    # The configuration's version token (handoffs.configuration_cache).
    token: str | None
    # The account of the e-mail's registered domain, when one matches.
    account_id: int | None


@contextmanager
def intakes_of_one_person(values: dict):
    """Let live intakes of one person take turns; intakes of others pass freely.

    Yields the first reads of the intake, made once the person's turn came:
    their latest cycle, the configuration's token and the account of their
    domain, in one round trip with the lock on PostgreSQL.

    A repeat that raced the submission opening a cycle then finds that cycle
    committed and becomes a touch without claiming a rotation turn. The partial
    unique index still guarantees one open cycle, whatever the door.

    On PostgreSQL this is an advisory lock on a hash of the person's key, taken
    for the session because it must outlast the intake's commit. Inside a
    caller's transaction (an import) no lock is taken: a session lock there
    could not be given back once the transaction failed, and the import holds
    team rows that a live intake under this lock waits for, which would
    deadlock. The unique indexes settle an import's races instead.
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        # SQLite lets one writer in at a time: intakes already take turns.
        yield read_first(values)
        return

    identity = (
        f"email:{values['email']}"
        if values["email"]
        else f"external:{values['external_source']}:{values['external_id']}"
    )
    # Two keys that share a hash only make two people take turns: harmless.
    digest = hashlib.blake2b(identity.encode(), digest_size=8).digest()
    key = int.from_bytes(digest, "big", signed=True)
    try:
        reads = read_first(values, lock_key=key)
    except Exception:
        # The lock may have been taken before a later read failed.
        give_back_advisory_lock(key, may_not_hold=True)
        raise
    try:
        yield reads
    finally:
        give_back_advisory_lock(key)


def read_first(values: dict, lock_key: int | None = None) -> FirstReads:
    """An intake's first reads, after the person's lock when a key is given.

    Each statement reads what committed before it began, so the latest cycle
    is read once the lock is held, as when the lock was a round trip apart.
    """
    cycle_query, cycle_statement = latest_cycle_statement(values)
    statements = [cycle_statement, configuration_token_statement()]
    domain = values["email_domain"]
    if can_match_account(domain):
        statements.append(ACCOUNT_OF_DOMAIN.statement(domain))
    if lock_key is not None:
        statements.insert(0, ("SELECT pg_advisory_lock(%s)", [lock_key]))

    results = run_together(statements)
    if lock_key is not None:
        results.pop(0)
    cycle_rows, token_rows, *account_rows = results
    return FirstReads(
        latest=cycle_query.first_instance_of(cycle_rows),
        token=token_rows[0][0] if token_rows else None,
        account_id=(
            ACCOUNT_OF_DOMAIN.first_value_of(account_rows[0]) if account_rows else None
        ),
    )


def give_back_advisory_lock(key: int, may_not_hold: bool = False) -> None:
    # Outside a transaction the body's own atomic blocks have ended, so this
    # runs whatever they did. Should it still fail, closing the connection is
    # the only other way to free the lock, rather than leave the person's
    # intakes waiting on a pooled connection.
    try:
        [(released,)] = run_statement("SELECT pg_advisory_unlock(%s)", [key])
    except Exception:
        logger.exception("advisory lock %s not given back: closing", key)
        connection.close()
        return
    if not released and not may_not_hold:
        logger.error("advisory lock %s was not held: closing the connection", key)
        connection.close()


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
    with intakes_of_one_person(values) as reads:
        latest = reads.latest
        if latest is not None and latest.is_open:
            open_lead = record_repeat_if_open(values, clean.engagement, channel, now)
            if open_lead is not None:
                return IntakeResult(open_lead, created=False)
            # Closed a moment ago: this submission opens the next cycle.
            latest = find_latest_cycle(values)

        def open_cycle_after(previous) -> IntakeResult:
            return create_lead(
                values,
                clean.engagement,
                channel,
                now,
                historical,
                status,
                previous,
                reads,
            )

        try:
            return open_cycle_after(latest)
        except IntegrityError:
            # Another intake (an import's, say) wrote this person's next cycle
            # a moment ago. If it is open, this submission is a repeat of it;
            # if closed, this one follows it.
            open_lead = record_repeat_if_open(values, clean.engagement, channel, now)
            if open_lead is not None:
                return IntakeResult(open_lead, created=False)
            return open_cycle_after(find_latest_cycle(values))


def record_repeat_if_open(values, engagement, channel, now) -> Lead | None:
    """Record a repeat on the person's open cycle; None when none is open."""
    with transaction.atomic():
        open_lead = find_open_cycle(values)
        if open_lead is None:
            return None
        record_repeat(open_lead, engagement, channel, now)
    return open_lead


def record_repeat(lead: Lead, engagement: dict, channel: str, now) -> None:
    Touch.objects.create(
        lead=lead,
        kind=Touch.Kind.SUBMISSION,
        channel=channel,
        occurred_at=now,
        details={"engagement": engagement} if engagement else {},
    )
    # updated_at too, as a save would: CRMs sync by it (updated_since).
    changed_at = timezone.now()
    Lead.objects.filter(pk=lead.pk).update(
        touch_count=F("touch_count") + 1, updated_at=changed_at
    )
    lead.touch_count += 1
    lead.updated_at = changed_at
    logger.info("lead %s touched again through %s", lead.pk, channel)


def create_lead(
    values, engagement, channel, now, historical, status, previous, reads: FirstReads
) -> IntakeResult:
    # Read again only when RevOps changed something since the last lead.
    configuration = current_configuration(reads.token)
    account = account_with_owner(reads.account_id)
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
        apply_score(
            lead,
            values,
            engagement,
            account is not None,
            weights=configuration.scoring_weights(),
        )
    if status not in Lead.OPEN_STATUSES:
        lead.closed_at = now
    starts_clocks = not historical and status in Lead.OPEN_STATUSES
    # Everything that only reads is done before the transaction, so a team
    # lock taken in it (capacity-based routing) is held for writes alone.
    policies = (
        configuration.policies_for(Handoff.Kind.LEAD_TO_SALES, lead_type)
        if starts_clocks
        else []
    )
    packet = lead_packet(lead)

    # Routed before the first save, so the audit history starts with the owner.
    # A round-robin turn is claimed before the transaction opens; a team that
    # routes by open-lead counts is settled as the transaction's first step.
    fields = values | {"lead_type": lead_type, "score": lead.score}
    # History takes no rotation turn: it would shift the live order, and make
    # today's reps the owners of leads they never had.
    outcome = (
        route_history(fields, account, configuration)
        if historical
        else route_lead(fields, account, now, configuration)
    )
    with transaction.atomic():
        outcome = finish_routing(outcome, fields, now)
        lead.team = outcome.team
        lead.owner = outcome.person
        written = write_new_lead(
            lead,
            outcome,
            channel=channel,
            packet=packet,
            now=now,
            is_live=starts_clocks,
            policies=policies,
            configuration=configuration,
        )
        if starts_clocks and lead.owner is not None:
            webhook_events.publish_lead_assigned(
                lead, "routed", now, endpoints=configuration.webhook_endpoints()
            )

    if starts_clocks:
        # Not for each row of an imported history: thousands of lines.
        logger.info(
            "lead %s created and routed to person %s",
            lead.pk,
            outcome.person.pk if outcome.person else None,
        )
    first_response = written.first_response
    return IntakeResult(
        lead,
        created=True,
        decision=written.decision,
        first_response_due_at=first_response.due_at if first_response else None,
    )


def apply_score(
    lead: Lead,
    values: dict,
    engagement: dict,
    account_matched: bool,
    weights: dict | None = None,
):
    if weights is None:
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


def check_can_work(lead: Lead, actor: Person) -> None:
    if not lead.is_open:
        raise ActionRefused("This lead's cycle is closed.")
    if lead.owner_id == actor.pk:
        return
    if (
        actor.role in MANAGING_ROLES
        and Lead.objects.filter(managed_leads_filter(actor), pk=lead.pk).exists()
    ):
        return
    if (
        lead.owner_id is None
        and lead.team_id
        and lead.team_id == actor.team_id
        and actor.role in Person.LEAD_TAKING_ROLES
    ):
        return
    raise ActionRefused("Only the owner, their manager or RevOps can work this lead.")


def lead_handoff(lead: Lead) -> Handoff:
    return lead.handoffs.filter(kind=Handoff.Kind.LEAD_TO_SALES).latest("opened_at")


def claim_from_queue(lead: Lead, handoff: Handoff, actor: Person, now) -> None:
    """Whoever first works a queued lead owns it, and the decision says so.

    The caller saves the lead; the handoff's receiver is saved here, so the
    lead, its handoff and its routing history always name the same person.
    """
    if lead.owner_id is not None:
        return
    lead.owner = actor
    RoutingDecision.objects.create(
        lead=lead,
        step=RoutingDecision.Step.MANUAL,
        team=lead.team,
        person=actor,
        reason=f"{actor} took the lead from the queue.",
        decided_at=now,
    )
    webhook_events.publish_lead_assigned(lead, "claimed", now)
    handoff.receiver = actor
    # The clocks keep the team's hours they ran on: whoever claims a queued
    # lead is answering it now, and a recount on their hours from the start
    # could turn a response in time into a breach after the fact.
    handoff.save(update_fields=["receiver", "updated_at"])


@transaction.atomic
def accept_lead(lead: Lead, actor: Person, now=None) -> Lead:
    """The receiver takes the lead; a queued lead is claimed by whoever accepts."""
    now = now or timezone.now()
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    check_can_work(lead, actor)
    handoff = lead_handoff(lead)
    if handoff.state != Handoff.State.OPEN:
        raise ActionRefused("This handoff was already accepted.")

    claim_from_queue(lead, handoff, actor, now)
    lead.status = Lead.Status.WORKING
    lead.save(update_fields=["owner", "status", "updated_at"])
    handoff.accept()
    handoff.accepted_at = now
    handoff.save()
    logger.info("lead %s accepted by person %s", lead.pk, actor.pk)
    return lead


RESPONSE_FIELDS = ("first_response_at", "response_seconds", "business_response_seconds")


def record_first_response(lead: Lead, now) -> bool:
    """Stamp the lead's first response on it; False if it already had one.

    The one place `first_response_at` is set (a logged touch, a disposition),
    so it is never written without the elapsed and business seconds that the
    dashboards aggregate. Business time runs on the owner's calendar as it
    stands at the response, the team's for a lead nobody owns: hours edited
    later leave a measured response alone. The caller saves RESPONSE_FIELDS.
    """
    if lead.first_response_at is not None:
        return False

    calendar = calendar_for(person=lead.owner, team=lead.team)
    lead.first_response_at = now
    lead.response_seconds, lead.business_response_seconds = metrics.response_seconds(
        calendar, lead.received_at, now
    )
    return True


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
        handoff = lead_handoff(lead)
        claim_from_queue(lead, handoff, actor, now)
        record_first_response(lead, now)
        lead.status = Lead.Status.WORKING
        lead.save(update_fields=[*RESPONSE_FIELDS, "owner", "status", "updated_at"])
        clocks.meet_milestone(handoff, Milestone.Key.FIRST_RESPONSE, now)
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
    claim_from_queue(lead, handoff, actor, now)
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
    # Looking at a lead and closing it is a response, even without a touch.
    record_first_response(lead, now)
    lead.save()
    # Closing the cycle settles every clock still running on it.
    for key in handoff.milestones.filter(met_at__isnull=True).values_list(
        "key", flat=True
    ):
        clocks.meet_milestone(handoff, key, now)
    logger.info("lead %s dispositioned %s by person %s", lead.pk, status, actor.pk)
    return lead


@dataclass
class Reassignment:
    former: Person | None
    successor: Person | None
    # Each member's candidacy, as on a routing decision, when nobody was found.
    candidates: list[dict]


@transaction.atomic
def reassign_lead(lead: Lead, now, why: str) -> Reassignment:
    """Give an open lead to another eligible member of its team.

    Never to anyone who had it before. Nobody eligible leaves it where it is;
    the caller says so, and the ladder's next rung escalates.
    """
    lead = (
        Lead.objects.select_for_update(of=("self",))
        .select_related("owner")
        .get(pk=lead.pk)
    )
    former = lead.owner
    if not lead.is_open or lead.team_id is None:
        return Reassignment(former, None, [])

    had_it = set(
        lead.decisions.exclude(person=None).values_list("person_id", flat=True)
    )
    if former is not None:
        had_it.add(former.pk)
    outcome = distribute_under_lock(
        lead.team, {"language": lead.language}, now, excluded=frozenset(had_it)
    )
    if outcome.person is None:
        return Reassignment(former, None, outcome.candidates)

    successor = outcome.person
    lead.owner = successor
    lead.save(update_fields=["owner", "updated_at"])
    handoff = lead_handoff(lead)
    handoff.receiver = successor
    handoff.save(update_fields=["receiver", "updated_at"])
    clocks.recompute_due_times(Milestone.objects.filter(handoff=handoff), now)
    decision = RoutingDecision.objects.create(
        lead=lead,
        step=RoutingDecision.Step.SLA_REASSIGNMENT,
        team=lead.team,
        person=successor,
        reason=f"{why} Reassigned from {former or 'the queue'} to {successor}, "
        f"the next eligible in {lead.team} who had not had it.",
        candidates=outcome.candidates,
        decided_at=now,
    )
    webhook_events.publish_lead_assigned(lead, "reassigned", now, previous_owner=former)

    notify(
        successor,
        event_key=f"lead:{lead.pk}:reassigned:{decision.pk}",
        topic=Topic.REASSIGNMENT,
        subject=f"Lead reassigned to you: {lead.display_name}",
        body=f"{why} It is yours now: respond as soon as you can.",
        url=lead_url(lead),
        now=now,
    )
    if former is not None:
        notify(
            former,
            event_key=f"lead:{lead.pk}:taken-away:{decision.pk}",
            topic=Topic.REASSIGNMENT,
            subject=f"Lead reassigned: {lead.display_name}",
            body=f"{why} It now belongs to {successor}.",
            url=lead_url(lead),
            now=now,
        )
    logger.info("lead %s reassigned to person %s", lead.pk, successor.pk)
    return Reassignment(former, successor, outcome.candidates)
