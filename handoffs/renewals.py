"""The renewal deal a won deal leaves behind, in the Renewals pipeline.

One shape for a renewal wherever it is made: the close of a live deal, the
import of won history and the win of a renewal (the next term's) all build it
here, so they cannot drift.

A renewal's `expected_close_on` is the last day of the term it renews. Won,
the renewal starts the next term the day after, whenever it was signed: a
renewal signed a month early does not shorten the term it renews, and one
signed late does not move the next term's end.
"""

import logging
from datetime import date, timedelta

from bowtie import webhooks
from bowtie.models import Deal, EventType, Pipeline, Stage
from bowtie.terms import term_ends_on
from handoffs.services import ActionRefused
from handoffs.webhook_events import deal_of

logger = logging.getLogger(__name__)

RENEWAL_PREFIX = "Renewal: "


def find_first_renewal_stage() -> Stage:
    """The open stage renewals start in; refused when RevOps has none."""
    pipeline = Pipeline.objects.filter(
        kind=Pipeline.Kind.RENEWALS, is_default=True
    ).first()
    stage = pipeline and pipeline.stages.filter(outcome=Stage.Outcome.OPEN).first()
    if stage is None:
        raise ActionRefused(
            "No default Renewals pipeline with an open stage: set one up in the "
            "admin (Pipelines) before closing deals won."
        )
    return stage


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def term_starts_on(deal: Deal) -> date | None:
    """The first day of the deal's term; None while it is not known.

    A sale starts its term the day it closes; a renewal the day after the
    term it renews ends (its expected close).
    """
    if deal.renews_id is None:
        return deal.closed_on
    if deal.expected_close_on is None:
        return None
    return deal.expected_close_on + timedelta(days=1)


def build_renewal(deal: Deal, stage: Stage, **values) -> Deal:
    """The unsaved renewal of `deal`, due on the last day of its term."""
    account = deal.account
    limit = Deal._meta.get_field("name").max_length
    # A renewal's renewal keeps the one name: "Renewal: Renewal: ..." says
    # nothing more.
    is_renewal = deal.renews_id is not None and deal.name.startswith(RENEWAL_PREFIX)
    name = deal.name if is_renewal else f"{RENEWAL_PREFIX}{deal.name}"
    return Deal(
        name=truncate(name, limit),
        account=account,
        # The account's owner looks after the customer once it is won.
        owner=account.owner if account and account.owner else deal.owner,
        pipeline=stage.pipeline,
        stage=stage,
        product=deal.product,
        amount=deal.amount,
        term_months=deal.term_months,
        expected_close_on=term_ends_on(term_starts_on(deal), deal.term_months),
        renews=deal,
        **values,
    )


def is_renewal_won(deal: Deal) -> bool:
    return (
        deal.pipeline.kind == Pipeline.Kind.RENEWALS
        and deal.stage.outcome == Stage.Outcome.WON
    )


def open_next_term(renewal: Deal, now) -> Deal:
    """Open the renewal of the term a won renewal starts; once.

    Called in the transaction that moved `renewal` to won, with its row
    locked: a second call, or a retried request, answers with the renewal
    made the first time (and the database holds one renewal per deal).
    Refused, as `ActionRefused`, without a default Renewals pipeline or a
    term end to count from.
    """
    existing = Deal.objects.filter(renews=renewal).first()
    if existing is not None:
        return existing
    if term_starts_on(renewal) is None:
        raise ActionRefused(
            "Give the renewal the day its term ends (expected close) first."
        )
    if renewal.term_months < 1:
        raise ActionRefused("Give the renewal a term of at least one month first.")

    next_renewal = build_renewal(renewal, find_first_renewal_stage())
    next_renewal.save()
    webhooks.publish(
        EventType.RENEWAL_CREATED,
        {"renewal": deal_of(next_renewal), "renews_id": renewal.pk},
        now,
    )
    logger.info("renewal %s won: next term's renewal %s", renewal.pk, next_renewal.pk)
    return next_renewal
