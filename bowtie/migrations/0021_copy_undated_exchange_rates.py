"""Copy django-money's undated admin rates into dated rates, from 2000-01-01.

Until now one rate a currency was kept (django-money's `Rate`, backend
"admin"), with no day, and every conversion used it. Each becomes an
`ExchangeRate` in force from 2000-01-01, so the deals created before this
migration keep converting at the rate they were converted at (the backfill
that follows stamps it on them); RevOps add later rates from a day on.
Rebased when BOWTIE_BASE_CURRENCY is not the backend's base. The old rows
are left as they were, and nothing reads them any more.
"""

import datetime
from decimal import Decimal

from django.conf import settings
from django.db import migrations

BACKEND = "admin"
PLACES = Decimal("0.00000001")


def rates_per_base(apps) -> dict[str, Decimal]:
    """The admin backend's rates as units per one base unit, base left out."""
    ExchangeBackend = apps.get_model("exchange", "ExchangeBackend")
    Rate = apps.get_model("exchange", "Rate")
    backend = ExchangeBackend.objects.filter(name=BACKEND).first()
    if backend is None:
        return {}
    per_old_base = dict(
        Rate.objects.filter(backend=backend).values_list("currency", "value")
    )
    per_old_base[backend.base_currency] = Decimal(1)
    base = settings.BOWTIE_BASE_CURRENCY
    base_value = per_old_base.get(base)
    if not base_value:
        # No way to say what one base unit buys: nothing is copied.
        return {}
    return {
        currency: (value / base_value).quantize(PLACES)
        for currency, value in per_old_base.items()
        if currency != base and value > 0
    }


def copy_rates(apps, schema_editor):
    ExchangeRate = apps.get_model("bowtie", "ExchangeRate")
    # The only rate ever known held for every day before this one.
    since = datetime.date(2000, 1, 1)
    for currency, units in sorted(rates_per_base(apps).items()):
        if ExchangeRate.objects.filter(currency=currency).exists():
            continue
        ExchangeRate.objects.create(
            currency=currency, units_per_base=units, effective_on=since
        )


def remove_copies(apps, schema_editor):
    ExchangeRate = apps.get_model("bowtie", "ExchangeRate")
    for currency, units in rates_per_base(apps).items():
        first = (
            ExchangeRate.objects.filter(currency=currency)
            .order_by("effective_on")
            .first()
        )
        if first and first.units_per_base == units and first.created_by_id is None:
            first.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("bowtie", "0020_default_ownership_bands"),
        ("exchange", "0001_initial"),
    ]
    operations = [migrations.RunPython(copy_rates, remove_copies)]
