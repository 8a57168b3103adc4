"""Contract terms end and renew on the right day at month ends and leap years."""

from datetime import date, timedelta

import pytest

from bowtie.terms import first_start_in_force, renewal_on, term_ends_on


@pytest.mark.parametrize(
    ("starts_on", "months", "renews_on", "ends_on"),
    [
        (date(2027, 3, 15), 12, date(2028, 3, 15), date(2028, 3, 14)),
        # The last day of a month renews on the last day of the month reached.
        (date(2027, 1, 31), 1, date(2027, 2, 28), date(2027, 2, 27)),
        (date(2028, 1, 31), 1, date(2028, 2, 29), date(2028, 2, 28)),
        (date(2027, 4, 30), 1, date(2027, 5, 31), date(2027, 5, 30)),
        (date(2027, 8, 31), 6, date(2028, 2, 29), date(2028, 2, 28)),
        (date(2027, 12, 31), 12, date(2028, 12, 31), date(2028, 12, 30)),
        # 29 February: the last day of February in a common year.
        (date(2028, 2, 29), 12, date(2029, 2, 28), date(2029, 2, 27)),
        (date(2028, 2, 29), 48, date(2032, 2, 29), date(2032, 2, 28)),
        # The 30th is not a month end in January: February clamps, March not.
        (date(2027, 1, 30), 1, date(2027, 2, 28), date(2027, 2, 27)),
        (date(2027, 1, 30), 2, date(2027, 3, 30), date(2027, 3, 29)),
        (date(2027, 2, 28), 1, date(2027, 3, 31), date(2027, 3, 30)),
    ],
)
def test_term_renews_and_ends_on_the_right_day(starts_on, months, renews_on, ends_on):
    assert renewal_on(starts_on, months) == renews_on
    assert term_ends_on(starts_on, months) == ends_on


def test_a_term_of_no_months_is_refused():
    with pytest.raises(ValueError, match="at least one month"):
        renewal_on(date(2027, 1, 1), 0)


@pytest.mark.parametrize("months", [1, 2, 6, 11, 12, 13, 24, 36])
def test_first_start_in_force_is_the_first_whose_term_covers_the_day(months):
    days = [date(2027, 1, 1) + timedelta(days=offset) for offset in range(800)]

    firsts = {day: first_start_in_force(day, months) for day in days}

    for day, first in firsts.items():
        assert term_ends_on(first, months) >= day
        assert term_ends_on(first - timedelta(days=1), months) < day
