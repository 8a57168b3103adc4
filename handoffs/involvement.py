"""How much sales stays involved after signature, by annual contract value.

DESIGN.md §2: a clean break below EUR 10,000 (the handoff runs by itself), a
warm overlay by default (the AE at kickoff and copied for two weeks), and
pre-sale CS above EUR 50,000 (the CSM joins as well). Each model becomes
concrete tasks with owners and due times on the handoff.

The bands are half-open: EUR 10,000 exactly is a warm overlay, EUR 50,000
exactly too; above it is pre-sale CS.
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

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
    """The deal's amount per year in EUR; None when it cannot be told."""
    if deal.amount is None or str(deal.amount.currency) != "EUR":
        # TODO(involvement): amounts in other currencies need the rate stored
        # when the deal was created; until ownership thresholds keep rates,
        # such deals get the default model.
        return None
    months = deal.term_months or 12
    return deal.amount.amount * 12 / months


def involvement_for(deal) -> str:
    value = annual_value_in_euros(deal)
    if value is None:
        return WARM_OVERLAY
    if value < CLEAN_BREAK_BELOW:
        return CLEAN_BREAK
    if value > PRE_SALE_CS_ABOVE:
        return PRE_SALE_CS
    return WARM_OVERLAY


def planned_tasks(model: str, deal, kickoff_due_at, now) -> list[PlannedTask]:
    """The tasks a model asks for; the kickoff's due time anchors them."""
    ae = deal.owner
    csm = deal.account.owner if deal.account is not None else None
    if model == CLEAN_BREAK:
        return [
            PlannedTask("Send the automated welcome and onboarding e-mail", None, now)
        ]
    tasks = [
        PlannedTask("AE joins the kickoff", ae, kickoff_due_at),
        PlannedTask(
            "AE copied on customer e-mails for two weeks", ae, now + OVERLAY_PERIOD
        ),
    ]
    if model == PRE_SALE_CS:
        tasks.insert(0, PlannedTask("CSM joins the kickoff", csm, kickoff_due_at))
    return tasks
