"""Business-time arithmetic: exact instants across weekends, holidays and DST.

Pure functions over a calendar value: no database.
"""

from datetime import UTC, date, datetime, time
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from bowtie.calendars import (
    BusinessCalendar,
    ClosedDays,
    NoWorkingTime,
    WorkingInterval,
    add_business_seconds,
    business_seconds_between,
    closed_days_ahead,
    merged_weekly_hours,
    next_working_periods,
    subtract_business_seconds,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
MINUTE = 60
HOUR = 3600
WEEKDAYS = range(5)


def office_hours(zone, *intervals, days=WEEKDAYS, closed=None, away=()):
    intervals = intervals or ((time(9), time(18)),)
    return BusinessCalendar(
        zone=zone,
        weekly_hours={day: tuple(intervals) for day in days},
        closed_days=closed or ClosedDays(),
        away=away,
    )


def local(zone, *parts):
    return datetime(*parts, tzinfo=zone)


def test_friday_evening_lead_is_due_monday_after_the_spring_change():
    calendar = office_hours(BERLIN)
    arrived = local(BERLIN, 2027, 3, 26, 17, 58)

    due = add_business_seconds(calendar, arrived, 10 * MINUTE)

    assert due == datetime(2027, 3, 29, 7, 8, tzinfo=UTC)
    assert due.astimezone(BERLIN) == local(BERLIN, 2027, 3, 29, 9, 8)


def test_german_holidays_move_the_same_lead_past_easter_monday():
    # 26 March 2027 is Good Friday and 29 March Easter Monday in Germany: the
    # lead arrives on a closed day and waits for Tuesday's opening.
    calendar = office_hours(BERLIN, closed=ClosedDays(country="DE"))

    due = add_business_seconds(calendar, local(BERLIN, 2027, 3, 26, 17, 58), 600)

    assert due == datetime(2027, 3, 30, 7, 10, tzinfo=UTC)


def test_autumn_change_weekend_counts_the_local_day_not_utc():
    # Berlin leaves summer time on 31 October 2027: Monday opens at 08:00 UTC.
    calendar = office_hours(BERLIN)

    due = add_business_seconds(calendar, local(BERLIN, 2027, 10, 29, 17, 55), 600)

    assert due == datetime(2027, 11, 1, 8, 5, tzinfo=UTC)


def test_a_night_arrival_waits_for_the_morning():
    calendar = office_hours(BERLIN)

    due = add_business_seconds(calendar, local(BERLIN, 2027, 5, 4, 2, 30), 300)

    assert due == local(BERLIN, 2027, 5, 4, 9, 5)


def test_a_weekend_arrival_waits_for_monday():
    calendar = office_hours(BERLIN)

    due = add_business_seconds(calendar, local(BERLIN, 2027, 5, 8, 11, 0), 300)

    assert due == local(BERLIN, 2027, 5, 10, 9, 5)


def test_a_split_day_skips_the_lunch_break():
    calendar = office_hours(BERLIN, (time(9), time(12)), (time(13), time(17)))

    due = add_business_seconds(calendar, local(BERLIN, 2027, 5, 4, 11, 50), 30 * 60)

    assert due == local(BERLIN, 2027, 5, 4, 13, 20)


def test_work_that_ends_at_closing_time_is_due_at_closing_time():
    calendar = office_hours(BERLIN)

    due = add_business_seconds(calendar, local(BERLIN, 2027, 5, 4, 17, 50), 600)

    assert due == local(BERLIN, 2027, 5, 4, 18, 0)


def test_day_boundaries_are_the_owners_not_utcs():
    # 20:00 in New York is already the next day in UTC: still Tuesday there.
    calendar = office_hours(NEW_YORK, (time(9), time(21)))

    due = add_business_seconds(calendar, local(NEW_YORK, 2027, 5, 4, 20, 55), 600)

    assert due == local(NEW_YORK, 2027, 5, 5, 9, 5)


def test_company_day_off_and_regional_holiday_are_closed():
    # 6 January is a holiday in Bavaria, not in Berlin; 7 January is a
    # company day off.
    bavaria = ClosedDays(
        country="DE", region="BY", company_days={date(2027, 1, 7): "Offsite"}
    )
    berlin = ClosedDays(country="DE", region="BE")
    arrived = local(BERLIN, 2027, 1, 5, 17, 55)

    in_bavaria = add_business_seconds(
        office_hours(BERLIN, closed=bavaria), arrived, 600
    )
    in_berlin = add_business_seconds(office_hours(BERLIN, closed=berlin), arrived, 600)

    assert in_bavaria == local(BERLIN, 2027, 1, 8, 9, 5)
    assert in_berlin == local(BERLIN, 2027, 1, 6, 9, 5)


def test_a_long_target_spans_several_working_days():
    calendar = office_hours(BERLIN)

    due = add_business_seconds(calendar, local(BERLIN, 2027, 5, 6, 10, 0), 20 * HOUR)

    # Thursday 8 h, Friday 9 h, then 3 h on Monday.
    assert due == local(BERLIN, 2027, 5, 10, 12, 0)


def test_no_working_hours_means_around_the_clock():
    calendar = BusinessCalendar(zone=BERLIN, weekly_hours={})
    arrived = local(BERLIN, 2027, 5, 8, 23, 58)

    assert add_business_seconds(calendar, arrived, 600) == local(
        BERLIN, 2027, 5, 9, 0, 8
    )
    assert business_seconds_between(calendar, arrived, arrived.replace(minute=59)) == 60


def test_a_calendar_closed_for_good_is_refused():
    calendar = office_hours(BERLIN, days=[0])
    everything_closed = ClosedDays(
        company_days={
            date.fromordinal(day): "closed"
            for day in range(date(2027, 1, 1).toordinal(), date(2029, 1, 1).toordinal())
        }
    )
    calendar = BusinessCalendar(
        zone=BERLIN, weekly_hours=calendar.weekly_hours, closed_days=everything_closed
    )

    with pytest.raises(NoWorkingTime):
        add_business_seconds(calendar, local(BERLIN, 2027, 1, 1, 9, 0), 60)


def test_business_seconds_between_skips_nights_and_weekends():
    calendar = office_hours(BERLIN)

    seconds = business_seconds_between(
        calendar, local(BERLIN, 2027, 5, 7, 17, 0), local(BERLIN, 2027, 5, 10, 9, 30)
    )

    assert seconds == 90 * MINUTE


def test_next_working_periods_leave_out_time_away_and_closed_days():
    away = ((local(BERLIN, 2027, 5, 5, 12, 0), local(BERLIN, 2027, 5, 6, 0, 0)),)
    calendar = office_hours(
        BERLIN, closed=ClosedDays(country="DE", region="BE"), away=away
    )

    periods = next_working_periods(calendar, local(BERLIN, 2027, 5, 4, 17, 0), 4)

    assert periods == [
        WorkingInterval(
            local(BERLIN, 2027, 5, 4, 17, 0), local(BERLIN, 2027, 5, 4, 18)
        ),
        WorkingInterval(local(BERLIN, 2027, 5, 5, 9, 0), local(BERLIN, 2027, 5, 5, 12)),
        # 6 May 2027 is Ascension Day.
        WorkingInterval(local(BERLIN, 2027, 5, 7, 9, 0), local(BERLIN, 2027, 5, 7, 18)),
        WorkingInterval(
            local(BERLIN, 2027, 5, 10, 9, 0), local(BERLIN, 2027, 5, 10, 18)
        ),
    ]
    assert closed_days_ahead(calendar, date(2027, 5, 4), days=10) == [
        (date(2027, 5, 6), "Ascension Day")
    ]


def test_an_interval_the_spring_change_swallows_adds_no_time():
    # 02:00-03:00 on 28 March 2027 does not exist in Berlin.
    calendar = office_hours(BERLIN, (time(2, 30), time(3, 0)), (time(9), time(10)))
    arrived = local(BERLIN, 2027, 3, 28, 0, 0)

    due = add_business_seconds(
        BusinessCalendar(
            zone=BERLIN, weekly_hours={6: calendar.weekly_hours[0], 0: ()}
        ),
        arrived,
        600,
    )

    assert due == local(BERLIN, 2027, 3, 28, 9, 10)


def test_a_period_may_run_to_midnight():
    calendar = office_hours(BERLIN, (time(18), time(0)))

    due = add_business_seconds(calendar, local(BERLIN, 2027, 5, 4, 23, 55), 600)

    # Five minutes before midnight, five after Wednesday's 18:00.
    assert due == local(BERLIN, 2027, 5, 5, 18, 5)


def test_overlapping_and_touching_periods_count_once():
    periods = [
        SimpleNamespace(weekday=0, starts_at=time(9), ends_at=time(12)),
        SimpleNamespace(weekday=0, starts_at=time(11), ends_at=time(14)),
        SimpleNamespace(weekday=0, starts_at=time(14), ends_at=time(0)),
        SimpleNamespace(weekday=1, starts_at=time(9), ends_at=time(10)),
    ]

    assert merged_weekly_hours(periods) == {
        0: ((time(9), time(0)),),
        1: ((time(9), time(10)),),
    }


def test_a_lowercase_or_unknown_country_still_counts_time():
    lowercase = office_hours(BERLIN, closed=ClosedDays(country="de"))
    unknown = office_hours(BERLIN, closed=ClosedDays(country="ZZ"))
    arrived = local(BERLIN, 2027, 3, 26, 17, 58)

    assert add_business_seconds(lowercase, arrived, 600) == datetime(
        2027, 3, 30, 7, 10, tzinfo=UTC
    )
    assert add_business_seconds(unknown, arrived, 600) == datetime(
        2027, 3, 29, 7, 8, tzinfo=UTC
    )


def test_subtracting_business_time_walks_back_over_the_weekend():
    calendar = office_hours(BERLIN)

    start = subtract_business_seconds(calendar, local(BERLIN, 2027, 5, 10, 9, 5), 600)

    assert start == local(BERLIN, 2027, 5, 7, 17, 55)
