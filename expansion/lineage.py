"""Lineage from imported account histories: each won deal grows from the last.

A CRM export such as Maven's holds every deal an account won, across
products, but not which deal led to which. Bowtie reads the history as a
chain: an account's first won deal is its origin, and every later won deal
grows from (`Deal.expands`) the won deal closed just before it. So the time
between deals and the account's path through the product range are
reportable like the lineage of live expansions.

Order: by close date, then, for deals closed on the same day, by external id
compared character by character (code point order), so the chain does not
depend on the database's collation. The export has no time of day: of two
deals won the same day neither came first, and the id is only a stable
tie-break.

Only imported history is linked (`is_historical`, from one source), and only
deals of the New business pipeline: a renewal's link is `Deal.renews`, and
live expansions get theirs when they are opened. Linking again changes only
what differs, so a second run writes nothing; a deal no longer won, or moved
to another account, by a later import loses or changes its link.

Whitespace, the active products an account never won, is
`expansion.whitespace.find_whitespace`; the command reports it beside the
lineage.
"""

import logging
from dataclasses import dataclass
from itertools import pairwise

from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from bowtie.crm_import import DEFAULT_SOURCE
from bowtie.models import Account, Deal, Person, Pipeline, Stage

logger = logging.getLogger(__name__)

CHANGE_REASON = "lineage from imported history"


@dataclass(frozen=True)
class AccountLineage:
    account: Account
    origin: Deal | None
    linked_count: int
    changed_count: int


def history_of(source: str):
    return Deal.objects.filter(external_source=source, is_historical=True)


def chain_key(deal: Deal):
    return (deal.closed_on, deal.external_id)


def order_won_history(deals: list[Deal]) -> list[Deal]:
    """The won deals in the order they grew: close date, then external id."""
    return sorted(deals, key=chain_key)


def planned_links(won: list[Deal]) -> dict[int, int | None]:
    """For each won deal, the deal it grows from; None for the origin."""
    ordered = order_won_history(won)
    links = {deal.pk: None for deal in ordered[:1]}
    links |= {deal.pk: previous.pk for previous, deal in pairwise(ordered)}
    return links


def write_links(deals: list[Deal], links: dict, actor, now) -> int:
    """Set `expands` where it differs from `links` (absent: no link)."""
    changed = []
    for deal in deals:
        wanted = links.get(deal.pk)
        if deal.expands_id != wanted:
            deal.expands_id = wanted
            deal.updated_at = now
            changed.append(deal)
    if changed:
        bulk_update_with_history(
            changed,
            Deal,
            ["expands", "updated_at"],
            batch_size=500,
            default_user=actor.user if actor is not None else None,
            default_change_reason=CHANGE_REASON,
        )
    return len(changed)


@transaction.atomic
def link_account_history(
    account: Account,
    *,
    source: str = DEFAULT_SOURCE,
    actor: Person | None = None,
    now=None,
) -> AccountLineage:
    """Link the account's won history from `source` into one chain.

    Every historical deal of the account from the source is read; the won
    ones of the New business pipeline with a close date form the chain, and
    any other that still holds a link (no longer won, say) loses it.
    """
    now = now or timezone.now()
    deals = list(
        history_of(source)
        .filter(account=account)
        .select_related("stage", "pipeline")
        .select_for_update(of=("self",))
    )
    won = [
        deal
        for deal in deals
        if deal.stage.outcome == Stage.Outcome.WON
        and deal.pipeline.kind == Pipeline.Kind.NEW_BUSINESS
        and deal.closed_on is not None
    ]
    links = planned_links(won)

    changed_count = write_links(deals, links, actor, now)
    origin = order_won_history(won)[0] if won else None
    linked_count = sum(1 for wanted in links.values() if wanted is not None)
    if changed_count:
        logger.info(
            "account %s lineage: %s deals linked, %s changed",
            account.pk,
            linked_count,
            changed_count,
        )
    return AccountLineage(account, origin, linked_count, changed_count)


@transaction.atomic
def link_history(
    source: str = DEFAULT_SOURCE, *, actor: Person | None = None, now=None
) -> list[AccountLineage]:
    """Link the history of every account with deals from `source`; all or none.

    A deal whose account the export left blank grows from nothing: its link,
    if an earlier import made one, goes.
    """
    now = now or timezone.now()
    accounts = Account.objects.filter(
        pk__in=history_of(source).filter(account__isnull=False).values("account")
    ).order_by("name")
    results = [
        link_account_history(account, source=source, actor=actor, now=now)
        for account in accounts
    ]
    unmatched = list(
        history_of(source).filter(account__isnull=True, expands__isnull=False)
    )
    write_links(unmatched, {}, actor, now)
    return results
