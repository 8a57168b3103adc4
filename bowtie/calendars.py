"""Business time: when a team or a person works, and clocks on those hours.

A calendar is an IANA zone, a weekly schedule (a day may hold several
intervals), the days it is closed (public holidays of a country and region,
from the `holidays` library, and company days off) and periods away. All the
arithmetic walks local days in the calendar's own zone and turns each working
interval into UTC on its own: weekends, holidays and both daylight-saving
changes then fall out of one loop, and a day starts at the owner's midnight,
not UTC's.

A calendar with no working hours at all runs around the clock: business time
is elapsed time there, and its closed days do not matter.
"""

import functools
import logging
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
from django.db.models import Q
from django.dispatch import Signal

from bowtie.models import CompanyDayOff, OutOfOffice, WorkingPeriod

logger = logging.getLogger(__name__)

# Longer than any run of closed days a real calendar has. A calendar with no
# working time in that many days in a row is refused, not looped over forever.
HORIZON_DAYS = 400

# Sent inside the transaction that changed working hours, holidays, days off
# or a zone, so that the apps with clocks recompute their open due times.
# Arguments: teams, people (lists), everyone (bool), now.
calendar_changed = Signal()


# As the end of a working period: the midnight that ends the day.
MIDNIGHT = time(0)


class NoWorkingTime(ValueError):
    """The calendar has no working time in the horizon: no due time exists."""


@dataclass(frozen=True)
class WorkingInterval:
    starts_at: datetime
    ends_at: datetime

    @property
    def seconds(self) -> float:
        return (self.ends_at - self.starts_at).total_seconds()


@dataclass(frozen=True)
class ClosedDays:
    """Public holidays of one country and region, and company days off."""

    country: str = ""
    region: str = ""
    company_days: Mapping[date, str] = field(default_factory=dict)

    def name_of(self, day: date) -> str | None:
        """What closes this day, or None on an ordinary day."""
        if day in self.company_days:
            return self.company_days[day]
        if self.country:
            return holiday_name(self.country, self.region, day)
        return None


# Names in one language whatever the server's locale; the calendars fill in
# their years on first use, so threads take turns at them.
HOLIDAY_LANGUAGE = "en_US"
holiday_lock = threading.Lock()


@functools.cache
def public_holidays(country: str, region: str = "") -> Mapping[date, str]:
    """The public holidays of a country and region; none for an unknown one."""
    try:
        return holidays.country_holidays(
            country.upper(), subdiv=region or None, language=HOLIDAY_LANGUAGE
        )
    except NotImplementedError:
        # Refused by the models' validation; stored before it, or by hand.
        logger.warning("no public holidays known for %s %s", country, region)
        return {}


def holiday_name(country: str, region: str, day: date) -> str | None:
    calendar = public_holidays(country, region)
    with holiday_lock:
        return calendar.get(day)


def supported_regions(country: str) -> list[str] | None:
    """The subdivisions the library knows for a country; None if unknown."""
    return holidays.list_supported_countries().get(country.upper())


@dataclass(frozen=True)
class BusinessCalendar:
    zone: ZoneInfo
    # Weekday (Monday 0) to its intervals, sorted and not overlapping.
    weekly_hours: Mapping[int, tuple[tuple[time, time], ...]]
    closed_days: ClosedDays = field(default_factory=ClosedDays)
    # UTC periods the person is away: they shape availability, not clocks.
    away: tuple[tuple[datetime, datetime], ...] = ()
    # Whose calendar this is, in words, for the pages that show it.
    source: str = ""

    @property
    def is_around_the_clock(self) -> bool:
        return not any(self.weekly_hours.values())

    def intervals_from(self, start: datetime) -> Iterator[WorkingInterval]:
        """Working intervals from `start` on, in UTC, the first one clipped.

        Endless while the calendar has working time; raises NoWorkingTime
        after HORIZON_DAYS local days in a row without any.
        """
        day = start.astimezone(self.zone).date()
        idle_days = 0
        while idle_days < HORIZON_DAYS:
            found = False
            if self.closed_days.name_of(day) is None:
                for opens, closes in self.weekly_hours.get(day.weekday(), ()):
                    starts_at, ends_at = interval_on(day, opens, closes, self.zone)
                    if ends_at <= start or ends_at == starts_at:
                        continue
                    found = True
                    yield WorkingInterval(max(starts_at, start), ends_at)
            idle_days = 0 if found else idle_days + 1
            day += timedelta(days=1)
        raise NoWorkingTime(f"No working time in {HORIZON_DAYS} days from {start}.")

    def intervals_before(self, end: datetime) -> Iterator[WorkingInterval]:
        """Working intervals before `end`, latest first, the first one clipped."""
        day = end.astimezone(self.zone).date()
        idle_days = 0
        while idle_days < HORIZON_DAYS:
            found = False
            if self.closed_days.name_of(day) is None:
                for opens, closes in reversed(self.weekly_hours.get(day.weekday(), ())):
                    starts_at, ends_at = interval_on(day, opens, closes, self.zone)
                    if starts_at >= end or ends_at == starts_at:
                        continue
                    found = True
                    yield WorkingInterval(starts_at, min(ends_at, end))
            idle_days = 0 if found else idle_days + 1
            day -= timedelta(days=1)
        raise NoWorkingTime(f"No working time in {HORIZON_DAYS} days before {end}.")

    def available_intervals_from(self, start: datetime) -> Iterator[WorkingInterval]:
        """Working intervals with the periods away cut out."""
        for interval in self.intervals_from(start):
            yield from subtract_periods(interval, self.away)


def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """A wall-clock time on a local day, in UTC.

    A time that the spring change skips is read with the offset before the
    change (02:30 becomes 03:30); a time the autumn change repeats is its
    first occurrence.
    """
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def interval_on(day: date, opens: time, closes: time, zone: ZoneInfo):
    """One working interval of a local day in UTC; 00:00 closes at midnight.

    An interval that the spring change swallows (02:30-03:00 on that night)
    comes out empty, its start at its end, rather than backwards.
    """
    starts_at = local_instant(day, opens, zone)
    if closes == MIDNIGHT:
        ends_at = local_instant(day + timedelta(days=1), MIDNIGHT, zone)
    else:
        ends_at = local_instant(day, closes, zone)
    return starts_at, max(starts_at, ends_at)


def subtract_periods(
    interval: WorkingInterval, periods: tuple[tuple[datetime, datetime], ...]
) -> Iterator[WorkingInterval]:
    pieces = [interval]
    for away_from, away_until in periods:
        pieces = [
            part
            for piece in pieces
            for part in (
                WorkingInterval(piece.starts_at, min(piece.ends_at, away_from)),
                WorkingInterval(max(piece.starts_at, away_until), piece.ends_at),
            )
            if part.ends_at > part.starts_at
        ]
    yield from pieces


def add_business_seconds(
    calendar: BusinessCalendar, start: datetime, seconds: int
) -> datetime:
    """The instant `seconds` of working time after `start`, in UTC.

    Work that ends exactly at closing time is due at closing time, not at
    the next opening.
    """
    if seconds <= 0 or calendar.is_around_the_clock:
        return start + timedelta(seconds=max(seconds, 0))

    remaining = timedelta(seconds=seconds)
    for interval in calendar.intervals_from(start):
        length = interval.ends_at - interval.starts_at
        if remaining <= length:
            return (interval.starts_at + remaining).astimezone(UTC)
        remaining -= length
    raise AssertionError("intervals_from ends only by raising")


def subtract_business_seconds(
    calendar: BusinessCalendar, end: datetime, seconds: int
) -> datetime:
    """The instant from which `seconds` of working time lead up to `end`."""
    if seconds <= 0 or calendar.is_around_the_clock:
        return end - timedelta(seconds=max(seconds, 0))

    remaining = timedelta(seconds=seconds)
    for interval in calendar.intervals_before(end):
        length = interval.ends_at - interval.starts_at
        if remaining <= length:
            return (interval.ends_at - remaining).astimezone(UTC)
        remaining -= length
    raise AssertionError("intervals_before ends only by raising")


def business_seconds_between(
    calendar: BusinessCalendar, start: datetime, end: datetime
) -> float:
    """Working seconds from `start` to `end`; zero when end is not later."""
    if end <= start:
        return 0.0
    if calendar.is_around_the_clock:
        return (end - start).total_seconds()

    total = 0.0
    try:
        for interval in calendar.intervals_from(start):
            if interval.starts_at >= end:
                break
            total += (min(interval.ends_at, end) - interval.starts_at).total_seconds()
    except NoWorkingTime:
        pass
    return total


def next_working_periods(
    calendar: BusinessCalendar, now: datetime, count: int = 10
) -> list[WorkingInterval]:
    """The next `count` periods of availability, in the calendar's zone."""
    if calendar.is_around_the_clock:
        return []
    periods = []
    try:
        for interval in calendar.available_intervals_from(now):
            periods.append(
                WorkingInterval(
                    interval.starts_at.astimezone(calendar.zone),
                    interval.ends_at.astimezone(calendar.zone),
                )
            )
            if len(periods) == count:
                break
    except NoWorkingTime:
        pass
    return periods


def closed_days_ahead(calendar: BusinessCalendar, today: date, days: int = 60):
    """(day, reason) for each closed working day in the next `days` days."""
    return [
        (day, calendar.closed_days.name_of(day))
        for day in (today + timedelta(days=offset) for offset in range(days))
        if calendar.weekly_hours.get(day.weekday())
        and calendar.closed_days.name_of(day) is not None
    ]


def merged_weekly_hours(periods) -> dict[int, tuple[tuple[time, time], ...]]:
    """Weekday to sorted intervals, overlapping or touching ones joined."""

    def end_key(closes: time) -> tuple[int, time]:
        # Midnight as an end is the latest time of the day.
        return (closes == MIDNIGHT, closes)

    by_day: dict[int, list[list[time]]] = {}
    for period in sorted(periods, key=lambda p: (p.weekday, p.starts_at)):
        day = by_day.setdefault(period.weekday, [])
        if day and (False, period.starts_at) <= end_key(day[-1][1]):
            day[-1][1] = max(day[-1][1], period.ends_at, key=end_key)
        else:
            day.append([period.starts_at, period.ends_at])
    return {
        weekday: tuple((opens, closes) for opens, closes in intervals)
        for weekday, intervals in by_day.items()
    }


def calendar_for(person=None, team=None, *, with_away=False) -> BusinessCalendar:
    """The calendar whose hours a person's (or a team's) clocks run on.

    A person with working hours of their own works them in their own zone;
    one without works the team's hours in the team's zone. Public holidays
    are the person's country and region when set, otherwise the team's.
    Company days off are those for everyone and those of the team.
    """
    if team is None and person is not None:
        team = person.team
    owners = Q(pk__in=[])
    if person is not None:
        owners |= Q(person=person)
    if team is not None:
        owners |= Q(team=team)
    away = ()
    if with_away and person is not None:
        away = OutOfOffice.objects.filter(person=person).values_list(
            "starts_at", "ends_at"
        )
    # Querysets: the days off and the time away are read only for a calendar
    # with working hours.
    return build_calendar(
        person,
        team,
        periods=WorkingPeriod.objects.filter(owners),
        days_off=CompanyDayOff.objects.filter(Q(team=None) | Q(team=team)),
        away=away,
    )


def build_calendar(person, team, *, periods, days_off, away=()) -> BusinessCalendar:
    """The calendar of `calendar_for`, from rows the caller has read.

    `periods` are the working periods of the person and the team, `days_off`
    the company's and the team's days off, `away` (start, end) pairs; each
    is iterated only when needed. A data migration passes the rows of its
    own historical models here, so its business time is counted by the same
    rules as the clocks'.
    """
    periods = list(periods)
    own = [period for period in periods if period.person_id is not None]
    if own:
        zone, chosen, source = person.time_zone, own, f"{person}'s own hours"
    elif team is not None:
        chosen = [period for period in periods if period.team_id is not None]
        zone, source = team.time_zone, f"the hours of {team}"
    else:
        zone, chosen, source = (person.time_zone if person else "UTC"), [], ""

    weekly_hours = merged_weekly_hours(chosen)
    if not weekly_hours:
        return BusinessCalendar(zone=ZoneInfo(zone), weekly_hours={}, source=source)

    if person is not None and person.country:
        country, region = person.country, person.holiday_region
    elif team is not None:
        country, region = team.country, team.holiday_region
    else:
        country, region = "", ""
    return BusinessCalendar(
        zone=ZoneInfo(zone),
        weekly_hours=weekly_hours,
        closed_days=ClosedDays(
            country=country,
            region=region,
            company_days={day.on: day.name for day in days_off},
        ),
        away=tuple(away),
        source=source,
    )


def announce_calendar_change(now, *, teams=(), people=(), everyone=False) -> None:
    """Tell the apps with clocks that these calendars changed; call in the
    transaction that changed them."""
    calendar_changed.send(
        sender=BusinessCalendar,
        teams=list(teams),
        people=list(people),
        everyone=everyone,
        now=now,
    )
    logger.info(
        "calendars changed: %s teams, %s people, everyone %s",
        len(teams),
        len(people),
        everyone,
    )
