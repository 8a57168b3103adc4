"""Contract terms: when a term that starts on a day ends, and when it renews.

A term of N months renews on the same day N months later. Two calendar traps,
both settled the way subscription billing settles them:

- A term that starts on the last day of a month renews on the last day of
  the month it reaches: 30 April renews on 31 May after one month, and
  31 January on 28 or 29 February.
- A day the target month lacks falls back to that month's last day: a term
  from 29 February renews on 28 February in a common year.

The term ends the day before it renews, so consecutive terms neither overlap
nor leave a gap.
"""

import calendar
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta


def is_last_day_of_month(day: date) -> bool:
    return day.day == calendar.monthrange(day.year, day.month)[1]


def renewal_on(starts_on: date, term_months: int) -> date:
    """The first day of the next term."""
    if term_months < 1:
        raise ValueError("A term lasts at least one month.")
    renews_on = starts_on + relativedelta(months=term_months)
    if is_last_day_of_month(starts_on):
        last = calendar.monthrange(renews_on.year, renews_on.month)[1]
        renews_on = renews_on.replace(day=last)
    return renews_on


def term_ends_on(starts_on: date, term_months: int) -> date:
    """The last day of the term, inclusive."""
    return renewal_on(starts_on, term_months) - timedelta(days=1)


def first_start_in_force(day: date, term_months: int) -> date:
    """The earliest day a term of `term_months` can start and be in force on `day`.

    `renewal_on` never moves back when the start moves forward, so the terms
    in force on `day` are those starting on this day up to `day` itself: SQL
    selects them with two comparisons instead of month arithmetic of its own.
    """
    # A month end moves a renewal by three days at most, so a start a week
    # before the same day `term_months` earlier has renewed by `day`.
    starts_on = day - relativedelta(months=term_months) - timedelta(days=7)
    while renewal_on(starts_on, term_months) <= day:
        starts_on += timedelta(days=1)
    return starts_on
