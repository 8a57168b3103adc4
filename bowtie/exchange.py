"""Exchange rates RevOps keeps, to compare deal values across currencies.

django-money's exchange app stores the rates; its backend here is the admin,
because a self-hosted portal cannot count on reaching a rates service. Each
rate says how many units of a currency one euro buys, so every conversion is
through the euro, the currency the involvement thresholds are written in.
A value that has no rate is not guessed: callers get None and say so.
"""

from djmoney.contrib.exchange.backends.base import BaseExchangeBackend
from djmoney.contrib.exchange.exceptions import MissingRate
from djmoney.contrib.exchange.models import ExchangeBackend, Rate, convert_money
from djmoney.money import Money

BASE_CURRENCY = "EUR"


class AdminRatesBackend(BaseExchangeBackend):
    """Rates entered in the admin; `update_rates` keeps them as they are."""

    name = "admin"

    def get_rates(self, **kwargs) -> dict:
        return dict(
            Rate.objects.filter(backend_id=self.name).values_list("currency", "value")
        )


def rates_backend() -> ExchangeBackend:
    backend, _ = ExchangeBackend.objects.get_or_create(
        name=AdminRatesBackend.name, defaults={"base_currency": BASE_CURRENCY}
    )
    return backend


def in_euros(value: Money | None) -> Money | None:
    """The value in EUR at the rate kept now; None without a rate."""
    if value is None:
        return None
    if str(value.currency) == BASE_CURRENCY:
        return value
    try:
        return convert_money(value, BASE_CURRENCY)
    except MissingRate:
        return None
