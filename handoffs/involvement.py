"""How much sales stays involved after signature, by annual contract value.

DESIGN.md §2: a clean break below EUR 10,000 (the handoff runs by itself), a
warm overlay by default (the AE at kickoff and copied for two weeks), and
pre-sale CS above EUR 50,000 (the CSM joins as well). Each model becomes
concrete tasks with owners and due times on the handoff.

The bands are half-open: EUR 10,000 exactly is a warm overlay, EUR 50,000
exactly too; above it is pre-sale CS. A deal in another currency converts at
the rate it stored when it was created (bowtie.exchange), so a rate changed
since moves nothing; without a stored rate it gets the default model, and the
handoff says why.
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from bowtie.exchange import annual_value_in_base

CLEAN_BREAK_BELOW = Decimal("10000")
PRE_SALE_CS_ABOVE = Decimal("50000")
OVERLAY_PERIOD = timedelta(weeks=2)

CLEAN_BREAK = "clean_break"
WARM_OVERLAY = "warm_overlay"
PRE_SALE_CS = "pre_sale_cs"
LABELS = {
    CLEAN_BREAK: "Clean break",
    WARM_OVERLAY: "Warm overlay",
    PRE_SALE_CS: "Pre-sale CS",
}


@dataclass(frozen=True)
class PlannedTask:
    title: str
    owner: object
    due_at: object


def annual_value_in_euros(deal) -> Decimal | None:
    """The deal's amount per year in the base currency (EUR), at its stored
    rate; None without an amount or a stored rate."""
    return annual_value_in_base(deal)


def involvement_for(deal, value: Decimal | None = None) -> str:
    """The model for the deal's annual value in EUR (computed when not given)."""
    if value is None:
        value = annual_value_in_euros(deal)
    if value is None:
        return WARM_OVERLAY
    if value < CLEAN_BREAK_BELOW:
        return CLEAN_BREAK
    if value > PRE_SALE_CS_ABOVE:
        return PRE_SALE_CS
    return WARM_OVERLAY


def planned_tasks(
    model: str, deal, kickoff_due_at, now, implementation_lead=None
) -> list[PlannedTask]:
    """The tasks a model asks for; the kickoff's due time anchors them."""
    ae = deal.owner
    csm = deal.account.owner if deal.account is not None else None
    if model == CLEAN_BREAK:
        # No overlay: implementation opens the relationship on its own, on
        # the day, from the packet.
        return [
            PlannedTask(
                "Send the welcome and onboarding e-mail (no AE overlay)",
                implementation_lead,
                now + timedelta(days=1),
            )
        ]
    tasks = [
        PlannedTask("AE joins the kickoff", ae, kickoff_due_at),
        PlannedTask(
            "AE copied on customer e-mails for two weeks", ae, now + OVERLAY_PERIOD
        ),
    ]
    # An AE who also owns the account has no CSM to bring: nobody is added.
    if model == PRE_SALE_CS and csm is not None and csm != ae:
        tasks.insert(0, PlannedTask("CSM joins the kickoff", csm, kickoff_due_at))
    return tasks


@dataclass(frozen=True)
class PlannedParticipant:
    person: object
    role: str
    copy_ends_at: object


def planned_participants(model: str, deal, now) -> list[PlannedParticipant]:
    """Who stays in the handoff without owning it: nobody on a clean break."""
    ae = deal.owner
    csm = deal.account.owner if deal.account is not None else None
    participants = []
    if model in (WARM_OVERLAY, PRE_SALE_CS) and ae is not None:
        participants.append(
            PlannedParticipant(ae, "sales_overlay", now + OVERLAY_PERIOD)
        )
    # The CSM was in before the sale and stays in until the handoff ends.
    if model == PRE_SALE_CS and csm is not None and csm != ae:
        participants.append(PlannedParticipant(csm, "pre_sale_cs", None))
    return participants
