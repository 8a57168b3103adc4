"""Every write on expansion signals and on the CS -> Sales handoff.

The account page, the signals API, the admin and the rule job all call these,
so a signal is checked, deduplicated and told the same way whatever raised it,
and a signal becomes an expansion deal in one way only:

- `raise_signal`: a CSM on the account page, an integration over the API, or a
  rule over usage. An open signal of the same kind on the account is answered
  as it is, marked `is_repeat`; the partial unique constraint on open signals
  settles two raises at once.
- `dismiss_signal`, with a reason.
- `convert_signal`: the CSM turns a signal into an expansion deal of one of
  the three types, in that type's pipeline (its stages are data: bowtie
  migration 0019), linked to the account's latest won deal. A cross-sell asks
  whether losing the contract in the existing unit would affect closing this
  one; "no" makes a new-logo deal in the new-business pipeline with a
  customer-referral source, which later goes through the Closed Won gate. The
  owner follows the ownership bands (`bowtie.governance`) by the deal's
  annual value in EUR at the rate of the day it is created, which the deal
  keeps (`base_rate`), so a later rate never moves it. The CS -> Sales
  handoff opens with the CSM brief (`expansion.briefs`) as its packet and
  its clocks running.
- The owner's side: `accept_expansion` (meets "owner_accepted"),
  `record_joint_meeting` (meets "joint_meeting"), `send_expansion_back` to
  the CSM with a reason, and `move_expansion_stage` through the deal write
  path of `handoffs.deal_changes`; `complete_expansion` is the move to a won
  or lost stage, which completes the handoff. The CSM sends a handoff that
  came back again with `send_expansion_again`, the brief drawn afresh.

Each runs in one transaction; notifications are outbox rows and webhooks are
published inside it, so both exist exactly when the change committed.
"""

import json
import logging
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from djmoney.money import Money
from djmoney.settings import CURRENCY_CHOICES

from bowtie import webhooks
from bowtie.exchange import annual_value_in_base
from bowtie.governance import find_owner_for, owner_band_for_deal
from bowtie.models import (
    Account,
    Deal,
    EventType,
    OwnershipBand,
    Person,
    Pipeline,
    Stage,
    Topic,
)
from bowtie.notifications import in_zone_of, notify
from expansion.briefs import build_csm_brief
from expansion.models import Signal, SignalKind
from handoffs import clocks, webhook_events
from handoffs.deal_changes import change_deal
from handoffs.deal_values import BadValue, parse_stage
from handoffs.models import Handoff, HandoffTask, OwedBy
from handoffs.queries import MANAGING_ROLES, received_handoffs
from handoffs.services import ActionRefused

logger = logging.getLogger(__name__)

KIND = Handoff.Kind.CS_TO_SALES
ACCEPTED_CLOCK = "owner_accepted"
MEETING_CLOCK = "joint_meeting"

# Who flags, dismisses and converts signals: customer success and account
# management, and those who manage them.
SIGNAL_ROLES = (
    Person.Role.CSM,
    Person.Role.AM,
    Person.Role.MANAGER,
    Person.Role.REVOPS_ADMIN,
)
CROSS_SELLS = (
    Pipeline.ExpansionType.CROSS_SELL,
    Pipeline.ExpansionType.NEW_BUYING_GROUP,
)
NON_FIELD = "non_field_errors"
LONGEST_REASON = Signal._meta.get_field("dismissed_reason").max_length
LONGEST_NAME = Deal._meta.get_field("name").max_length
KNOWN_CURRENCIES = frozenset(code for code, _ in CURRENCY_CHOICES)
LARGEST_AMOUNT = Decimal("999999999999.99")
CENT = Decimal("0.01")
LONGEST_DETAILS = 10_000


class SignalRefused(ActionRefused):
    """Bad values, each field named with its reasons; nothing was stored."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__(
            "; ".join(f"{name}: {' '.join(texts)}" for name, texts in errors.items())
        )


class NotAllowed(ActionRefused):
    """The actor may not take this action; the message says who may."""


def refuse_if_any(errors: dict[str, list[str]]) -> None:
    if errors:
        raise SignalRefused(errors)


def account_path(account_id: int) -> str:
    return reverse("account-detail", args=[account_id]) + "#signals"


def expansion_path(handoff: Handoff) -> str:
    return reverse("expansion-detail", args=[handoff.pk])


def is_signal_person(person: Person | None) -> bool:
    return person is not None and person.is_active and person.role in SIGNAL_ROLES


# Signals


def check_signal_values(account, kind, source, evidence, details) -> dict:
    errors = {}
    if account is None:
        errors["account"] = ["Name the account the signal is about."]
    if kind not in SignalKind.values:
        errors["kind"] = [
            f"Unknown kind {kind!r}; use one of {', '.join(SignalKind.values)}."
        ]
    if source not in Signal.Source.values:
        errors["source"] = [
            f"Unknown source {source!r}; use one of {', '.join(Signal.Source.values)}."
        ]
    if not isinstance(evidence, str):
        errors["evidence"] = ["Give the evidence as text."]
    elif source == Signal.Source.CSM and not evidence.strip():
        errors["evidence"] = ["Say what you saw: the expansion owner reads it."]
    elif has_nul(evidence):
        errors["evidence"] = ["Text cannot hold NUL characters."]
    if not isinstance(details, dict):
        errors["details"] = ["Give the details as an object of named figures."]
    elif has_nul(details):
        # PostgreSQL keeps no NUL in text or JSON: refused here, not failed there.
        errors["details"] = ["Text in the details cannot hold NUL characters."]
    elif len(json.dumps(details, default=str)) > LONGEST_DETAILS:
        errors["details"] = [f"At most {LONGEST_DETAILS} characters as JSON."]
    return errors


def has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(key) or has_nul(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return any(has_nul(item) for item in value)
    return False


def find_open_signal(account_id: int, kind: str) -> Signal | None:
    return Signal.objects.filter(
        account_id=account_id, kind=kind, status=Signal.Status.OPEN
    ).first()


def raise_signal(
    account: Account | None,
    kind: str,
    source: str,
    actor: Person | None,
    evidence: str = "",
    details: dict | None = None,
    now=None,
) -> Signal:
    """Record that an account may buy more; once while a signal of the kind is open.

    Returns the new signal with `is_repeat` False, or the open one of the same
    kind with `is_repeat` True (and nothing changed). A person raising it must
    work in customer success or account management, or manage; `actor` None is
    an integration or a rule. Raises `SignalRefused` naming each bad field.
    """
    now = now or timezone.now()
    details = {} if details is None else details
    refuse_if_any(check_signal_values(account, kind, source, evidence, details))
    if actor is not None and not is_signal_person(actor):
        raise NotAllowed(
            "Only customer success, account managers and managers flag signals."
        )

    with transaction.atomic():
        existing = find_open_signal(account.pk, kind)
        if existing is not None:
            existing.is_repeat = True
            return existing
        try:
            # A savepoint: a raise that lost the race to the partial unique
            # index leaves the caller's transaction usable, and reads the
            # winner's signal.
            with transaction.atomic():
                signal = Signal.objects.create(
                    account=account,
                    kind=kind,
                    source=source,
                    raised_by=actor,
                    raised_at=now,
                    evidence=evidence.strip(),
                    details=details,
                )
        except IntegrityError:
            existing = find_open_signal(account.pk, kind)
            if existing is None:
                raise
            existing.is_repeat = True
            return existing

        signal.is_repeat = False
        tell_account_owner(signal, account, actor, now)
    logger.info(
        "signal %s raised for account %s", signal.pk, account.pk, extra={"kind": kind}
    )
    return signal


def tell_account_owner(signal: Signal, account: Account, actor, now) -> None:
    owner = account.owner
    if owner is None or not owner.is_active or owner == actor:
        return
    notify(
        owner,
        event_key=f"signal:{signal.pk}:raised",
        topic=Topic.NEW_WORK,
        subject=f"Expansion signal at {account}: {signal.get_kind_display()}",
        body=signal.evidence or "Raised over the API.",
        url=account_path(account.pk),
        now=now,
    )


def lock_open_signal(signal: Signal) -> Signal:
    signal = Signal.objects.select_for_update().get(pk=signal.pk)
    if signal.status != Signal.Status.OPEN:
        raise SignalRefused(
            {NON_FIELD: [f"This signal is {signal.get_status_display().lower()}."]}
        )
    return signal


@transaction.atomic
def dismiss_signal(signal: Signal, actor: Person | None, reason: str, now=None):
    """Close an open signal as not worth a deal, saying why.

    `actor` None is an integration's token. Raises `SignalRefused` without a
    reason, or for a signal no longer open.
    """
    now = now or timezone.now()
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason:
        raise SignalRefused({"reason": ["Say why the signal is dismissed."]})
    if len(reason) > LONGEST_REASON:
        raise SignalRefused({"reason": [f"At most {LONGEST_REASON} characters."]})
    if has_nul(reason):
        raise SignalRefused({"reason": ["Text cannot hold NUL characters."]})
    if actor is not None and not is_signal_person(actor):
        raise NotAllowed(
            "Only customer success, account managers and managers dismiss signals."
        )

    signal = lock_open_signal(signal)
    signal.status = Signal.Status.DISMISSED
    signal.dismissed_reason = reason
    signal.closed_at = now
    signal.save(update_fields=["status", "dismissed_reason", "closed_at"])
    logger.info("signal %s dismissed", signal.pk)
    return signal


# Conversion


@dataclass
class Conversion:
    signal: Signal
    deal: Deal
    handoff: Handoff
    band: OwnershipBand


def parse_money(amount, errors: dict) -> Money | None:
    if not isinstance(amount, Money):
        errors["amount"] = ["Give the amount with its currency."]
        return None
    currency = str(amount.currency)
    if currency not in KNOWN_CURRENCIES:
        errors["currency"] = ["Give an ISO 4217 currency code, e.g. EUR."]
    value = amount.amount
    if not value.is_finite() or value <= 0:
        errors["amount"] = ["Give an amount above 0."]
    elif value > LARGEST_AMOUNT:
        errors["amount"] = ["At most 999,999,999,999.99."]
    elif value != value.quantize(CENT):
        errors["amount"] = ["At most two decimals."]
    return amount


def check_conversion(expansion_type, name, amount, affects_existing_unit) -> dict:
    """Each bad value of a conversion, by field; empty when all are usable."""
    errors = {}
    if expansion_type not in Pipeline.ExpansionType.values:
        errors["expansion_type"] = [
            f"Choose one of {', '.join(Pipeline.ExpansionType.values)}."
        ]
    name = name.strip() if isinstance(name, str) else ""
    if not name:
        errors["name"] = ["Give the deal a name."]
    elif len(name) > LONGEST_NAME:
        errors["name"] = [f"At most {LONGEST_NAME} characters."]
    elif has_nul(name):
        errors["name"] = ["Text cannot hold NUL characters."]
    parse_money(amount, errors)
    if expansion_type in CROSS_SELLS and not isinstance(affects_existing_unit, bool):
        errors["affects_existing_unit"] = [
            "A cross-sell needs the answer: would losing the contract in the "
            "existing unit affect closing this one? Yes or no."
        ]
    return errors


def is_new_logo(expansion_type: str, affects_existing_unit: bool | None) -> bool:
    """A cross-sell whose fate is independent of the existing contract is a
    new customer, referred by this one (DESIGN.md §6)."""
    return expansion_type in CROSS_SELLS and affects_existing_unit is False


def find_first_stage(pipeline: Pipeline | None) -> Stage | None:
    if pipeline is None:
        return None
    return (
        pipeline.stages.filter(outcome=Stage.Outcome.OPEN).order_by("position").first()
    )


def find_pipeline(expansion_type: str, new_logo: bool) -> Pipeline | None:
    if new_logo:
        return Pipeline.objects.filter(
            kind=Pipeline.Kind.NEW_BUSINESS, is_default=True
        ).first()
    return (
        Pipeline.objects.filter(
            kind=Pipeline.Kind.EXPANSION, expansion_type=expansion_type
        )
        .order_by("-is_default", "pk")
        .first()
    )


def latest_won_deal(account: Account) -> Deal | None:
    """The deal an expansion grows from: the account's most recent win."""
    return (
        Deal.objects.filter(account=account, stage__outcome=Stage.Outcome.WON)
        .exclude(pipeline__kind=Pipeline.Kind.RENEWALS)
        .order_by("-closed_on", "-pk")
        .first()
    )


def decide_owner(deal: Deal, actor: Person) -> OwnershipBand:
    """Give the unsaved deal its owner by the bands; return the band.

    The converting person is the deal's owner to begin with, so that when the
    band's role is theirs (a CSM closes a small one) and the account's owner
    does not hold it, the deal stays with them.
    """
    if annual_value_in_base(deal) is None:
        raise SignalRefused(
            {
                "currency": [
                    f"No rate for {deal.amount.currency} today: RevOps adds one in "
                    "the admin (Exchange rates) first."
                ]
            }
        )
    band = owner_band_for_deal(deal)
    if band is None:
        raise SignalRefused(
            {NON_FIELD: ["No ownership bands are in force: RevOps sets them first."]}
        )

    deal.owner = actor
    owner = find_owner_for(deal, band)
    if owner is None:
        raise SignalRefused(
            {
                NON_FIELD: [
                    "Deals of this value belong to the role "
                    f"{Person.Role(band.owner_role).label}, and nobody active "
                    "holds it."
                ]
            }
        )
    deal.owner = owner
    return band


@transaction.atomic
def convert_signal(
    signal: Signal,
    actor: Person,
    expansion_type: str,
    name: str,
    amount: Money,
    affects_existing_unit: bool | None = None,
    now=None,
) -> Conversion:
    """Turn an open signal into an expansion deal and hand it to its owner.

    Refused (`NotAllowed`) unless the actor works in customer success or
    account management or manages; refused (`SignalRefused`) with each bad
    field named: the type, the name, the amount and currency, and for a
    cross-sell the litmus answer `affects_existing_unit`. Nothing is stored
    when refused.
    """
    now = now or timezone.now()
    if not is_signal_person(actor):
        raise NotAllowed(
            "Only customer success, account managers and managers turn signals "
            "into deals."
        )
    refuse_if_any(check_conversion(expansion_type, name, amount, affects_existing_unit))

    signal = lock_open_signal(signal)
    account = signal.account
    new_logo = is_new_logo(expansion_type, affects_existing_unit)
    pipeline = find_pipeline(expansion_type, new_logo)
    stage = find_first_stage(pipeline)
    if stage is None:
        where = (
            "default new-business"
            if new_logo
            else Pipeline.ExpansionType(expansion_type).label
        )
        raise SignalRefused(
            {
                "expansion_type": [
                    f"No {where} pipeline with an open stage: RevOps sets one up "
                    "in the admin (Pipelines) first."
                ]
            }
        )

    day = timezone.localdate(now)
    deal = Deal(
        name=name.strip(),
        account=account,
        pipeline=pipeline,
        stage=stage,
        amount=amount,
        engaged_on=day,
        source=Deal.Source.CUSTOMER_REFERRAL if new_logo else Deal.Source.EXPANSION,
        # A new logo grows from no deal: it is another customer, referred.
        expands=None if new_logo else latest_won_deal(account),
    )
    band = decide_owner(deal, actor)
    # Saving keeps today's rate on the deal, the one its owner was decided by.
    deal._change_reason = f"signal {signal.pk}"
    deal.save()

    handoff = open_expansion_handoff(deal, signal, actor, band, now)
    signal.status = Signal.Status.CONVERTED
    signal.deal = deal
    signal.closed_at = now
    signal.save(update_fields=["status", "deal", "closed_at"])

    publish_expansion_created(deal, signal, handoff, expansion_type, new_logo, now)
    tell_owner_of_new_expansion(handoff, actor, now)
    logger.info(
        "signal %s converted to deal %s, handoff %s to person %s",
        signal.pk,
        deal.pk,
        handoff.pk,
        deal.owner_id,
    )
    return Conversion(signal, deal, handoff, band)


def open_expansion_handoff(deal: Deal, signal: Signal, actor, band, now) -> Handoff:
    """The CS -> Sales handoff with the CSM brief and its clocks.

    `involvement` keeps how customer success takes part in the band (closes,
    joins the meetings, advises), `annual_value_eur` the value that chose it.
    When the band gives the deal to the CSM who converts it, nothing changes
    hands: the handoff is accepted at once and no joint meeting is owed.
    """
    owner = deal.owner
    handoff = Handoff.objects.create(
        kind=KIND,
        deal=deal,
        sending_team=actor.team,
        sender=actor,
        receiving_team=owner.team,
        receiver=owner,
        opened_at=now,
        packet=build_csm_brief(deal.account, deal.expands, timezone.localdate(now)),
        involvement=band.cs_part,
        annual_value_eur=annual_value_in_base(deal),
    )
    if owner != actor:
        clocks.start_clocks(handoff, "", now)
        return handoff

    policies = [
        policy
        for policy in clocks.policies_for(KIND)
        if policy.milestone_key == ACCEPTED_CLOCK
    ]
    clocks.start_clocks(handoff, "", now, policies=policies)
    handoff.accept()
    handoff.accepted_at = now
    handoff.save()
    clocks.meet_milestone(handoff, ACCEPTED_CLOCK, now)
    return handoff


def publish_expansion_created(deal, signal, handoff, expansion_type, new_logo, now):
    webhooks.publish(
        EventType.EXPANSION_CREATED,
        {
            "deal": webhook_events.deal_of(deal)
            | {"source": deal.source, "expands_id": deal.expands_id},
            "expansion_type": expansion_type,
            "is_new_logo": new_logo,
            "signal": {
                "id": signal.pk,
                "kind": signal.kind,
                "account_id": signal.account_id,
                "source": signal.source,
            },
            "handoff": webhook_events.handoff_of(handoff),
            "owner": webhook_events.person_of(deal.owner),
        },
        now,
    )


def tell_owner_of_new_expansion(handoff: Handoff, actor, now) -> None:
    owner = handoff.receiver
    if owner is None or owner == actor or not owner.is_active:
        return
    deal = handoff.deal
    notify(
        owner,
        event_key=f"handoff:{handoff.pk}:opened",
        topic=Topic.NEW_WORK,
        subject=f"Expansion for you: {deal.name}",
        body=f"{actor} handed over {deal.name} at {deal.account} "
        f"({deal.amount}); the CSM brief is on the page. Accept it within 48 hours "
        "and schedule the joint meeting.",
        url=expansion_path(handoff),
        now=now,
    )


# The owner's side


def can_work_expansion(handoff: Handoff, actor: Person | None) -> bool:
    """The receiver, their team, its head, and managers of the team."""
    if actor is None or handoff.kind != KIND:
        return False
    return received_handoffs(actor, KIND).filter(pk=handoff.pk).exists()


def can_send_again(handoff: Handoff, actor: Person | None) -> bool:
    """The CSM who sent it, or their manager; RevOps too."""
    if actor is None or handoff.kind != KIND:
        return False
    sender = handoff.sender
    return (
        actor == sender
        or actor.role == Person.Role.REVOPS_ADMIN
        or (sender is not None and sender.manager_id == actor.pk)
    )


def lock_expansion(handoff: Handoff, actor, states: tuple) -> Handoff:
    handoff = (
        Handoff.objects.select_for_update(of=("self",))
        .select_related("deal__account", "sender", "receiver")
        .get(pk=handoff.pk)
    )
    if handoff.kind != KIND:
        raise ActionRefused("Only expansion handoffs are worked here.")
    if not can_work_expansion(handoff, actor):
        raise NotAllowed("Only the expansion owner's side works this handoff.")
    if handoff.state not in states:
        raise ActionRefused(f"This handoff is {handoff.get_state_display().lower()}.")
    return handoff


def tell_sender(handoff: Handoff, what: str, body: str, now, topic=Topic.NEW_WORK):
    sender = handoff.sender
    if sender is None or not sender.is_active:
        return
    notify(
        sender,
        event_key=f"handoff:{handoff.pk}:{what}:{now.isoformat()}",
        topic=topic,
        subject=f"Expansion {what}: {handoff.deal.name}",
        body=body,
        url=expansion_path(handoff),
        now=now,
    )


@transaction.atomic
def accept_expansion(handoff: Handoff, actor: Person, now=None) -> Handoff:
    """The owner takes the expansion; the 48-hour clock stops."""
    now = now or timezone.now()
    handoff = lock_expansion(handoff, actor, (Handoff.State.OPEN,))

    handoff.accept()
    handoff.accepted_at = now
    if handoff.receiver is None:
        handoff.receiver = actor
    handoff.save()
    clocks.meet_milestone(handoff, ACCEPTED_CLOCK, now)
    webhook_events.publish_handoff(EventType.HANDOFF_ACCEPTED, handoff, actor, now)

    tell_sender(handoff, "accepted", f"{actor} took the expansion.", now)
    logger.info("expansion handoff %s accepted by person %s", handoff.pk, actor.pk)
    return handoff


@transaction.atomic
def record_joint_meeting(handoff: Handoff, actor: Person, meeting_at, now=None):
    """Note when the owner meets the CSM; the first time stops the clock.

    Kept as the owner's task due at the meeting, moved when the meeting is
    put off. Refused before the handoff is accepted, and for a time without a
    zone or before the handoff opened.
    """
    now = now or timezone.now()
    if meeting_at is None or timezone.is_naive(meeting_at):
        raise SignalRefused({"meeting_at": ["Give the date and time of the meeting."]})
    handoff = lock_expansion(handoff, actor, (Handoff.State.ACCEPTED,))
    if meeting_at < handoff.opened_at:
        raise SignalRefused(
            {"meeting_at": ["The meeting cannot be before the handoff opened."]}
        )

    title = f"Joint meeting with {handoff.sender or 'the CSM'}"
    task = handoff.tasks.filter(title=title).first()
    if task is None:
        HandoffTask.objects.create(
            handoff=handoff, title=title, owner=actor, due_at=meeting_at
        )
    else:
        task.due_at = meeting_at
        task.owner = actor
        task.save(update_fields=["due_at", "owner"])
    clocks.meet_milestone(handoff, MEETING_CLOCK, now)

    if handoff.sender is not None:
        tell_sender(
            handoff,
            "meeting",
            f"{actor} meets you about {handoff.deal.name} on "
            f"{in_zone_of(handoff.sender, meeting_at)}.",
            now,
        )
    logger.info("expansion handoff %s meeting recorded", handoff.pk)
    return handoff


def end_owner_clocks(handoff: Handoff, now) -> None:
    """Running clocks of the owner go (one by one, for the history); a
    breached one stays a fact, its waiting rungs closed."""
    unmet = handoff.milestones.filter(owed_by=OwedBy.RECEIVERS, met_at__isnull=True)
    for milestone in unmet:
        if milestone.breached_at is None:
            milestone.delete()
        else:
            clocks.close_waiting_steps(
                milestone, now, "Not needed: the expansion went back to the CSM."
            )


@transaction.atomic
def send_expansion_back(handoff: Handoff, actor: Person, reason: str, now=None):
    """The owner returns the expansion to the CSM, saying why; their clocks end."""
    now = now or timezone.now()
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason:
        raise SignalRefused(
            {"reason": ["Say what is missing or wrong: the CSM reads it."]}
        )
    handoff = lock_expansion(
        handoff, actor, (Handoff.State.OPEN, Handoff.State.ACCEPTED)
    )

    handoff.reject()
    handoff.rejection_reason = reason
    handoff.closed_at = now
    handoff.save()
    end_owner_clocks(handoff, now)
    webhook_events.publish_handoff(
        EventType.HANDOFF_REJECTED, handoff, actor, now, reason=reason
    )

    tell_sender(
        handoff,
        "sent back",
        f"{actor} sent the expansion back: {reason}",
        now,
        topic=Topic.REASSIGNMENT,
    )
    logger.info("expansion handoff %s sent back by person %s", handoff.pk, actor.pk)
    return handoff


@transaction.atomic
def send_expansion_again(handoff: Handoff, actor: Person, now=None) -> Handoff:
    """The CSM sends back an expansion that came back, with a fresh brief and
    fresh clocks for what the owner had not done."""
    now = now or timezone.now()
    handoff = (
        Handoff.objects.select_for_update(of=("self",))
        .select_related("deal__account", "deal__expands", "sender", "receiver")
        .get(pk=handoff.pk)
    )
    if not can_send_again(handoff, actor):
        raise NotAllowed("Only the CSM who sent it, or their manager, sends it again.")
    if handoff.state != Handoff.State.REJECTED:
        raise ActionRefused("Only an expansion sent back can be sent again.")

    deal = handoff.deal
    handoff.resubmit()
    handoff.packet = build_csm_brief(
        deal.account, deal.expands, timezone.localdate(now)
    )
    handoff.closed_at = None
    handoff.accepted_at = None
    handoff.save()
    done = set(handoff.milestones.values_list("key", flat=True))
    policies = [
        policy
        for policy in clocks.policies_for(KIND)
        if policy.milestone_key not in done
    ]
    clocks.start_clocks(handoff, "", now, policies=policies)
    webhook_events.publish_handoff(EventType.HANDOFF_RESUBMITTED, handoff, actor, now)

    receiver = handoff.receiver
    if receiver is not None and receiver.is_active and receiver != actor:
        notify(
            receiver,
            event_key=f"handoff:{handoff.pk}:resubmitted:{now.isoformat()}",
            topic=Topic.NEW_WORK,
            subject=f"Expansion sent again: {deal.name}",
            body=f"{actor} sent it again after: {handoff.rejection_reason}",
            url=expansion_path(handoff),
            now=now,
        )
    logger.info("expansion handoff %s sent again by person %s", handoff.pk, actor.pk)
    return handoff


def can_move_stage(handoff: Handoff, actor: Person | None) -> bool:
    if actor is None:
        return False
    is_owner = actor == handoff.deal.owner
    return is_owner or (
        actor.role in MANAGING_ROLES and can_work_expansion(handoff, actor)
    )


@transaction.atomic
def move_expansion_stage(handoff: Handoff, actor: Person, stage, now=None):
    """Move the expansion deal along its pipeline's stages, once accepted.

    Through `handoffs.deal_changes.change_deal`, so a new-logo deal reaches
    Won only through the packet gate; its refusals (`DealChangeRefused`) name
    the stage. A closed deal completes the handoff.
    """
    now = now or timezone.now()
    handoff = Handoff.objects.select_for_update(of=("self",)).get(pk=handoff.pk)
    if handoff.kind != KIND:
        raise ActionRefused("Only expansion handoffs are worked here.")
    if not can_move_stage(handoff, actor):
        raise NotAllowed("Only the deal's owner, or their manager, moves its stage.")
    if handoff.state != Handoff.State.ACCEPTED:
        raise ActionRefused("Accept the expansion before moving its deal.")

    stage_id = stage.pk if isinstance(stage, Stage) else stage
    change = change_deal(
        handoff.deal, {"stage": stage_id}, actor=actor, source="expansion", now=now
    )
    deal = change.deal
    deal.refresh_from_db()
    # change_deal completes the handoff when the deal closes, on every door.
    logger.info(
        "expansion deal %s moved to stage %s by person %s",
        deal.pk,
        deal.stage_id,
        actor.pk,
    )
    return deal


def complete_expansion(handoff: Handoff, actor: Person, stage, now=None) -> Deal:
    """Close the expansion deal won or lost; the handoff completes with it.

    `stage` is a closed stage of the deal's pipeline, a Stage, its id or its
    name; an open one is refused by field (`SignalRefused` on "stage"), as
    moving along the open stages is `move_expansion_stage`'s. The rest is
    that service's: accepted first, by the owner or their manager, and a
    new-logo deal won only through the packet gate.
    """
    if handoff.kind != KIND:
        raise ActionRefused("Only expansion handoffs are worked here.")
    pipeline = handoff.deal.pipeline
    try:
        target = stage if isinstance(stage, Stage) else parse_stage(stage, pipeline)
    except BadValue as bad:
        raise SignalRefused({"stage": [str(bad)]}) from None
    if not target.is_closed:
        closed = pipeline.stages.exclude(outcome=Stage.Outcome.OPEN)
        names = ", ".join(closed.values_list("name", flat=True))
        raise SignalRefused(
            {
                "stage": [
                    f"{target.name} is open; complete with a won or lost stage "
                    f"({names})."
                ]
            }
        )

    return move_expansion_stage(handoff, actor, target, now=now)
