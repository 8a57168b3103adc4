"""Parse the values a deal change sends: one function per field, each refusal named.

Callers send JSON (the API, a CRM webhook) or text (a CSV cell), so each
parser takes either: "12" and 12 are the same term, "Won" and the won stage's
id the same stage. A parser returns the value to store or raises `BadValue`
with what to send instead; `parse_values` collects those by field, so one
answer names every bad field at once.
"""

from datetime import date
from decimal import Decimal, InvalidOperation

from django.utils.dateparse import parse_date
from djmoney.settings import CURRENCY_CHOICES

from bowtie.models import Account, Deal, Person, Pipeline, Product, Stage
from bowtie.models import product_lookup_key as product_key
from handoffs.closing import packet_items

KNOWN_CURRENCIES = frozenset(code for code, _ in CURRENCY_CHOICES)
# Twelve digits before the point, two after: the column is 14 by 2.
LARGEST_AMOUNT = Decimal("999999999999.99")
LONGEST_TERM_MONTHS = 120


class BadValue(Exception):
    """One field's value is unusable; the message says what to send instead."""


def parse_whole_number(raw, lowest: int, highest: int) -> int:
    # Booleans are integers to Python, not to whoever sent `true`.
    if isinstance(raw, bool) or isinstance(raw, float) and not raw.is_integer():
        raise BadValue(f"Give a whole number from {lowest} to {highest}.")
    try:
        number = int(str(raw).strip()) if isinstance(raw, str) else int(raw)
    except (TypeError, ValueError):
        raise BadValue(f"Give a whole number from {lowest} to {highest}.") from None
    if not lowest <= number <= highest:
        raise BadValue(f"Give a whole number from {lowest} to {highest}.")
    return number


def parse_name(raw) -> str:
    name = raw.strip() if isinstance(raw, str) else ""
    if not name:
        raise BadValue("Give the deal a name.")
    if len(name) > Deal._meta.get_field("name").max_length:
        raise BadValue("At most 200 characters.")
    return name


def parse_row(model, label: str, raw):
    """A related row by its id; None, or an empty text, clears the link."""
    if raw is None or raw == "":
        return None
    try:
        pk = parse_whole_number(raw, 1, 2**63 - 1)
    except BadValue:
        raise BadValue(f"Give the {label}'s id, a whole number.") from None
    row = model.objects.filter(pk=pk).first()
    if row is None:
        raise BadValue(f"No {label} has the id {pk}.")
    return row


def parse_owner(raw) -> Person | None:
    owner = parse_row(Person, "person", raw)
    if owner is not None and not owner.is_active:
        raise BadValue(f"{owner} is inactive and takes no new work.")
    return owner


def parse_product(raw) -> Product | None:
    """A product by its id or its name, spaced and cased any way."""
    if isinstance(raw, str) and raw.strip() and not raw.strip().isdigit():
        product = Product.objects.filter(lookup_key=product_key(raw)).first()
        if product is None:
            raise BadValue(f"No product is called {raw.strip()!r}.")
        return product
    return parse_row(Product, "product", raw)


def parse_amount(raw) -> Decimal | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        raise BadValue("Give the amount as a number, e.g. 24000.50.")
    try:
        amount = Decimal(str(raw).strip())
    except InvalidOperation:
        raise BadValue(
            "Give the amount as a number with a point for decimals and no "
            "thousands separators, e.g. 24000.50."
        ) from None
    if not amount.is_finite() or amount < 0:
        raise BadValue("Give an amount of 0 or more.")
    # Before the rounding check: quantize refuses numbers past its precision.
    if amount > LARGEST_AMOUNT:
        raise BadValue("At most 999,999,999,999.99.")
    if amount != amount.quantize(Decimal("0.01")):
        raise BadValue("At most two decimals.")
    return amount


def parse_currency(raw) -> str:
    code = raw.strip().upper() if isinstance(raw, str) else ""
    if code not in KNOWN_CURRENCIES:
        raise BadValue("Give an ISO 4217 currency code, e.g. EUR.")
    return code


def parse_day(raw) -> date | None:
    if raw is None or raw == "":
        return None
    try:
        day = parse_date(raw.strip()) if isinstance(raw, str) else None
    except ValueError:
        # Well formed but not in the calendar, e.g. 2027-02-30.
        day = None
    if day is None:
        raise BadValue("Give a date as YYYY-MM-DD.")
    return day


def parse_stage(raw, pipeline: Pipeline) -> Stage:
    """A stage of the deal's pipeline, by its id or its name in any case."""
    stages = list(pipeline.stages.all())
    text = raw.strip() if isinstance(raw, str) else None
    if text is not None:
        by_name = [
            stage for stage in stages if stage.name.casefold() == text.casefold()
        ]
        if by_name:
            return by_name[0]
    if not isinstance(raw, bool) and (
        isinstance(raw, int) or (text is not None and text.isdigit())
    ):
        by_id = [stage for stage in stages if stage.pk == int(raw)]
        if by_id:
            return by_id[0]
    names = ", ".join(stage.name for stage in stages)
    raise BadValue(f"{pipeline} has no stage {raw!r}; its stages are {names}.")


def parse_packet(raw, item_keys: set[str]) -> dict:
    """The whole packet, which replaces the stored one; its items by key."""
    if not isinstance(raw, dict):
        raise BadValue("Send the packet as an object of items by key.")
    unknown = sorted(set(raw) - item_keys)
    if unknown:
        raise BadValue(
            f"Unknown packet items: {', '.join(unknown)}; the packet's items are "
            f"{', '.join(sorted(item_keys))}."
        )
    return raw


def parse_values(values: dict, pipeline: Pipeline) -> tuple[dict, dict]:
    """Each given value parsed; and each bad one's reasons, by field."""
    parsers = {
        "name": parse_name,
        "account": lambda raw: parse_row(Account, "account", raw),
        "owner": parse_owner,
        "product": parse_product,
        "amount": parse_amount,
        "currency": parse_currency,
        "expected_close_on": parse_day,
        "term_months": lambda raw: parse_whole_number(raw, 1, LONGEST_TERM_MONTHS),
        "stage": lambda raw: parse_stage(raw, pipeline),
    }
    if "packet" in values:
        keys = {item.key for item in packet_items()}
        parsers["packet"] = lambda raw: parse_packet(raw, keys)

    parsed, errors = {}, {}
    for name, parse in parsers.items():
        if name not in values:
            continue
        try:
            parsed[name] = parse(values[name])
        except BadValue as bad:
            errors[name] = [str(bad)]
    return parsed, errors
