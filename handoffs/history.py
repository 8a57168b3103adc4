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
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from bowtie.crm_import import CrmImportSummary, import_crm_export
from bowtie.exchange import stamp_base_rate, stamp_base_rates, today
from bowtie.models import Deal, Stage
from handoffs.closing import packet_items
from handoffs.packets import assess_packet
from handoffs.prefill import derive_history_packet
from handoffs.renewals import build_renewal, find_first_renewal_stage

BATCH_SIZE = 500
RENEWALS = "renewals"
PACKETS = "packets"


def import_crm_history(folder, **options) -> CrmImportSummary:
    """Import a CRM export (see bowtie.crm_import) with its won deals' packets
    and renewals; all of it, or nothing."""
    return import_crm_export(folder, record_won_deals=record_won_history, **options)


def record_won_history(source: str, changes) -> None:
    """Derive the packets and renewals of the source's won history."""
    deals = list(
        Deal.objects.filter(external_source=source, is_historical=True)
        .select_related(
            "account__owner", "account__parent", "owner__team", "product", "stage"
        )
        .order_by("closed_on", "pk")
    )
    won = [deal for deal in deals if deal.stage.outcome == Stage.Outcome.WON]

    store_history_packets(won, count_earlier_outcomes(deals), changes)
    store_history_renewals(won, changes)
    drop_renewals_of_unwon(source, changes)


def count_earlier_outcomes(deals: list[Deal]) -> dict[int, Counter]:
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
        packet = derive_history_packet(deal, earlier.get(deal.pk, Counter()))
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


# What a renewal takes from the deal it renews, kept in step on each import.
RENEWAL_FIELDS = [
    "name",
    "account",
    "owner",
    "product",
    "amount",
    "term_months",
    "expected_close_on",
]


def store_history_renewals(won: list[Deal], changes) -> None:
    """One open renewal per dated won deal; an existing one follows its deal."""
    existing = {
        renewal.renews_id: renewal
        for renewal in Deal.objects.filter(renews__in=[deal.pk for deal in won])
    }
    stage = find_first_renewal_stage()
    to_create, to_update = [], []
    for deal in won:
        if not deal.closed_on:
            continue
        expected = build_renewal(deal, stage, is_historical=True)
        renewal = existing.get(deal.pk)
        if renewal is None:
            to_create.append(expected)
            continue
        if renewal.is_historical and follow_deal(renewal, expected):
            to_update.append(renewal)

    # Bulk creates skip `Deal.save`: a renewal keeps the rate of the day it is
    # made here, as one made by a live close keeps the rate of its day.
    changes.unrated[RENEWALS] += stamp_base_rates(to_create, today())
    for start in range(0, len(to_create), BATCH_SIZE):
        batch = to_create[start : start + BATCH_SIZE]
        for renewal in bulk_create_with_history(batch, Deal):
            changes.record_created(renewal, RENEWALS)
    fields = [*RENEWAL_FIELDS, "amount_currency", "base_rate", "base_rate_on"]
    fields.append("updated_at")
    for start in range(0, len(to_update), BATCH_SIZE):
        bulk_update_with_history(to_update[start : start + BATCH_SIZE], Deal, fields)
    for renewal in to_update:
        changes.record_updated(renewal, RENEWALS)


def follow_deal(renewal: Deal, expected: Deal) -> bool:
    """Copy what differs from the renewal the deal makes now; True if any."""
    changed = False
    currency = str(renewal.amount_currency)
    for name in RENEWAL_FIELDS:
        value = getattr(expected, name)
        if getattr(renewal, name) != value:
            setattr(renewal, name, value)
            changed = True
    if changed:
        renewal.updated_at = timezone.now()
    if str(renewal.amount_currency) != currency:
        # As `Deal.save` does: the rate kept was for the old currency.
        stamp_base_rate(renewal, today())
    return changed


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
