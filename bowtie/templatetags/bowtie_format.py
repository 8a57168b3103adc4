"""Template filters that show numbers and codes the way people read them.

Load with `{% load bowtie_format %}`.
"""

from datetime import timedelta

import pycountry
from django import template

register = template.Library()

EMPTY = "–"


def format_duration(seconds: float | timedelta | None) -> str:
    """Say a span of time in the two largest units: "45 s", "2 min 40 s", "3 h 5 min".

    Seconds are rounded to the nearest whole; spans of an hour or more drop the
    seconds, spans of a day or more drop the minutes.
    """
    if seconds is None or seconds == "":
        return EMPTY
    if isinstance(seconds, timedelta):
        seconds = seconds.total_seconds()
    total = round(float(seconds))
    sign, total = ("-", -total) if total < 0 else ("", total)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        parts = [(days, "d"), (hours, "h")]
    elif hours:
        parts = [(hours, "h"), (minutes, "min")]
    elif minutes:
        parts = [(minutes, "min"), (secs, "s")]
    else:
        parts = [(secs, "s")]
    shown = [f"{value} {unit}" for value, unit in parts if value] or ["0 s"]
    return sign + " ".join(shown)


def format_percent(rate: float | None) -> str:
    """A share from 0 to 1 as a percentage: "30 %", "33.3 %"; "–" when undefined."""
    if rate is None or rate == "":
        return EMPTY
    percent = round(float(rate) * 100, 1)
    return f"{percent:g} %"


@register.filter
def duration(seconds) -> str:
    return format_duration(seconds)


@register.filter
def elapsed(start, end) -> str:
    """The span from `start` to `end`: {{ received_at|elapsed:responded_at }}."""
    if not start or not end:
        return EMPTY
    return format_duration(end - start)


@register.filter
def percent(rate) -> str:
    return format_percent(rate)


@register.filter
def country_name(code: str) -> str:
    if not code:
        return EMPTY
    country = pycountry.countries.get(alpha_2=code)
    return getattr(country, "common_name", None) or getattr(country, "name", code)


@register.filter
def language_name(code: str) -> str:
    if not code:
        return EMPTY
    language = pycountry.languages.get(alpha_2=code)
    return language.name if language else code


@register.simple_tag
def unread_notification_count(person) -> int:
    if not person:
        return 0
    return person.notifications.filter(read_at__isnull=True).count()
