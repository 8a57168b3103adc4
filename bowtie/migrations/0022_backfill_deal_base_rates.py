"""Stamp existing deals with the exchange rate of the day they were created.

The rate of a day is the dated rate of the deal's currency with the latest
start on or before the (UTC) day of `created_at`; the base currency's is 1.
A deal whose currency had no rate that day keeps `base_rate` empty, with
`base_rate_on` saying which day's rate it lacks: it is listed on the
ownership settings page, never guessed. Deals stamped already are left alone.
"""

from bisect import bisect_right
from collections import defaultdict
from decimal import Decimal

from django.conf import settings
from django.db import migrations

BATCH_SIZE = 500


def rate_finder(apps):
    ExchangeRate = apps.get_model("bowtie", "ExchangeRate")
    by_currency = defaultdict(list)
    for currency, day, units in ExchangeRate.objects.order_by(
        "currency", "effective_on"
    ).values_list("currency", "effective_on", "units_per_base"):
        by_currency[currency].append((day, units))
    base = settings.BOWTIE_BASE_CURRENCY

    def rate_on(currency, day):
        if currency == base:
            return Decimal(1)
        rates = by_currency.get(currency, [])
        index = bisect_right([start for start, _ in rates], day)
        return rates[index - 1][1] if index else None

    return rate_on


def stamp_deals(apps, schema_editor):
    Deal = apps.get_model("bowtie", "Deal")
    rate_on = rate_finder(apps)
    unstamped = Deal.objects.filter(base_rate_on__isnull=True).order_by("pk")
    batch = []
    for deal in unstamped.only("pk", "created_at", "amount_currency").iterator():
        day = deal.created_at.date()
        currency = deal.amount_currency
        deal.base_rate = rate_on(currency, day) if currency else None
        deal.base_rate_on = day
        batch.append(deal)
        if len(batch) == BATCH_SIZE:
            Deal.objects.bulk_update(batch, ["base_rate", "base_rate_on"])
            batch = []
    Deal.objects.bulk_update(batch, ["base_rate", "base_rate_on"])


class Migration(migrations.Migration):
    dependencies = [("bowtie", "0021_copy_undated_exchange_rates")]
    # Backwards there is nothing to undo: the stamps are facts about each
    # deal, and going back past 0017 drops the columns anyway.
    operations = [migrations.RunPython(stamp_deals, migrations.RunPython.noop)]
