"""Calendar days in a time zone: what all-day tasks, the Today and Upcoming views and the
morning hour are built on.

An all-day task stores one fact, its calendar date, as the *last instant of that day* in
the task's time zone (`day_end`). So `due_date < now` is overdue exactly when the day has
ended there, a due range such as "before tomorrow" includes it, it sorts after the timed
tasks of its day, and the date reads back as `local_day(due_date, zone)` (`all_day`
says it is a date, not a time). Days are found through UTC with the zone's real
transitions, never by adding 24 hours, so a DST change does not move a task off its date.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

ONE_MICROSECOND = timedelta(microseconds=1)


def zone_of(tz: str | tzinfo) -> tzinfo:
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def day_start(day: date, tz: str | tzinfo) -> datetime:
    """The first instant (UTC) at which the wall clock in `tz` shows `day`.

    Midnight may be skipped (a DST gap at 00:00) or, in a few zones, shown twice: of the two
    readings of 00:00, the later one whose previous microsecond is still the day before
    is the start.
    """
    zone = zone_of(tz)
    wall = datetime.combine(day, time())
    readings = {wall.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1)}
    starts = [
        moment for moment in readings if (moment - ONE_MICROSECOND).astimezone(zone).date() < day
    ]
    return max(starts) if starts else min(readings)


def day_end(day: date, tz: str | tzinfo) -> datetime:
    """The last instant (UTC, to the microsecond) of `day` in `tz`: an all-day due date."""
    return day_start(day + timedelta(days=1), tz) - ONE_MICROSECOND


def local_day(moment: datetime, tz: str | tzinfo) -> date:
    """The calendar date `moment` falls on in `tz`."""
    return moment.astimezone(zone_of(tz)).date()


def all_day_due(moment: datetime, tz: str | tzinfo) -> datetime:
    """The all-day due date of the day `moment` falls on in `tz`."""
    return day_end(local_day(moment, tz), tz)


def at_hour(day: date, hour: int, tz: str | tzinfo) -> datetime:
    """`hour`:00 on `day` in `tz` (UTC); in a DST gap, the first instant after it, as
    RFC 5545 reads a time that does not exist."""
    zone = zone_of(tz)
    wall = datetime.combine(day, time(hour))
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
