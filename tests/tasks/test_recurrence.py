"""Tests for the pure-Python recurrence engine (no database needed)."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr

from tasks.recurrence import (
    ALLOWED_FREQUENCIES,
    RecurrenceError,
    compose_rule,
    describe,
    next_occurrence,
    normalize_rule,
    occurrences,
    parse_rule,
    validate_rule,
)

NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")


def days(year: int, month: int, *numbers: int) -> list[date]:
    return [date(year, month, n) for n in numbers]


def span(year: int, month: int, first: int, last: int, step: int = 1) -> list[date]:
    return days(year, month, *range(first, last + 1, step))


def ny(y: int, m: int, d: int, hour: int = 9, minute: int = 0, fold: int = 0) -> datetime:
    return datetime(y, m, d, hour, minute, tzinfo=NY, fold=fold)


def berlin(y: int, m: int, d: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(y, m, d, hour, minute, tzinfo=BERLIN)


def series(
    rule: str, start: datetime, *, tz: str = "America/New_York", limit: int = 100
) -> list[datetime]:
    """Every occurrence including DTSTART (asked for from just before it)."""
    return occurrences(
        rule, series_start=start, tz=tz, after=start - timedelta(seconds=1), limit=limit
    )


# ---------------------------------------------------------------------------------------------
# RFC 5545 section 3.8.5.3 worked examples (all at 09:00 America/New_York)

# (rule, DTSTART date, listed dates, bounded): bounded rules must end exactly after the list,
# "forever" rules are compared on the listed prefix.
RFC_EXAMPLES = {
    "daily for 10 occurrences": (
        "FREQ=DAILY;COUNT=10",
        date(1997, 9, 2),
        span(1997, 9, 2, 11),
        True,
    ),
    "daily until December 24, 1997": (
        "FREQ=DAILY;UNTIL=19971224T000000Z",
        date(1997, 9, 2),
        span(1997, 9, 2, 30)
        + span(1997, 10, 1, 31)
        + span(1997, 11, 1, 30)
        + span(1997, 12, 1, 23),
        True,
    ),
    "every other day, forever": (
        "FREQ=DAILY;INTERVAL=2",
        date(1997, 9, 2),
        span(1997, 9, 2, 30, 2)
        + span(1997, 10, 2, 30, 2)
        + span(1997, 11, 1, 29, 2)
        + days(1997, 12, 1, 3),
        False,
    ),
    "every 10 days, 5 occurrences": (
        "FREQ=DAILY;INTERVAL=10;COUNT=5",
        date(1997, 9, 2),
        days(1997, 9, 2, 12, 22) + days(1997, 10, 2, 12),
        True,
    ),
    "every day in January for 3 years (yearly form)": (
        "FREQ=YEARLY;UNTIL=20000131T140000Z;BYMONTH=1;BYDAY=SU,MO,TU,WE,TH,FR,SA",
        date(1998, 1, 1),
        span(1998, 1, 1, 31) + span(1999, 1, 1, 31) + span(2000, 1, 1, 31),
        True,
    ),
    "every day in January for 3 years (daily form)": (
        "FREQ=DAILY;UNTIL=20000131T140000Z;BYMONTH=1",
        date(1998, 1, 1),
        span(1998, 1, 1, 31) + span(1999, 1, 1, 31) + span(2000, 1, 1, 31),
        True,
    ),
    "weekly for 10 occurrences": (
        "FREQ=WEEKLY;COUNT=10",
        date(1997, 9, 2),
        days(1997, 9, 2, 9, 16, 23, 30) + days(1997, 10, 7, 14, 21, 28) + days(1997, 11, 4),
        True,
    ),
    "weekly until December 24, 1997": (
        "FREQ=WEEKLY;UNTIL=19971224T000000Z",
        date(1997, 9, 2),
        days(1997, 9, 2, 9, 16, 23, 30)
        + days(1997, 10, 7, 14, 21, 28)
        + days(1997, 11, 4, 11, 18, 25)
        + days(1997, 12, 2, 9, 16, 23),
        True,
    ),
    "every other week, forever": (
        "FREQ=WEEKLY;INTERVAL=2;WKST=SU",
        date(1997, 9, 2),
        days(1997, 9, 2, 16, 30)
        + days(1997, 10, 14, 28)
        + days(1997, 11, 11, 25)
        + days(1997, 12, 9, 23)
        + days(1998, 1, 6, 20)
        + days(1998, 2, 3, 17),
        False,
    ),
    "weekly on Tuesday and Thursday for five weeks (until)": (
        "FREQ=WEEKLY;UNTIL=19971007T000000Z;WKST=SU;BYDAY=TU,TH",
        date(1997, 9, 2),
        days(1997, 9, 2, 4, 9, 11, 16, 18, 23, 25, 30) + days(1997, 10, 2),
        True,
    ),
    "weekly on Tuesday and Thursday for five weeks (count)": (
        "FREQ=WEEKLY;COUNT=10;WKST=SU;BYDAY=TU,TH",
        date(1997, 9, 2),
        days(1997, 9, 2, 4, 9, 11, 16, 18, 23, 25, 30) + days(1997, 10, 2),
        True,
    ),
    "every other week on Monday, Wednesday and Friday until December 24, 1997": (
        "FREQ=WEEKLY;INTERVAL=2;UNTIL=19971224T000000Z;WKST=SU;BYDAY=MO,WE,FR",
        date(1997, 9, 1),
        days(1997, 9, 1, 3, 5, 15, 17, 19, 29)
        + days(1997, 10, 1, 3, 13, 15, 17, 27, 29, 31)
        + days(1997, 11, 10, 12, 14, 24, 26, 28)
        + days(1997, 12, 8, 10, 12, 22),
        True,
    ),
    "every other week on Tuesday and Thursday, for 8 occurrences": (
        "FREQ=WEEKLY;INTERVAL=2;COUNT=8;WKST=SU;BYDAY=TU,TH",
        date(1997, 9, 2),
        days(1997, 9, 2, 4, 16, 18, 30) + days(1997, 10, 2, 14, 16),
        True,
    ),
    "WKST=MO changes which days an every-other-week rule generates": (
        "FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=MO",
        date(1997, 8, 5),
        days(1997, 8, 5, 10, 19, 24),
        True,
    ),
    "WKST=SU changes which days an every-other-week rule generates": (
        "FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=SU",
        date(1997, 8, 5),
        days(1997, 8, 5, 17, 19, 31),
        True,
    ),
    "monthly on the first Friday for 10 occurrences": (
        "FREQ=MONTHLY;COUNT=10;BYDAY=1FR",
        date(1997, 9, 5),
        days(1997, 9, 5)
        + days(1997, 10, 3)
        + days(1997, 11, 7)
        + days(1997, 12, 5)
        + days(1998, 1, 2)
        + days(1998, 2, 6)
        + days(1998, 3, 6)
        + days(1998, 4, 3)
        + days(1998, 5, 1)
        + days(1998, 6, 5),
        True,
    ),
    "monthly on the first Friday until December 24, 1997": (
        "FREQ=MONTHLY;UNTIL=19971224T000000Z;BYDAY=1FR",
        date(1997, 9, 5),
        days(1997, 9, 5) + days(1997, 10, 3) + days(1997, 11, 7) + days(1997, 12, 5),
        True,
    ),
    "every other month on the first and last Sunday for 10 occurrences": (
        "FREQ=MONTHLY;INTERVAL=2;COUNT=10;BYDAY=1SU,-1SU",
        date(1997, 9, 7),
        days(1997, 9, 7, 28)
        + days(1997, 11, 2, 30)
        + days(1998, 1, 4, 25)
        + days(1998, 3, 1, 29)
        + days(1998, 5, 3, 31),
        True,
    ),
    "monthly on the second-to-last Monday for 6 months": (
        "FREQ=MONTHLY;COUNT=6;BYDAY=-2MO",
        date(1997, 9, 22),
        days(1997, 9, 22)
        + days(1997, 10, 20)
        + days(1997, 11, 17)
        + days(1997, 12, 22)
        + days(1998, 1, 19)
        + days(1998, 2, 16),
        True,
    ),
    "monthly on the third-to-the-last day, forever": (
        "FREQ=MONTHLY;BYMONTHDAY=-3",
        date(1997, 9, 28),
        days(1997, 9, 28)
        + days(1997, 10, 29)
        + days(1997, 11, 28)
        + days(1997, 12, 29)
        + days(1998, 1, 29)
        + days(1998, 2, 26),
        False,
    ),
    "monthly on the 2nd and 15th for 10 occurrences": (
        "FREQ=MONTHLY;COUNT=10;BYMONTHDAY=2,15",
        date(1997, 9, 2),
        days(1997, 9, 2, 15)
        + days(1997, 10, 2, 15)
        + days(1997, 11, 2, 15)
        + days(1997, 12, 2, 15)
        + days(1998, 1, 2, 15),
        True,
    ),
    "monthly on the first and last day for 10 occurrences": (
        "FREQ=MONTHLY;COUNT=10;BYMONTHDAY=1,-1",
        date(1997, 9, 30),
        days(1997, 9, 30)
        + days(1997, 10, 1, 31)
        + days(1997, 11, 1, 30)
        + days(1997, 12, 1, 31)
        + days(1998, 1, 1, 31)
        + days(1998, 2, 1),
        True,
    ),
    "every 18 months on the 10th thru 15th for 10 occurrences": (
        "FREQ=MONTHLY;INTERVAL=18;COUNT=10;BYMONTHDAY=10,11,12,13,14,15",
        date(1997, 9, 10),
        span(1997, 9, 10, 15) + span(1999, 3, 10, 13),
        True,
    ),
    "every Tuesday, every other month": (
        "FREQ=MONTHLY;INTERVAL=2;BYDAY=TU",
        date(1997, 9, 2),
        days(1997, 9, 2, 9, 16, 23, 30)
        + days(1997, 11, 4, 11, 18, 25)
        + days(1998, 1, 6, 13, 20, 27)
        + days(1998, 3, 3, 10, 17, 24, 31),
        False,
    ),
    "yearly in June and July for 10 occurrences": (
        "FREQ=YEARLY;COUNT=10;BYMONTH=6,7",
        date(1997, 6, 10),
        [date(year, month, 10) for year in range(1997, 2002) for month in (6, 7)],
        True,
    ),
    "every other year on January, February and March for 10 occurrences": (
        "FREQ=YEARLY;INTERVAL=2;COUNT=10;BYMONTH=1,2,3",
        date(1997, 3, 10),
        [date(1997, 3, 10)]
        + [date(year, month, 10) for year in (1999, 2001, 2003) for month in (1, 2, 3)],
        True,
    ),
    "every third year on the 1st, 100th and 200th day for 10 occurrences": (
        "FREQ=YEARLY;INTERVAL=3;COUNT=10;BYYEARDAY=1,100,200",
        date(1997, 1, 1),
        [
            *(date(1997, 1, 1), date(1997, 4, 10), date(1997, 7, 19)),
            *(date(2000, 1, 1), date(2000, 4, 9), date(2000, 7, 18)),
            *(date(2003, 1, 1), date(2003, 4, 10), date(2003, 7, 19)),
            date(2006, 1, 1),
        ],
        True,
    ),
    "every 20th Monday of the year, forever": (
        "FREQ=YEARLY;BYDAY=20MO",
        date(1997, 5, 19),
        [date(1997, 5, 19), date(1998, 5, 18), date(1999, 5, 17)],
        False,
    ),
    "Monday of week number 20, forever": (
        "FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO",
        date(1997, 5, 12),
        [date(1997, 5, 12), date(1998, 5, 11), date(1999, 5, 17)],
        False,
    ),
    "every Thursday in March, forever": (
        "FREQ=YEARLY;BYMONTH=3;BYDAY=TH",
        date(1997, 3, 13),
        days(1997, 3, 13, 20, 27) + days(1998, 3, 5, 12, 19, 26) + days(1999, 3, 4, 11, 18, 25),
        False,
    ),
    "every Thursday, but only during June, July and August, forever": (
        "FREQ=YEARLY;BYDAY=TH;BYMONTH=6,7,8",
        date(1997, 6, 5),
        days(1997, 6, 5, 12, 19, 26)
        + days(1997, 7, 3, 10, 17, 24, 31)
        + days(1997, 8, 7, 14, 21, 28)
        + days(1998, 6, 4, 11, 18, 25)
        + days(1998, 7, 2, 9, 16, 23, 30)
        + days(1998, 8, 6, 13, 20, 27)
        + days(1999, 6, 3, 10, 17, 24)
        + days(1999, 7, 1, 8, 15, 22, 29)
        + days(1999, 8, 5, 12, 19, 26),
        False,
    ),
    "the first Saturday that follows the first Sunday of the month, forever": (
        "FREQ=MONTHLY;BYDAY=SA;BYMONTHDAY=7,8,9,10,11,12,13",
        date(1997, 9, 13),
        days(1997, 9, 13)
        + days(1997, 10, 11)
        + days(1997, 11, 8)
        + days(1997, 12, 13)
        + days(1998, 1, 10)
        + days(1998, 2, 7)
        + days(1998, 3, 7)
        + days(1998, 4, 11)
        + days(1998, 5, 9)
        + days(1998, 6, 13),
        False,
    ),
    "every 4 years, the first Tuesday after a Monday in November, forever": (
        "FREQ=YEARLY;INTERVAL=4;BYMONTH=11;BYDAY=TU;BYMONTHDAY=2,3,4,5,6,7,8",
        date(1996, 11, 5),
        [date(1996, 11, 5), date(2000, 11, 7), date(2004, 11, 2)],
        False,
    ),
    "the third instance of Tuesday, Wednesday or Thursday, for the next 3 months": (
        "FREQ=MONTHLY;COUNT=3;BYDAY=TU,WE,TH;BYSETPOS=3",
        date(1997, 9, 4),
        [date(1997, 9, 4), date(1997, 10, 7), date(1997, 11, 6)],
        True,
    ),
    "the second-to-last weekday of the month": (
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-2",
        date(1997, 9, 29),
        days(1997, 9, 29)
        + days(1997, 10, 30)
        + days(1997, 11, 27)
        + days(1997, 12, 30)
        + days(1998, 1, 29)
        + days(1998, 2, 26)
        + days(1998, 3, 30),
        False,
    ),
    "an invalid date (February 30) is ignored": (
        "FREQ=MONTHLY;BYMONTHDAY=15,30;COUNT=5",
        date(2007, 1, 15),
        days(2007, 1, 15, 30) + days(2007, 2, 15) + days(2007, 3, 15, 30),
        True,
    ),
}


@pytest.mark.parametrize(
    ("rule", "first", "expected", "bounded"), RFC_EXAMPLES.values(), ids=RFC_EXAMPLES.keys()
)
def test_rfc5545_example_produces_the_listed_dates_at_nine_local(
    rule: str, first: date, expected: list[date], bounded: bool
) -> None:
    start = ny(first.year, first.month, first.day)
    found = series(rule, start, limit=len(expected) + 5 if bounded else len(expected))

    assert [moment.date() for moment in found] == expected
    assert {(moment.hour, moment.minute) for moment in found} == {(9, 0)}
    assert {moment.tzinfo for moment in found} == {NY}


def test_rfc5545_daily_until_switches_from_edt_to_est_on_october_26() -> None:
    found = series("FREQ=DAILY;UNTIL=19971224T000000Z", ny(1997, 9, 2), limit=200)
    offsets = {moment.date(): moment.utcoffset() for moment in found}

    assert offsets[date(1997, 10, 25)] == timedelta(hours=-4)
    assert offsets[date(1997, 10, 26)] == timedelta(hours=-5)
    assert found[-1] == ny(1997, 12, 23)  # 24 Dec 09:00 EST is after 00:00Z


def test_rfc5545_friday_the_13th_has_dtstart_first_unless_excluded() -> None:
    """The RFC lists this rule with EXDATE=DTSTART: DTSTART is an instance even though it is
    not a Friday the 13th, so asking for dates after DTSTART reproduces the listing."""
    rule = "FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13"
    start = ny(1997, 9, 2)

    assert series(rule, start, limit=1) == [start]
    after_start = occurrences(rule, series_start=start, tz="America/New_York", after=start, limit=5)
    assert [moment.date() for moment in after_start] == [
        date(1998, 2, 13),
        date(1998, 3, 13),
        date(1998, 11, 13),
        date(1999, 8, 13),
        date(2000, 10, 13),
    ]


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=HOURLY;INTERVAL=3;UNTIL=19970902T170000Z",
        "FREQ=MINUTELY;INTERVAL=15;COUNT=6",
        "FREQ=MINUTELY;INTERVAL=90;COUNT=4",
        "FREQ=MINUTELY;INTERVAL=20;BYHOUR=9,10,11,12,13,14,15,16",
        "FREQ=SECONDLY",
    ],
)
def test_rfc5545_sub_daily_examples_are_rejected(rule: str) -> None:
    freq = rule.split(";")[0]
    with pytest.raises(RecurrenceError) as caught:
        normalize_rule(rule)
    assert str(caught.value) == f"{freq} is not supported: use DAILY, WEEKLY, MONTHLY or YEARLY"


def test_rfc5545_every_20_minutes_as_daily_with_byhour_is_rejected() -> None:
    with pytest.raises(RecurrenceError) as caught:
        normalize_rule("FREQ=DAILY;BYHOUR=9,10,11,12,13,14,15,16;BYMINUTE=0,20,40")
    assert str(caught.value) == "BYHOUR is not supported: the time of day comes from the due date"


# Rules whose DTSTART matches, where RFC 5545 and dateutil agree: the engine must give exactly
# what dateutil gives when it iterates naively, over several years.
DATEUTIL_AGREEMENT = [
    "FREQ=DAILY",
    "FREQ=DAILY;INTERVAL=3;BYMONTH=2,3;BYMONTHDAY=1,-1",
    "FREQ=DAILY;INTERVAL=5;BYDAY=SA,SU",
    "FREQ=WEEKLY;INTERVAL=3;BYDAY=SA,SU;BYMONTH=12,1",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;WKST=TH",
    "FREQ=MONTHLY;INTERVAL=5;BYDAY=2TU,-3WE",
    "FREQ=MONTHLY;BYDAY=MO,TU;BYSETPOS=1,-1",
    "FREQ=MONTHLY;INTERVAL=7;BYMONTHDAY=31",
    "FREQ=YEARLY;BYWEEKNO=1,-1;BYDAY=MO,SU;WKST=SU",
    "FREQ=YEARLY;BYWEEKNO=53",
    "FREQ=YEARLY;BYYEARDAY=-1,-366,60",
    "FREQ=YEARLY;BYMONTH=1,7;BYDAY=-1FR,1MO;BYSETPOS=2,-1",
    "FREQ=YEARLY;INTERVAL=3;BYDAY=-2SU",
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
]


@pytest.mark.parametrize("rule", DATEUTIL_AGREEMENT)
def test_engine_agrees_with_plain_dateutil_iteration(rule: str) -> None:
    seed = datetime(1999, 12, 20, 9, 0)
    dtstart = rrulestr(rule, dtstart=seed)[0]  # a DTSTART that matches the rule
    expected = list(islice(rrulestr(rule, dtstart=dtstart), 60))

    found = series(rule, dtstart.replace(tzinfo=NY), limit=60)

    assert [moment.replace(tzinfo=None) for moment in found] == expected


def test_weekly_bysetpos_counts_the_whole_first_week_unlike_dateutil() -> None:
    """dateutil starts the first WEEKLY period at DTSTART, so BYSETPOS=2 would pick Wednesday
    4 March; over the whole week (Mon-Wed) the second day is Tuesday, i.e. DTSTART itself."""
    start = berlin(2026, 3, 3)  # a Tuesday
    found = series("FREQ=WEEKLY;BYDAY=MO,TU,WE;BYSETPOS=2", start, tz="Europe/Berlin", limit=3)

    assert [moment.date() for moment in found] == days(2026, 3, 3, 10, 17)


# ---------------------------------------------------------------------------------------------
# Daylight saving time


@pytest.mark.parametrize(
    ("zone", "transition", "before", "after"),
    [
        ("America/New_York", date(2026, 3, 8), -5, -4),
        ("America/New_York", date(2026, 11, 1), -4, -5),
        ("Europe/Berlin", date(2026, 3, 29), 1, 2),
        ("Europe/Berlin", date(2026, 10, 25), 2, 1),
    ],
)
def test_nine_oclock_stays_nine_oclock_across_dst(
    zone: str, transition: date, before: int, after: int
) -> None:
    tz = ZoneInfo(zone)
    eve = transition - timedelta(days=2)
    start = datetime(eve.year, eve.month, eve.day, 9, tzinfo=tz)

    found = series("FREQ=DAILY", start, tz=zone, limit=4)

    assert [(m.date(), m.hour, m.minute) for m in found] == [
        (eve + timedelta(days=i), 9, 0) for i in range(4)
    ]
    assert [m.utcoffset() for m in found] == [
        timedelta(hours=h) for h in (before, before, after, after)
    ]


def test_series_start_given_in_utc_is_read_on_the_task_zone_wall_clock() -> None:
    start = datetime(2026, 1, 5, 14, 0, tzinfo=UTC)  # 09:00 EST, a Monday
    found = occurrences(
        "FREQ=WEEKLY;BYDAY=MO",
        series_start=start,
        tz="America/New_York",
        after=datetime(2026, 7, 1, tzinfo=UTC),
        limit=1,
    )

    assert found == [ny(2026, 7, 6)]
    assert found[0].astimezone(UTC).hour == 13  # 09:00 EDT, not 14:00 UTC


@pytest.mark.parametrize(
    ("zone", "start", "gap_day", "expected_utc"),
    [
        (
            "America/New_York",
            ny(2026, 3, 6, 2, 30),
            date(2026, 3, 8),
            datetime(2026, 3, 8, 7, 30, tzinfo=UTC),
        ),
        (
            "Europe/Berlin",
            berlin(2026, 3, 27, 2, 30),
            date(2026, 3, 29),
            datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
        ),
    ],
)
def test_time_in_spring_forward_gap_moves_forward_by_the_gap(
    zone: str, start: datetime, gap_day: date, expected_utc: datetime
) -> None:
    """RFC 5545 3.3.5: a nonexistent local time uses the offset from before the gap, so
    02:30 becomes 03:30; the days around it keep 02:30."""
    found = series("FREQ=DAILY", start, tz=zone, limit=4)
    by_day = {m.date(): m for m in found}

    assert (by_day[gap_day].hour, by_day[gap_day].minute) == (3, 30)
    assert by_day[gap_day] == expected_utc
    assert by_day[gap_day].tzinfo is ZoneInfo(zone)
    for day, moment in by_day.items():
        if day != gap_day:
            assert (moment.hour, moment.minute) == (2, 30)


@pytest.mark.parametrize(
    ("zone", "start", "fall_day", "expected_utc"),
    [
        (
            "America/New_York",
            ny(2026, 10, 30, 1, 30),
            date(2026, 11, 1),
            datetime(2026, 11, 1, 5, 30, tzinfo=UTC),  # 01:30 EDT, the first 01:30
        ),
        (
            "Europe/Berlin",
            berlin(2026, 10, 23, 2, 30),
            date(2026, 10, 25),
            datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # 02:30 CEST, the first 02:30
        ),
    ],
)
def test_ambiguous_fall_back_time_uses_the_first_instant(
    zone: str, start: datetime, fall_day: date, expected_utc: datetime
) -> None:
    found = series("FREQ=DAILY", start, tz=zone, limit=4)
    ambiguous = next(m for m in found if m.date() == fall_day)

    # PEP 495: == across zones is always False for an ambiguous time, so compare in UTC.
    assert ambiguous.astimezone(UTC) == expected_utc
    assert ambiguous.fold == 0
    assert len({m.date() for m in found}) == 4  # one occurrence per day, never two


def test_after_inside_the_repeated_hour_is_compared_as_an_instant() -> None:
    """01:10 EST (second pass, fold=1) is later than 01:30 EDT: Python would compare the two
    wall clocks within one zone and get it wrong; the engine compares in UTC."""
    start = ny(2026, 10, 30, 1, 30)
    after = ny(2026, 11, 1, 1, 10, fold=1)

    found = next_occurrence("FREQ=DAILY", series_start=start, tz="America/New_York", after=after)

    assert found == ny(2026, 11, 2, 1, 30)


# ---------------------------------------------------------------------------------------------
# Calendar edge cases


def test_bymonthday_31_skips_months_without_a_31st() -> None:
    found = series("FREQ=MONTHLY;BYMONTHDAY=31", berlin(2026, 1, 31), tz="Europe/Berlin", limit=7)

    assert [m.date() for m in found] == [date(2026, month, 31) for month in (1, 3, 5, 7, 8, 10, 12)]


def test_monthly_from_the_31st_without_bymonthday_also_skips_short_months() -> None:
    found = series("FREQ=MONTHLY", berlin(2026, 1, 31), tz="Europe/Berlin", limit=3)

    assert [m.date() for m in found] == [date(2026, 1, 31), date(2026, 3, 31), date(2026, 5, 31)]


def test_bymonthday_minus_one_is_the_last_day_of_every_month() -> None:
    found = series("FREQ=MONTHLY;BYMONTHDAY=-1", berlin(2027, 11, 30), tz="Europe/Berlin", limit=5)

    assert [m.date() for m in found] == [
        date(2027, 11, 30),
        date(2027, 12, 31),
        date(2028, 1, 31),
        date(2028, 2, 29),
        date(2028, 3, 31),
    ]


@pytest.mark.parametrize("rule", ["FREQ=YEARLY", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29"])
def test_february_29_recurs_only_in_leap_years(rule: str) -> None:
    found = series(rule, berlin(2024, 2, 29), tz="Europe/Berlin", limit=3)

    assert [m.date() for m in found] == [date(2024, 2, 29), date(2028, 2, 29), date(2032, 2, 29)]


def test_february_29_skips_the_non_leap_century_year() -> None:
    start = berlin(2096, 2, 29)
    found = next_occurrence("FREQ=YEARLY", series_start=start, tz="Europe/Berlin", after=start)

    assert found == berlin(2104, 2, 29)


def test_rare_daily_rule_finds_february_29_on_a_monday_quickly() -> None:
    found = series(
        "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO", berlin(2016, 2, 29), tz="Europe/Berlin"
    )[:3]

    assert [m.date() for m in found] == [date(2016, 2, 29), date(2044, 2, 29), date(2072, 2, 29)]


# ---------------------------------------------------------------------------------------------
# COUNT, UNTIL and when the worker asks


def test_count_exhausted_means_no_next_occurrence() -> None:
    start = berlin(2026, 3, 1)
    rule = "FREQ=DAILY;COUNT=3"

    assert next_occurrence(rule, series_start=start, tz="Europe/Berlin", after=start) == berlin(
        2026, 3, 2
    )
    assert next_occurrence(
        rule, series_start=start, tz="Europe/Berlin", after=berlin(2026, 3, 2)
    ) == berlin(2026, 3, 3)
    assert (
        next_occurrence(rule, series_start=start, tz="Europe/Berlin", after=berlin(2026, 3, 3))
        is None
    )


def test_count_counts_from_series_start_even_when_asking_much_later() -> None:
    start = berlin(2026, 1, 5)
    found = occurrences(
        "FREQ=WEEKLY;COUNT=5",
        series_start=start,
        tz="Europe/Berlin",
        after=berlin(2026, 1, 20),
        limit=10,
    )

    assert found == [berlin(2026, 1, 26), berlin(2026, 2, 2)]


def test_count_includes_a_dtstart_that_does_not_match_the_rule() -> None:
    """RFC 5545: DTSTART always counts as the first occurrence (dateutil would not count it)."""
    found = series("FREQ=MONTHLY;BYMONTHDAY=15;COUNT=3", berlin(2026, 3, 3), tz="Europe/Berlin")

    assert [m.date() for m in found] == [date(2026, 3, 3), date(2026, 3, 15), date(2026, 4, 15)]


def test_until_as_a_date_includes_that_whole_local_day() -> None:
    # 20:00 in Los Angeles is already the next day in UTC; UNTIL is a local date.
    start = datetime(2026, 3, 1, 20, 0, tzinfo=ZoneInfo("America/Los_Angeles"))
    found = series("FREQ=DAILY;UNTIL=20260305", start, tz="America/Los_Angeles")

    assert [m.date() for m in found] == span(2026, 3, 1, 5)
    assert found[-1].astimezone(UTC).date() == date(2026, 3, 6)


@pytest.mark.parametrize(
    ("until", "last_day"),
    [("20260305T080000Z", 5), ("20260305T075959Z", 4)],
)
def test_until_as_utc_datetime_is_compared_with_the_instant(until: str, last_day: int) -> None:
    # 09:00 CET is 08:00 UTC: an UNTIL exactly at the instant is inclusive.
    found = series(f"FREQ=DAILY;UNTIL={until}", berlin(2026, 3, 1), tz="Europe/Berlin")

    assert [m.date() for m in found] == span(2026, 3, 1, last_day)


def test_until_passed_means_no_next_occurrence() -> None:
    start = berlin(2026, 3, 1)
    found = next_occurrence(
        "FREQ=WEEKLY;UNTIL=20260401",
        series_start=start,
        tz="Europe/Berlin",
        after=berlin(2026, 5, 1),
    )

    assert found is None


def test_late_completion_skips_the_backlog() -> None:
    start = berlin(2020, 1, 6)  # a Monday
    completed_due = berlin(2020, 1, 13)
    now = datetime(2026, 7, 15, 10, 0, tzinfo=UTC)

    found = next_occurrence(
        "FREQ=WEEKLY;BYDAY=MO",
        series_start=start,
        tz="Europe/Berlin",
        after=max(completed_due, now),
    )

    assert found == berlin(2026, 7, 20)


def test_late_completion_with_count_still_counts_from_the_start() -> None:
    start = berlin(2020, 1, 6)
    rule = "FREQ=WEEKLY;COUNT=400"  # the 400th Monday is 2027-08-30
    now = datetime(2026, 7, 15, 10, 0, tzinfo=UTC)

    assert next_occurrence(rule, series_start=start, tz="Europe/Berlin", after=now) == berlin(
        2026, 7, 20
    )
    assert (
        next_occurrence(rule, series_start=start, tz="Europe/Berlin", after=berlin(2027, 8, 30))
        is None
    )


def test_early_completion_gives_the_occurrence_after_the_completed_due_date() -> None:
    start = berlin(2026, 3, 2)
    completed_due = berlin(2026, 3, 9)
    now = berlin(2026, 3, 5, 18, 0)  # done four days early

    found = next_occurrence(
        "FREQ=WEEKLY", series_start=start, tz="Europe/Berlin", after=max(completed_due, now)
    )

    assert found == berlin(2026, 3, 16)


def test_after_before_series_start_returns_the_series_start_first() -> None:
    start = berlin(2026, 3, 2, 9, 15)
    found = occurrences(
        "FREQ=DAILY", series_start=start, tz="Europe/Berlin", after=berlin(2026, 1, 1), limit=2
    )

    assert found == [start, berlin(2026, 3, 3, 9, 15)]


def test_every_instance_keeps_the_series_starts_time_to_the_microsecond() -> None:
    # The API promises date-times with their microseconds: a next instance must not drop
    # the fraction of the due date it repeats.
    start = berlin(2026, 3, 2).replace(second=7, microsecond=500_000)
    found = series("FREQ=DAILY", start, tz="Europe/Berlin", limit=2)

    assert [m.time().isoformat() for m in found] == ["09:00:07.500000", "09:00:07.500000"]


def test_occurrences_far_in_the_future_and_impossible_rules_are_fast() -> None:
    began = time.perf_counter()
    far = occurrences(
        "FREQ=DAILY",
        series_start=berlin(1950, 1, 1),
        tz="Europe/Berlin",
        after=berlin(2900, 6, 1),
        limit=3,
    )
    never = occurrences(
        "FREQ=DAILY;INTERVAL=14;BYDAY=TU",  # every 14 days from a Monday is always a Monday
        series_start=berlin(2026, 3, 2),
        tz="Europe/Berlin",
        after=berlin(2026, 3, 2),
        limit=1,
    )

    assert [m.date() for m in far] == span(2900, 6, 2, 4)
    assert never == []
    assert time.perf_counter() - began < 1.0


def test_limit_zero_returns_nothing_and_negative_limit_is_an_error() -> None:
    start = berlin(2026, 3, 2)
    assert occurrences("FREQ=DAILY", series_start=start, tz="UTC", after=start, limit=0) == []
    with pytest.raises(ValueError, match="limit"):
        occurrences("FREQ=DAILY", series_start=start, tz="UTC", after=start, limit=-1)


@pytest.mark.parametrize("naive", ["series_start", "after"])
def test_naive_datetimes_are_rejected(naive: str) -> None:
    aware = berlin(2026, 3, 2)
    kwargs = {"series_start": aware, "after": aware, naive: aware.replace(tzinfo=None)}
    with pytest.raises(ValueError, match=f"{naive} must be a timezone-aware datetime"):
        occurrences("FREQ=DAILY", tz="Europe/Berlin", limit=1, **kwargs)


def test_unknown_zone_in_occurrences_is_a_recurrence_error() -> None:
    start = berlin(2026, 3, 2)
    with pytest.raises(RecurrenceError, match="Mars/Olympus_Mons"):
        next_occurrence("FREQ=DAILY", series_start=start, tz="Mars/Olympus_Mons", after=start)


# ---------------------------------------------------------------------------------------------
# normalize_rule


def test_allowed_frequencies() -> None:
    assert ALLOWED_FREQUENCIES == ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("FREQ=DAILY", "FREQ=DAILY"),
        ("rrule:freq=weekly;byday=we,mo;interval=2", "FREQ=WEEKLY;INTERVAL=2;BYDAY=WE,MO"),
        ("  RRULE: FREQ = DAILY ; COUNT = 3 ; ", "FREQ=DAILY;COUNT=3"),
        ("until=19971224t000000z;freq=daily", "FREQ=DAILY;UNTIL=19971224T000000Z"),
        ("FREQ=DAILY;UNTIL=20261224", "FREQ=DAILY;UNTIL=20261224"),
        ("FREQ=MONTHLY;BYDAY=+1MO,-1FR,1MO", "FREQ=MONTHLY;BYDAY=1MO,-1FR"),
        ("FREQ=MONTHLY;BYMONTHDAY=01,+15,-1", "FREQ=MONTHLY;BYMONTHDAY=1,15,-1"),
        (
            "WKST=SU;BYSETPOS=-1;BYDAY=MO,TU;BYMONTH=1;COUNT=2;INTERVAL=1;FREQ=YEARLY",
            "FREQ=YEARLY;INTERVAL=1;BYMONTH=1;BYDAY=MO,TU;BYSETPOS=-1;WKST=SU;COUNT=2",
        ),
        ("FREQ=YEARLY;BYYEARDAY=1,-1;BYWEEKNO=20", "FREQ=YEARLY;BYWEEKNO=20;BYYEARDAY=1,-1"),
    ],
)
def test_normalize_rule_canonical_form(text: str, normalized: str) -> None:
    assert normalize_rule(text) == normalized
    assert normalize_rule(normalized) == normalized


INVALID_RULES = {
    "": "the recurrence rule is empty",
    "RRULE:": "the recurrence rule is empty",
    "COUNT=3": "FREQ is missing: use FREQ=DAILY, WEEKLY, MONTHLY or YEARLY",
    "FREQ=HOURLY": "FREQ=HOURLY is not supported: use DAILY, WEEKLY, MONTHLY or YEARLY",
    "FREQ=FORTNIGHTLY": "FREQ=FORTNIGHTLY is not a frequency: use DAILY, WEEKLY, MONTHLY or YEARLY",
    "FREQ=DAILY;FREQ=WEEKLY": "FREQ is given more than once",
    "FREQ=DAILY;COLOR=RED": "COLOR is not a recurrence rule part",
    "FREQ=DAILY;COUNT": "'COUNT' is not a rule part of the form NAME=VALUE",
    "FREQ=DAILY;COUNT=": "COUNT has no value",
    "FREQ=DAILY;BYMINUTE=30": "BYMINUTE is not supported: the time of day comes from the due date",
    "FREQ=DAILY;BYSECOND=0": "BYSECOND is not supported: the time of day comes from the due date",
    "FREQ=DAILY;COUNT=5;UNTIL=20261224": (
        "COUNT and UNTIL cannot be combined: end the series with one of them"
    ),
    "FREQ=DAILY;COUNT=0": "COUNT=0 is not valid: COUNT must be at least 1",
    "FREQ=DAILY;COUNT=ten": "COUNT=TEN is not valid: COUNT must be a whole number",
    "FREQ=DAILY;INTERVAL=0": "INTERVAL=0 is not valid: INTERVAL must be at least 1",
    "FREQ=DAILY;INTERVAL=-2": "INTERVAL=-2 is not valid: INTERVAL must be a whole number",
    "FREQ=DAILY;INTERVAL=1000001": (
        "INTERVAL=1000001 is not valid: INTERVAL must be at most 1000000"
    ),
    # The work of finding the next date grows with COUNT (every earlier instance counts).
    "FREQ=DAILY;COUNT=1000000": (
        "COUNT=1000000 is not valid: a series has at most 10000 instances "
        "(leave COUNT out for a series without end)"
    ),
    "FREQ=YEARLY;BYMONTH=1,13": "BYMONTH=1,13 is not valid: 13 is not a month (use 1 to 12)",
    "FREQ=MONTHLY;BYMONTHDAY=0": (
        "BYMONTHDAY=0 is not valid: 0 is not a day of the month "
        "(use 1 to 31, or -1 to -31 from the end)"
    ),
    "FREQ=MONTHLY;BYMONTHDAY=1,,15": (
        "BYMONTHDAY=1,,15 is not valid: an empty item is not a day of the month "
        "(use 1 to 31, or -1 to -31 from the end)"
    ),
    "FREQ=MONTHLY;BYMONTHDAY=-32": (
        "BYMONTHDAY=-32 is not valid: -32 is not a day of the month "
        "(use 1 to 31, or -1 to -31 from the end)"
    ),
    "FREQ=YEARLY;BYYEARDAY=367": (
        "BYYEARDAY=367 is not valid: 367 is not a day of the year "
        "(use 1 to 366, or -1 to -366 from the end)"
    ),
    "FREQ=YEARLY;BYWEEKNO=54": (
        "BYWEEKNO=54 is not valid: 54 is not a week number (use 1 to 53, or -1 to -53 from the end)"
    ),
    "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=0": (
        "BYSETPOS=0 is not valid: 0 is not a position (use 1 to 366, or -1 to -366 from the end)"
    ),
    "FREQ=WEEKLY;BYDAY=MONDAY": (
        "BYDAY=MONDAY is not valid: MONDAY is not a weekday "
        "(use MO, TU, WE, TH, FR, SA, SU, optionally numbered like 1MO or -1FR)"
    ),
    "FREQ=MONTHLY;BYDAY=0MO": (
        "BYDAY=0MO is not valid: 0MO needs a number from 1 to 53 or -1 to -53"
    ),
    "FREQ=MONTHLY;BYDAY=-MO": "BYDAY=-MO is not valid: -MO has a sign but no number",
    "FREQ=WEEKLY;WKST=XX": "WKST=XX is not valid: use one of MO, TU, WE, TH, FR, SA, SU",
    "FREQ=DAILY;UNTIL=2026-12-24": (
        "UNTIL=2026-12-24 is not valid: use a date (YYYYMMDD) or a UTC date-time (YYYYMMDDTHHMMSSZ)"
    ),
    "FREQ=DAILY;UNTIL=20261224T120000": (
        "UNTIL=20261224T120000 is not valid: a date-time must be in UTC, ending in Z"
    ),
    "FREQ=DAILY;UNTIL=20260230": (
        "UNTIL=20260230 is not a real date or time: "
        "use a date (YYYYMMDD) or a UTC date-time (YYYYMMDDTHHMMSSZ)"
    ),
    "FREQ=MONTHLY;BYWEEKNO=1": "BYWEEKNO only works with FREQ=YEARLY",
    "FREQ=MONTHLY;BYYEARDAY=1": "BYYEARDAY only works with FREQ=YEARLY",
    "FREQ=WEEKLY;BYMONTHDAY=1": "BYMONTHDAY does not work with FREQ=WEEKLY: use FREQ=MONTHLY",
    "FREQ=WEEKLY;BYDAY=1MO": "BYDAY=1MO: a numbered weekday needs FREQ=MONTHLY or FREQ=YEARLY",
    "FREQ=YEARLY;BYWEEKNO=20;BYDAY=1MO": (
        "BYDAY=1MO: a numbered weekday cannot be used with BYWEEKNO"
    ),
    "FREQ=MONTHLY;BYDAY=6FR": "BYDAY=6FR: a month has at most 5 of each weekday",
    "FREQ=YEARLY;BYMONTH=3;BYDAY=-6FR": "BYDAY=-6FR: a month has at most 5 of each weekday",
    "FREQ=DAILY;BYDAY=MO;BYSETPOS=1": (
        "BYSETPOS does not work with FREQ=DAILY: a daily rule has one date per day"
    ),
    "FREQ=MONTHLY;BYSETPOS=1": (
        "BYSETPOS needs another BY part to choose from (for example BYDAY=MO,TU,WE,TH,FR)"
    ),
}


@pytest.mark.parametrize(("text", "message"), INVALID_RULES.items(), ids=INVALID_RULES.keys())
def test_normalize_rule_rejects_with_a_precise_message(text: str, message: str) -> None:
    with pytest.raises(RecurrenceError) as caught:
        normalize_rule(text)
    assert str(caught.value) == message


def test_recurrence_error_is_a_value_error() -> None:
    assert issubclass(RecurrenceError, ValueError)


# ---------------------------------------------------------------------------------------------
# validate_rule


def test_validate_rule_returns_the_normalized_rule() -> None:
    due = berlin(2026, 3, 2)
    assert validate_rule("rrule:freq=weekly;byday=mo", first_due=due, tz="Europe/Berlin") == (
        "FREQ=WEEKLY;BYDAY=MO"
    )


def test_validate_rule_accepts_a_dtstart_that_does_not_match_the_rule() -> None:
    due = berlin(2026, 3, 3)  # a Tuesday; the rule is for Mondays
    assert validate_rule("FREQ=WEEKLY;BYDAY=MO", first_due=due, tz="Europe/Berlin")


def test_validate_rule_needs_a_due_date() -> None:
    with pytest.raises(RecurrenceError) as caught:
        validate_rule("FREQ=DAILY", first_due=None, tz="Europe/Berlin")
    assert str(caught.value) == "a recurring task needs a due date"


def test_validate_rule_rejects_naive_due_date_as_programming_error() -> None:
    with pytest.raises(ValueError, match="first_due must be a timezone-aware datetime") as caught:
        validate_rule("FREQ=DAILY", first_due=datetime(2026, 3, 2, 9), tz="Europe/Berlin")
    assert not isinstance(caught.value, RecurrenceError)


@pytest.mark.parametrize(
    ("tz", "message"),
    [
        (
            "Mars/Olympus_Mons",
            "'Mars/Olympus_Mons' is not a known IANA time zone (for example Europe/Berlin)",
        ),
        (
            "../etc/passwd",
            "'../etc/passwd' is not a known IANA time zone (for example Europe/Berlin)",
        ),
        ("", "a time zone is required for a recurring task"),
    ],
)
def test_validate_rule_rejects_unknown_time_zones(tz: str, message: str) -> None:
    with pytest.raises(RecurrenceError) as caught:
        validate_rule("FREQ=DAILY", first_due=berlin(2026, 3, 2), tz=tz)
    assert str(caught.value) == message


VALIDATION_ERRORS = {
    "until date before first due": (
        "FREQ=DAILY;UNTIL=20260301",
        "UNTIL=20260301 is before the first due date (2026-03-02 09:00 Europe/Berlin)",
    ),
    "until instant before first due": (
        "FREQ=DAILY;UNTIL=20260302T075959Z",
        "UNTIL=20260302T075959Z is before the first due date (2026-03-02 09:00 Europe/Berlin)",
    ),
    "february 30 never exists": (
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30 never produces a date after the first due date",
    ),
    "april 31 never exists, daily form": (
        "FREQ=DAILY;BYMONTH=4;BYMONTHDAY=31",
        "FREQ=DAILY;BYMONTH=4;BYMONTHDAY=31 never produces a date after the first due date",
    ),
    "no month has six Mondays": (
        "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=6",
        "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=6 never produces a date after the first due date",
    ),
    "every 12 months from March never reaches June": (
        "FREQ=MONTHLY;INTERVAL=12;BYMONTH=6",
        "FREQ=MONTHLY;INTERVAL=12;BYMONTH=6 never produces a date after the first due date",
    ),
    "every 7 days from a Monday is never a Tuesday": (
        "FREQ=DAILY;INTERVAL=7;BYDAY=TU",
        "FREQ=DAILY;INTERVAL=7;BYDAY=TU never produces a date after the first due date",
    ),
    "count of one never repeats": (
        "FREQ=DAILY;COUNT=1",
        "COUNT=1 ends the series at its first due date: use COUNT=2 or more",
    ),
    "until ends before the second date": (
        "FREQ=WEEKLY;UNTIL=20260308",
        "UNTIL=20260308 ends the series before its second date (2026-03-09 09:00)",
    ),
    "syntax errors come first": (
        "FREQ=HOURLY",
        "FREQ=HOURLY is not supported: use DAILY, WEEKLY, MONTHLY or YEARLY",
    ),
}


@pytest.mark.parametrize(
    ("rule", "message"), VALIDATION_ERRORS.values(), ids=VALIDATION_ERRORS.keys()
)
def test_validate_rule_rejects_with_a_precise_message(rule: str, message: str) -> None:
    with pytest.raises(RecurrenceError) as caught:
        validate_rule(rule, first_due=berlin(2026, 3, 2), tz="Europe/Berlin")  # a Monday
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("rule", "first_due"),
    [
        ("FREQ=YEARLY;INTERVAL=4;BYMONTH=2;BYMONTHDAY=29", berlin(2024, 1, 10)),
        ("FREQ=YEARLY;BYWEEKNO=53;BYDAY=TH", berlin(2026, 3, 2)),
        ("FREQ=DAILY;UNTIL=20260303", berlin(2026, 3, 2)),
        ("FREQ=DAILY;COUNT=2", berlin(2026, 3, 2)),
        ("FREQ=MONTHLY;BYDAY=5FR", berlin(2026, 3, 2)),
    ],
)
def test_validate_rule_accepts_rare_but_possible_rules(rule: str, first_due: datetime) -> None:
    assert validate_rule(rule, first_due=first_due, tz="Europe/Berlin") == normalize_rule(rule)


def test_validate_rule_rejects_leap_day_rule_whose_interval_misses_leap_years() -> None:
    with pytest.raises(RecurrenceError, match="never produces a date"):
        validate_rule(
            "FREQ=YEARLY;INTERVAL=4;BYMONTH=2;BYMONTHDAY=29",
            first_due=berlin(2025, 1, 10),  # 2025 + 4k is never a leap year
            tz="Europe/Berlin",
        )


# ---------------------------------------------------------------------------------------------
# describe


DESCRIPTIONS = {
    "FREQ=DAILY": "Daily",
    "FREQ=DAILY;INTERVAL=3": "Every 3 days",
    "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR": "Every weekday",
    "FREQ=DAILY;BYDAY=FR,TH,WE,TU,MO": "Every weekday",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TU,WE,TH,FR": "Every 2 weeks on weekdays",
    "FREQ=WEEKLY": "Weekly",
    "FREQ=WEEKLY;BYDAY=MO": "Weekly on Monday",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=WE,MO": "Every 2 weeks on Monday and Wednesday",
    "FREQ=MONTHLY;BYMONTHDAY=15": "Monthly on day 15",
    "FREQ=MONTHLY;BYMONTHDAY=1,15": "Monthly on days 1 and 15",
    "FREQ=MONTHLY;BYMONTHDAY=-1": "Monthly on the last day",
    "FREQ=MONTHLY;BYMONTHDAY=-2": "Monthly on the second-to-last day",
    "FREQ=MONTHLY;BYMONTHDAY=1,-1": "Monthly on day 1 and the last day",
    "FREQ=MONTHLY;BYDAY=-1FR": "Monthly on the last Friday",
    "FREQ=MONTHLY;BYDAY=FR;BYSETPOS=-1": "Monthly on the last Friday",
    "FREQ=MONTHLY;BYDAY=1MO": "Monthly on the first Monday",
    "FREQ=MONTHLY;BYDAY=-2MO": "Monthly on the second-to-last Monday",
    "FREQ=MONTHLY;INTERVAL=2;BYDAY=1SU,-1SU": (
        "Every 2 months on the first Sunday and the last Sunday"
    ),
    "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-2": "Monthly on the second-to-last weekday",
    "FREQ=MONTHLY;BYDAY=TU,WE,TH;BYSETPOS=3": "Monthly on the third Tuesday, Wednesday or Thursday",
    "FREQ=MONTHLY;INTERVAL=2;BYDAY=TU": "Every 2 months on every Tuesday",
    "FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13": "Monthly on day 13, if it is a Friday",
    "FREQ=MONTHLY;BYDAY=SA;BYMONTHDAY=7,8,9,10,11,12,13": (
        "Monthly on days 7 to 13, if it is a Saturday"
    ),
    "FREQ=MONTHLY;BYMONTHDAY=1,15;BYSETPOS=-1": (
        "Monthly on days 1 and 15, only the last of these each month"
    ),
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29": "Yearly on February 29",
    "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=1": "Yearly on March 1",
    "FREQ=YEARLY": "Yearly",
    "FREQ=YEARLY;BYMONTH=6,7": "Yearly in June and July",
    "FREQ=YEARLY;BYMONTH=3;BYDAY=TH": "Yearly on every Thursday in March",
    "FREQ=YEARLY;BYDAY=20MO": "Yearly on the 20th Monday of the year",
    "FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO": "Yearly on Monday in week 20",
    "FREQ=YEARLY;BYWEEKNO=-1": "Yearly in the last week",
    "FREQ=YEARLY;INTERVAL=3;BYYEARDAY=1,100,200": (
        "Every 3 years on days 1, 100 and 200 of the year"
    ),
    "FREQ=YEARLY;BYYEARDAY=-1": "Yearly on the last day of the year",
    "FREQ=YEARLY;INTERVAL=4;BYMONTH=11;BYDAY=TU;BYMONTHDAY=2,3,4,5,6,7,8": (
        "Every 4 years on days 2 to 8 in November, if it is a Tuesday"
    ),
    "FREQ=YEARLY;BYMONTH=11;BYDAY=TU;BYSETPOS=1": "Yearly on the first Tuesday in November",
    "FREQ=DAILY;BYMONTH=1": "Daily in January",
    "FREQ=WEEKLY;BYDAY=TH;BYMONTH=6,7,8": "Weekly on Thursday in June, July and August",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,SU;WKST=SU": (
        "Every 2 weeks on Tuesday and Sunday, weeks starting on Sunday"
    ),
    "FREQ=DAILY;COUNT=10": "Daily, 10 times",
    "FREQ=DAILY;COUNT=1": "Daily, once",
    "FREQ=WEEKLY;BYDAY=MO;UNTIL=20261224": "Weekly on Monday, until 24 December 2026",
    "FREQ=DAILY;UNTIL=19971224T000000Z": "Daily, until 24 December 1997 00:00 UTC",
}


@pytest.mark.parametrize(("rule", "text"), DESCRIPTIONS.items(), ids=DESCRIPTIONS.keys())
def test_describe(rule: str, text: str) -> None:
    assert describe(rule) == text


@pytest.mark.parametrize(
    "rule", [rule for rule, *_ in RFC_EXAMPLES.values()], ids=RFC_EXAMPLES.keys()
)
def test_describe_handles_every_rfc_example(rule: str) -> None:
    text = describe(rule)
    assert text[0].isupper()
    assert "COUNT=" not in text
    assert "UNTIL=" not in text


def test_describe_rejects_invalid_rules() -> None:
    with pytest.raises(RecurrenceError, match="FREQ=HOURLY is not supported"):
        describe("FREQ=HOURLY")


# ---------------------------------------------------------------------------------------------
# The rule as an object


def test_parse_rule_gives_the_parts_and_the_canonical_text() -> None:
    rule = parse_rule("rrule:byday=-1fr,mo;freq=monthly;count=4")
    assert rule.text == "FREQ=MONTHLY;BYDAY=-1FR,MO;COUNT=4"
    assert (rule.freq, rule.interval, rule.count, rule.until) == ("MONTHLY", 1, 4, None)
    assert rule.byday == ((4, -1), (0, 0))
    assert parse_rule("FREQ=YEARLY;UNTIL=20400101").until == date(2040, 1, 1)
    assert parse_rule("FREQ=YEARLY;UNTIL=20400101T120000Z").until == datetime(
        2040, 1, 1, 12, tzinfo=UTC
    )


def test_compose_rule_writes_the_same_text_a_parse_of_it_gives() -> None:
    rule = compose_rule("WEEKLY", interval=2, byday=((0, 0), (2, 0)), until=date(2030, 12, 31))
    assert rule.text == "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;UNTIL=20301231"
    assert parse_rule(rule.text) == rule
    assert compose_rule("MONTHLY", bymonthday=(-1,), count=5).text == (
        "FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=5"
    )
    assert compose_rule("DAILY").text == "FREQ=DAILY"


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        ({"freq": "HOURLY"}, "FREQ=HOURLY is not supported"),
        ({"freq": "WEEKLY", "byday": ((0, 2),)}, "needs FREQ=MONTHLY or FREQ=YEARLY"),
        ({"freq": "WEEKLY", "bymonthday": (1,)}, "BYMONTHDAY does not work with FREQ=WEEKLY"),
        ({"freq": "DAILY", "interval": 0}, "INTERVAL must be at least 1"),
    ],
)
def test_compose_rule_checks_like_a_typed_rule(parts: dict, message: str) -> None:
    freq = parts.pop("freq")
    with pytest.raises(RecurrenceError, match=message):
        compose_rule(freq, **parts)
