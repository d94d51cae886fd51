"""Calendar days in a zone: the end of a day is exact across DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from tasks import days

BERLIN = ZoneInfo("Europe/Berlin")


def test_a_day_ends_at_its_last_microsecond_in_the_zone():
    end = days.day_end(date(2026, 12, 1), "Europe/Berlin")
    assert end == datetime(2026, 12, 1, 22, 59, 59, 999999, tzinfo=UTC)
    assert days.local_day(end, "Europe/Berlin") == date(2026, 12, 1)
    assert days.local_day(end + timedelta(microseconds=1), "Europe/Berlin") == date(2026, 12, 2)


def test_the_day_of_the_october_change_is_25_hours_long_and_keeps_its_date():
    start = days.day_start(date(2026, 10, 25), BERLIN)
    end = days.day_end(date(2026, 10, 25), BERLIN)
    assert start == datetime(2026, 10, 24, 22, 0, tzinfo=UTC)  # midnight CEST
    assert end == datetime(2026, 10, 25, 22, 59, 59, 999999, tzinfo=UTC)  # 23:59 CET
    assert end - start == timedelta(hours=25) - timedelta(microseconds=1)


def test_a_midnight_that_does_not_exist_starts_the_day_at_the_change():
    # Santiago skips 00:00-01:00 when its summer time starts (6 September 2026).
    santiago = ZoneInfo("America/Santiago")
    start = days.day_start(date(2026, 9, 6), santiago)
    assert start.astimezone(santiago).replace(tzinfo=None) == datetime(2026, 9, 6, 1, 0)
    assert days.local_day(start - timedelta(microseconds=1), santiago) == date(2026, 9, 5)


def test_all_day_due_keeps_the_date_an_instant_falls_on_in_the_zone():
    late_evening = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)  # 2 December in Berlin
    assert days.local_day(days.all_day_due(late_evening, BERLIN), BERLIN) == date(2026, 12, 2)


def test_at_hour_is_the_wall_clock_hour_in_the_zone():
    assert days.at_hour(date(2026, 10, 25), 9, BERLIN) == datetime(2026, 10, 25, 8, tzinfo=UTC)
    assert days.at_hour(date(2026, 10, 24), 9, BERLIN) == datetime(2026, 10, 24, 7, tzinfo=UTC)
    # 02:00 does not exist on 29 March 2026 in Berlin: the hour after the gap.
    assert days.at_hour(date(2026, 3, 29), 2, BERLIN) == datetime(2026, 3, 29, 1, tzinfo=UTC)
