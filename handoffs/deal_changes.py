"""Create or change a live deal: the one write path of the API, imports and CRMs.

Every door that writes deal fields (the deals API, the CSV import of deal
updates, the inbound CRM webhook) calls `change_deal`, so a deal reaches Won
only through `close_deal_won` and its packet gate, whatever sent the change.

The contract:

- Every value is checked before anything is written; each bad one is named
  with its reason in `DealChangeRefused.errors`, and nothing is stored.
- A move to the pipeline's won stage saves the other values first, then calls
  `close_deal_won` in the same transaction: a refused close rolls back the
  other values too, so nothing is half-written. Asked again of a won deal, the
  close answers with the handoff it made the first time.
- A move to a lost stage only moves the stage (and dates the close); a move
  back to an open stage reopens a lost deal.
- A renewal moved to its won stage opens the next term's renewal, once, in
  the same transaction (`handoffs.renewals.open_next_term`).
- A won deal stays as it was closed: its handoff and renewal were made from
  it. A change that repeats its stored values is accepted and changes nothing,
  so a retried request answers as the first one did.
- Imported history (`is_historical`) is read-only here.
"""

import logging
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone
from djmoney.money import Money

from bowtie.models import Deal, Person, Pipeline, Stage
from handoffs.closing import (
    ClosedWon,
    PacketIncomplete,
    close_deal_won,
    closing_day,
    save_deal_packet,
)
from handoffs.deal_values import parse_values
from handoffs.models import Handoff
from handoffs.packets import Missing
from handoffs.renewals import is_renewal_won, open_next_term
from handoffs.services import ActionRefused

logger = logging.getLogger(__name__)

WRITABLE_FIELDS = (
    "name",
    "account",
    "owner",
    "product",
    "amount",
    "currency",
    "expected_close_on",
    "term_months",
    "stage",
    "packet",
)
# They tie the deal to its record in the source system: set once, at creation.
IDENTITY_FIELDS = ("external_source", "external_id")
NON_FIELD = "non_field_errors"
WON_DEAL_IS_FINAL = (
    "This deal is won: its handoff and renewal were made from it, so it stays "
    "as it was closed."
)


class DealChangeRefused(ActionRefused):
    """The deal cannot take the change; each field is named with its reasons.

    `missing` lists the packet items a refused close lacked. `is_conflict`
    tells a bad value (false: the request itself is wrong) from a deal that,
    as it stands, cannot take good values (true: history, a won deal, the
    packet gate, a deal that is not there). Nothing was stored either way.
    """

    def __init__(
        self,
        errors: dict[str, list[str]],
        *,
        missing: list[Missing] | None = None,
        is_conflict: bool = False,
    ):
        self.errors = errors
        self.missing = list(missing or [])
        self.is_conflict = is_conflict
        super().__init__(
            "; ".join(f"{name}: {' '.join(texts)}" for name, texts in errors.items())
        )


@dataclass
class DealChange:
    deal: Deal
    is_created: bool
    changed_fields: list[str] = field(default_factory=list)
    # Set when the change asked for the won stage, also when it already was.
    closed: ClosedWon | None = None
    # Set when the change won a renewal: the renewal of the next term.
    next_renewal: Deal | None = None


def parse_identity(values: dict, errors: dict) -> dict:
    """The source system and the deal's id there, both or neither."""
    identity = {}
    for name in IDENTITY_FIELDS:
        raw = values.get(name, "")
        text = raw.strip() if isinstance(raw, str) else None
        limit = Deal._meta.get_field(name).max_length
        if text is None:
            errors[name] = ["Give it as text."]  # A number would be an id's mistake.
        elif len(text) > limit:
            errors[name] = [f"At most {limit} characters."]
        else:
            identity[name] = text
    if len(identity) == 2 and bool(identity["external_source"]) != bool(
        identity["external_id"]
    ):
        errors["external_id"] = ["Give both external_source and external_id."]
    return identity


def unknown_key_errors(values: dict) -> dict[str, list[str]]:
    model_fields = {model_field.name for model_field in Deal._meta.fields}
    allowed = set(WRITABLE_FIELDS) | set(IDENTITY_FIELDS)
    return {
        name: ["Read-only." if name in model_fields else "Unknown field."]
        for name in values
        if name not in allowed
    }


def stored_value(deal: Deal, name: str):
    if name in ("account", "owner", "product", "stage"):
        return getattr(deal, f"{name}_id")
    return getattr(deal, name)


def new_money(deal: Deal, parsed: dict, errors: dict) -> Money | None:
    """The amount in its currency: either may come alone, the other is kept."""
    # Not `stored and ...`: an amount of zero is falsy and still an amount.
    stored = deal.amount
    amount = parsed.get("amount")
    if "amount" not in parsed and stored is not None:
        amount = stored.amount
    if amount is None:
        if "currency" in parsed:
            errors["currency"] = ["A currency needs an amount."]
        return None
    currency = parsed.get("currency")
    if currency is None and stored is not None:
        currency = str(stored.currency)
    return Money(amount, currency or Deal._meta.get_field("amount").default_currency)


def is_same_money(first: Money | None, second: Money | None) -> bool:
    if first is None or second is None:
        return first is second
    same_amount = first.amount == second.amount
    return same_amount and str(first.currency) == str(second.currency)


def changed_values(deal: Deal, parsed: dict, errors: dict) -> dict:
    """The parsed values that differ from the stored ones, keyed by field.

    A new deal takes every value. An amount and a currency make one change,
    under "amount".
    """
    changes = {}
    for name, value in parsed.items():
        if name in ("amount", "currency"):
            continue
        new = value.pk if hasattr(value, "pk") else value
        if deal.pk is None or stored_value(deal, name) != new:
            changes[name] = value

    if "amount" in parsed or "currency" in parsed:
        money = new_money(deal, parsed, errors)
        if deal.pk is None or not is_same_money(money, deal.amount):
            changes["amount"] = money
    return changes


def check_identity(deal: Deal, values: dict, errors: dict) -> None:
    """An existing deal keeps its external id; repeating it is fine."""
    for name in IDENTITY_FIELDS:
        if name in values and values[name] != getattr(deal, name):
            errors[name] = ["Set when the deal is created; it names the deal there."]


def refuse_if_any(errors: dict, *, is_conflict: bool = False) -> None:
    if errors:
        raise DealChangeRefused(errors, is_conflict=is_conflict)


def refuse_history(deal: Deal) -> None:
    if deal.is_historical:
        raise DealChangeRefused(
            {NON_FIELD: ["Imported history is read-only; change it at its source."]},
            is_conflict=True,
        )


def check_state(deal: Deal, values: dict, changes: dict, target_stage: Stage):
    """Refuse changes the deal's state forbids, with the fields named."""
    if deal.pk is not None and deal.stage.outcome == Stage.Outcome.WON:
        errors = {name: [WON_DEAL_IS_FINAL] for name in changes}
        if "stage" in errors:
            errors["stage"] = ["A won deal stays won: its handoff and renewal exist."]
        if "amount" in errors and "amount" not in values:
            # Only the currency was sent: name the field the caller wrote.
            errors["currency"] = errors.pop("amount")
        refuse_if_any(errors, is_conflict=True)

    if "packet" in changes and target_stage.outcome == Stage.Outcome.LOST:
        refuse_if_any(
            {"packet": ["A lost deal's packet is final; reopen the deal first."]},
            is_conflict=True,
        )

    expansion = find_expansion_handoff(deal)
    waiting = (Handoff.State.OPEN, Handoff.State.REJECTED)
    if "stage" in changes and expansion is not None and expansion.state in waiting:
        refuse_if_any(
            {
                "stage": [
                    "Its owner accepts the expansion handoff first; the stage "
                    "moves after that."
                ]
            },
            is_conflict=True,
        )


def find_expansion_handoff(deal: Deal) -> Handoff | None:
    if deal.pk is None:
        return None
    return Handoff.objects.filter(deal=deal, kind=Handoff.Kind.CS_TO_SALES).first()


def settle_expansion_handoff(deal: Deal, now) -> None:
    """A closed expansion deal completes its CS -> Sales handoff, whichever
    door closed it (the expansion page, the API, an import, a CRM)."""
    if not deal.stage.is_closed:
        return
    handoff = (
        Handoff.objects.select_for_update(of=("self",))
        .filter(deal=deal, kind=Handoff.Kind.CS_TO_SALES)
        .first()
    )
    if handoff is None or handoff.state != Handoff.State.ACCEPTED:
        return
    handoff.complete()
    handoff.closed_at = now
    handoff.save()


def new_deal(actor: Person | None, errors: dict) -> Deal | None:
    """An unsaved deal in the default new-business pipeline's first open stage."""
    pipeline = Pipeline.objects.filter(
        kind=Pipeline.Kind.NEW_BUSINESS, is_default=True
    ).first()
    first_stage = (
        pipeline and pipeline.stages.filter(outcome=Stage.Outcome.OPEN).first()
    )
    if first_stage is None:
        errors[NON_FIELD] = [
            "No default new-business pipeline with an open stage: set one up in "
            "the admin (Pipelines) first."
        ]
        return None
    return Deal(pipeline=pipeline, stage=first_stage, owner=actor)


def closes_through_gate(deal: Deal, target_stage: Stage) -> bool:
    """New business is won only by the close; a renewal's won stage is a plain
    move that then opens the next term, and so is an expansion's (once its
    handoff is accepted: see `check_state`)."""
    return (
        target_stage.outcome == Stage.Outcome.WON
        and deal.pipeline.kind == Pipeline.Kind.NEW_BUSINESS
    )


def write_values(deal: Deal, changes: dict, target_stage: Stage, source: str, now):
    """Save every change but the packet's and a move to won: the close's to make."""
    fields = [name for name in changes if name not in ("stage", "packet")]
    for name in fields:
        setattr(deal, name, changes[name])
    if "amount" in fields:
        fields.append("amount_currency")
    if "stage" in changes and not closes_through_gate(deal, target_stage):
        deal.stage = target_stage
        is_open = target_stage.outcome == Stage.Outcome.OPEN
        deal.closed_on = None if is_open else closing_day(deal, now)
        fields += ["stage", "closed_on"]

    # The audit history says which door the change came through.
    deal._change_reason = source
    if deal.pk is None:
        deal.save()
    elif fields:
        deal.save(update_fields=[*fields, "updated_at"])


def close_through_gate(deal: Deal, actor, now) -> ClosedWon:
    """The packet gate; its refusals become this service's, on the stage."""
    try:
        return close_deal_won(deal, actor, now)
    except PacketIncomplete as incomplete:
        missing = incomplete.assessment.missing
        raise DealChangeRefused(
            {
                "stage": [
                    "Closed Won needs a complete handoff packet; "
                    f"{len(missing)} required item(s) missing."
                ]
            },
            missing=missing,
            is_conflict=True,
        ) from incomplete
    except ActionRefused as refused:
        raise DealChangeRefused(
            {"stage": [str(refused)]}, is_conflict=True
        ) from refused


def open_next_term_or_refuse(renewal: Deal, now) -> Deal:
    """The next term's renewal; its refusals become this service's, on the stage."""
    try:
        return open_next_term(renewal, now)
    except ActionRefused as refused:
        raise DealChangeRefused(
            {"stage": [str(refused)]}, is_conflict=True
        ) from refused


@transaction.atomic
def change_deal(
    deal: Deal | None,
    values: dict,
    *,
    actor: Person | None = None,
    source: str,
    now=None,
) -> DealChange:
    """Create a live deal (`deal` None) or change one, all values or none.

    `values` holds any of `WRITABLE_FIELDS` (and, to create, the external
    source and id); `source` names the door ("api", "import", "crm:<slug>")
    for the log and the audit history. Raises `DealChangeRefused`.
    """
    now = now or timezone.now()
    is_creating = deal is None
    errors = unknown_key_errors(values)

    if is_creating:
        deal = new_deal(actor, errors)
        if deal is None:
            refuse_if_any(errors)
        for name, value in parse_identity(values, errors).items():
            setattr(deal, name, value)
        if "name" not in values:
            errors["name"] = ["Give the deal a name."]
    else:
        # The lock without joins, as the close takes it: PostgreSQL re-reads
        # a row it waited for, not the rows joined to it.
        deal = Deal.objects.select_for_update().get(pk=deal.pk)
        refuse_history(deal)
        check_identity(deal, values, errors)

    parsed, value_errors = parse_values(values, deal.pipeline)
    errors |= value_errors
    changes = changed_values(deal, parsed, errors)
    refuse_if_any(errors)

    target_stage = parsed.get("stage") or deal.stage
    check_state(deal, values, changes, target_stage)
    if is_creating and deal.external_id:
        taken = Deal.objects.filter(
            external_source=deal.external_source, external_id=deal.external_id
        )
        if taken.exists():
            refuse_if_any(
                {"external_id": ["Another deal already has this id from its source."]}
            )

    try:
        # A savepoint, so a racing create of the same external id is refused
        # by name instead of breaking the caller's transaction.
        with transaction.atomic():
            write_values(deal, changes, target_stage, source, now)
    except IntegrityError:
        raise DealChangeRefused(
            {"external_id": ["Another deal already has this id from its source."]}
        ) from None
    if "packet" in changes:
        assessment = save_deal_packet(deal, changes["packet"], actor)
        deal.packet = changes["packet"]
        deal.packet_completeness = assessment.completeness

    closed = None
    if closes_through_gate(deal, target_stage):
        closed = close_through_gate(deal, actor, now)
        deal = closed.deal
    if "stage" in changes:
        settle_expansion_handoff(deal, now)
    next_renewal = None
    if "stage" in changes and is_renewal_won(deal):
        next_renewal = open_next_term_or_refuse(deal, now)

    result = DealChange(deal, is_creating, sorted(changes), closed, next_renewal)
    if is_creating:
        logger.info("deal %s created through %s", deal.pk, source)
    elif changes:
        logger.info(
            "deal %s changed through %s: %s",
            deal.pk,
            source,
            ", ".join(sorted(changes)),
        )
    return result
