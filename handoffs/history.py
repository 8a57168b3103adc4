"""Won deals from a CRM import: their partial packets and their renewals.

An imported won deal is history. It opens no handoff and starts no clock,
but it keeps what the export tells about it as a packet, with its stored
completeness, and the renewal its term leads to, so the renewal book and the
packet reports include the customers that came before Bowtie.

Importing the same export again writes nothing: a packet is written only
when what the export derives differs, and a renewal exists once per deal. A
deal that is no longer won loses the renewal the import made for it, while
that renewal is still open history nobody has taken over.
"""

from collections import Counter, defaultdict

from django.db.models import Q
from django.dispatch import receiver
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from bowtie.crm_import import deals_imported
from bowtie.models import Deal, Stage
from handoffs.closing import packet_items
from handoffs.packets import assess_packet
from handoffs.prefill import history_packet
from handoffs.renewals import first_renewal_stage, renewal_of

BATCH_SIZE = 500
RENEWALS = "renewals"
PACKETS = "packets"


@receiver(deals_imported, dispatch_uid="handoffs.history.record_won_history")
def record_won_history(sender, source: str, changes, **kwargs) -> None:
    deals = list(
        Deal.objects.filter(external_source=source, is_historical=True)
        .select_related(
            "account__owner", "account__parent", "owner__team", "product", "stage"
        )
        .order_by("closed_on", "pk")
    )
    won = [deal for deal in deals if deal.stage.outcome == Stage.Outcome.WON]

    store_history_packets(won, earlier_outcomes(deals), changes)
    store_history_renewals(won, changes)
    drop_renewals_of_unwon(source, changes)


def earlier_outcomes(deals: list[Deal]) -> dict[int, Counter]:
    """For each deal, the account's won and lost deals closed before it."""
    by_account = defaultdict(list)
    for deal in deals:
        if deal.account_id and deal.closed_on and deal.stage.is_closed:
            by_account[deal.account_id].append(deal)

    earlier = {}
    for account_deals in by_account.values():
        seen = Counter()
        day, closed_that_day = None, Counter()
        # Deals closed on the same day are not "before" one another.
        for deal in account_deals:
            if deal.closed_on != day:
                seen += closed_that_day
                day, closed_that_day = deal.closed_on, Counter()
            earlier[deal.pk] = Counter(seen)
            closed_that_day[deal.stage.outcome] += 1
    return earlier


def store_history_packets(won: list[Deal], earlier: dict, changes) -> None:
    items = packet_items()
    now = timezone.now()
    to_update = []
    for deal in won:
        packet = history_packet(deal, earlier.get(deal.pk, Counter()))
        completeness = assess_packet(items, packet).completeness
        if deal.packet == packet and deal.packet_completeness == completeness:
            continue
        deal.packet, deal.packet_completeness = packet, completeness
        deal.updated_at = now
        to_update.append(deal)

    for start in range(0, len(to_update), BATCH_SIZE):
        batch = to_update[start : start + BATCH_SIZE]
        bulk_update_with_history(
            batch, Deal, ["packet", "packet_completeness", "updated_at"]
        )
    for deal in to_update:
        changes.record_updated(deal, PACKETS)


def store_history_renewals(won: list[Deal], changes) -> None:
    renewed = set(
        Deal.objects.filter(renews__in=[deal.pk for deal in won]).values_list(
            "renews_id", flat=True
        )
    )
    missing = [deal for deal in won if deal.pk not in renewed and deal.closed_on]
    if not missing:
        return

    stage = first_renewal_stage()
    renewals = [renewal_of(deal, stage, is_historical=True) for deal in missing]
    for start in range(0, len(renewals), BATCH_SIZE):
        batch = renewals[start : start + BATCH_SIZE]
        for renewal in bulk_create_with_history(batch, Deal):
            changes.record_created(renewal, RENEWALS)


def drop_renewals_of_unwon(source: str, changes) -> None:
    stale = Deal.objects.filter(
        renews__external_source=source,
        renews__is_historical=True,
        is_historical=True,
        stage__outcome=Stage.Outcome.OPEN,
    ).filter(~Q(renews__stage__outcome=Stage.Outcome.WON))
    for renewal in stale:
        renewal.delete()
        changes.removed[RENEWALS] += 1
