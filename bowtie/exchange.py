"""Exchange rates by date, and the rate a deal keeps from the day it is created.

RevOps keeps `ExchangeRate` rows: how many units of a currency one unit of
the base currency (`settings.BOWTIE_BASE_CURRENCY`) buys, from a day on. The
rate of a day is the row with the latest `effective_on` on or before it; the
base currency's is 1. A value without a rate is not guessed: callers get None
and say so.

A deal keeps the rate of the day it was created (`Deal.base_rate` and
`base_rate_on`, stamped by `Deal.save`), and every decision that converts a
deal's value reads `annual_value_in_base`, which uses that stored rate: a
later rate moves no owner and no involvement.

Rates in force are never edited: a correction is a new row from a later day.
Only a rate that has not started yet may be changed or withdrawn, because no
deal can have stored it. Days are UTC dates, like every stored time.

django-money stays for the Money fields and their arithmetic. Its exchange app
(one undated rate a currency) is read no more: bowtie migration 0021 copied
its rows here.
"""

import logging
from collections import Counter
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case, F, IntegerField, Value, When
from django.db.models.lookups import Exact
from django.utils import timezone
from djmoney.money import Money
from moneyed import CURRENCIES

from bowtie.aggregates import Decimals, round_half_even
from bowtie.models import ExchangeRate, Person

logger = logging.getLogger(__name__)

# TODO(exchange): djmoney.contrib.exchange stays installed only because
# migration 0021 reads its tables. Remove it from INSTALLED_APPS (and that
# migration's dependency on it) once every installation has migrated past
# 0021, e.g. when the migrations are next squashed.

ONE = Decimal(1)
# The column is 18 digits with 8 decimals.
LARGEST_RATE = Decimal("9999999999.99999999")


def base_currency() -> str:
    return settings.BOWTIE_BASE_CURRENCY


def today() -> date:
    # The UTC date, as the rates' days and `Deal.created_at` are read.
    return timezone.now().date()


def rate_on(currency, day: date) -> Decimal | None:
    """Units of `currency` one base unit buys on `day`; None without a rate."""
    code = str(currency).upper()
    if code == base_currency():
        return ONE
    return (
        ExchangeRate.objects.filter(currency=code, effective_on__lte=day)
        .order_by("-effective_on")
        .values_list("units_per_base", flat=True)
        .first()
    )


def rates_on(currencies, day: date) -> dict[str, Decimal | None]:
    """The rate of `day` for each currency, one query each, for batches."""
    return {str(code): rate_on(code, day) for code in set(currencies) if code}


def to_base(amount: Decimal, rate: Decimal) -> Decimal:
    return round(amount / rate, 2)


def in_base(
    value: Money | None, day: date | None = None, rate: Decimal | None = None
) -> Money | None:
    """The value in the base currency, to the cent; None without a rate.

    At `rate` when given (a deal's stored one), else at the rate of `day`
    (today when not given).
    """
    if value is None:
        return None
    if rate is None:
        rate = rate_on(value.currency, day or today())
    if rate is None:
        return None
    return Money(to_base(value.amount, rate), base_currency())


# TODO(exchange): a deal created without a rate for its currency stays without
# one (listed on /settings/ownership/) until its currency changes; that is
# honest while such deals are rare. When RevOps asks to settle them, add a
# service that stamps them with a rate RevOps picks, recorded as chosen late.
def stamp_base_rate(deal, day: date) -> Decimal | None:
    """Keep on `deal` the rate of `day` for its currency; saves nothing.

    `base_rate_on` is set even when there is no rate, so the deal says which
    day's rate it lacks; `base_rate` then stays empty rather than guessed.
    `Deal.save` calls this when the row is added and when its currency
    changes; a batch that skips `save` calls `stamp_base_rates`.
    """
    currency = deal.amount_currency
    deal.base_rate = rate_on(currency, day) if currency else None
    deal.base_rate_on = day
    return deal.base_rate


def stamp_base_rates(deals, day: date) -> int:
    """Stamp unsaved deals of a bulk create with the rates of `day`.

    One query per currency. Returns how many deals have no rate, each
    currency reported once in the log.
    """
    rates = rates_on((deal.amount_currency for deal in deals), day)
    missing = Counter()
    for deal in deals:
        currency = deal.amount_currency
        deal.base_rate = rates.get(str(currency)) if currency else None
        deal.base_rate_on = day
        if currency and deal.base_rate is None:
            missing[str(currency)] += 1
    for currency, count in sorted(missing.items()):
        logger.warning(
            "%s deals kept without a rate: no %s rate on %s", count, currency, day
        )
    return sum(missing.values())


def annual_value_in_base(deal) -> Decimal | None:
    """The deal's amount per year in the base currency, at its stored rate.

    None without an amount, or for a deal stored without a rate. A deal not
    saved yet converts at today's rate, the one saving it would keep.
    """
    if deal.amount is None:
        return None
    rate = deal.base_rate
    if deal.pk is None and deal.base_rate_on is None:
        rate = rate_on(deal.amount.currency, today())
    if rate is None:
        return None
    months = deal.term_months or 12
    return to_base(deal.amount.amount * 12 / months, rate)


def annual_value_in_base_sql(deal: str = ""):
    """`annual_value_in_base` as an SQL expression, to sum over many deals.

    `deal` is the path to the deal from the rows queried ("" for deals
    themselves, "renews" for the deal a renewal renews). NULL where the
    Python answers None; the same cents otherwise, rounded the same way.
    """
    prefix = f"{deal}__" if deal else ""
    term_months = F(f"{prefix}term_months")
    months = Case(
        When(Exact(term_months, 0), then=Value(12)),
        default=term_months,
        output_field=IntegerField(),
    )
    yearly = Decimals(F(f"{prefix}amount")) * Value(12) / months
    return round_half_even(yearly / Decimals(F(f"{prefix}base_rate")), 2)


def find_rate_problems(
    currency: str, units_per_base, effective_on: date | None, on: date, rate=None
) -> dict[str, list[str]]:
    """Name each bad value of a new (or an upcoming, `rate`) rate, by field."""
    problems = {}
    code = (currency or "").strip().upper()
    if code == base_currency():
        problems["currency"] = [f"{code} is the base currency: its rate is 1."]
    elif code not in CURRENCIES:
        problems["currency"] = [f"{code or 'Empty'}: not an ISO 4217 currency code."]

    if units_per_base is None or units_per_base <= 0:
        problems["units_per_base"] = ["A rate is more than 0."]
    elif units_per_base > LARGEST_RATE:
        problems["units_per_base"] = [f"At most {LARGEST_RATE:,}."]

    if effective_on is None:
        problems["effective_on"] = ["Give the day the rate starts."]
    elif effective_on < on:
        problems["effective_on"] = [
            f"A rate starts today ({on}) or later: deals created on earlier days "
            "kept the rate of their day."
        ]
    elif "currency" not in problems:
        taken = ExchangeRate.objects.filter(currency=code, effective_on=effective_on)
        if rate is not None:
            taken = taken.exclude(pk=rate.pk)
        if taken.exists():
            problems["effective_on"] = [
                f"{code} has a rate from {effective_on} already; pick another day."
            ]
    return problems


def refuse_if_any(problems: dict) -> None:
    if problems:
        raise ValidationError(problems)


@transaction.atomic
def add_exchange_rate(
    currency: str,
    units_per_base: Decimal,
    effective_on: date,
    actor: Person | None,
    now=None,
) -> ExchangeRate:
    """Put a rate in force from `effective_on` (today or later).

    Raises ValidationError naming each bad field; nothing is stored then.
    """
    now = now or timezone.now()
    refuse_if_any(
        find_rate_problems(currency, units_per_base, effective_on, now.date())
    )

    rate = ExchangeRate(
        currency=currency.strip().upper(),
        units_per_base=units_per_base,
        effective_on=effective_on,
        created_by=actor,
    )
    attribute_to(rate, actor)
    try:
        # A savepoint: a rate added at the same moment is refused by name.
        with transaction.atomic():
            rate.save()
    except IntegrityError:
        raise ValidationError(
            {"effective_on": ["Another rate from this day was just added."]}
        ) from None
    logger.info("exchange rate %s added, from %s", rate.pk, rate.effective_on)
    return rate


def attribute_to(rate: ExchangeRate, actor: Person | None) -> None:
    # The audit history takes the request's user; a task or a shell has none.
    if actor is not None and actor.user_id is not None:
        rate._history_user = actor.user


def refuse_unless_upcoming(rate: ExchangeRate, on: date) -> None:
    if rate.effective_on <= on:
        raise ValidationError(
            {
                "effective_on": [
                    f"In force since {rate.effective_on}: deals may have kept it. "
                    "Correct it with a new rate from a later day."
                ]
            }
        )


@transaction.atomic
def change_upcoming_rate(
    rate: ExchangeRate,
    units_per_base: Decimal,
    effective_on: date,
    actor: Person | None,
    now=None,
) -> ExchangeRate:
    """Change a rate that has not started; one in force is refused."""
    now = now or timezone.now()
    rate = ExchangeRate.objects.select_for_update().get(pk=rate.pk)
    refuse_unless_upcoming(rate, now.date())
    refuse_if_any(
        find_rate_problems(
            rate.currency, units_per_base, effective_on, now.date(), rate=rate
        )
    )

    rate.units_per_base, rate.effective_on = units_per_base, effective_on
    attribute_to(rate, actor)
    rate.save(update_fields=["units_per_base", "effective_on"])
    logger.info("exchange rate %s changed before it started", rate.pk)
    return rate


@transaction.atomic
def withdraw_upcoming_rate(rate: ExchangeRate, actor: Person | None, now=None):
    """Delete a rate that has not started; its history keeps who and when."""
    now = now or timezone.now()
    rate = ExchangeRate.objects.select_for_update().get(pk=rate.pk)
    refuse_unless_upcoming(rate, now.date())

    attribute_to(rate, actor)
    rate.delete()
    logger.info("exchange rate %s withdrawn before it started", rate.pk)
