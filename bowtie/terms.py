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
