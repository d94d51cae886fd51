"""Recurrence engine: RFC 5545 RRULE text in, timezone-aware due dates out.

Pure Python (python-dateutil and zoneinfo only), no Django.

Semantics, where RFC 5545 leaves a choice or dateutil differs from it:

* The rule runs on the wall clock of the task's zone, with DTSTART = the series' first due
  date in that zone (truncated to whole seconds), so 09:00 stays 09:00 across DST.
* DTSTART is always the first instance of the series and counts towards COUNT, even when it
  does not match the rule (RFC 5545 3.8.5.3). dateutil would instead drop an unmatched
  DTSTART and count only rule matches.
* A wall-clock time that does not exist (DST gap) is read with the UTC offset in force before
  the gap (RFC 5545 3.3.5): 02:30 on a spring-forward day becomes 03:30. An ambiguous time
  (fall back) is the first of the two instants (fold=0).
* UNTIL as a DATE includes every occurrence on that local date; as a UTC DATE-TIME it is
  compared with the instant.
* BYSETPOS selects from the whole period (week, month or year), also in the period that
  contains DTSTART; dateutil cuts the first week of a WEEKLY rule at DTSTART instead.
* Years run up to 9999, as in `datetime`.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from itertools import chain, islice
from math import gcd
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil import rrule as du

__all__ = [
    "ALLOWED_FREQUENCIES",
    "WEEKDAY_CODES",
    "RecurrenceError",
    "Rule",
    "compose_rule",
    "describe",
    "next_occurrence",
    "normalize_rule",
    "occurrences",
    "parse_rule",
    "validate_rule",
]


class RecurrenceError(ValueError):
    """Message is user-facing and says exactly what is wrong (e.g. 'FREQ=HOURLY is not supported:
    use DAILY, WEEKLY, MONTHLY or YEARLY')."""


ALLOWED_FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")

_SUB_DAILY = ("HOURLY", "MINUTELY", "SECONDLY")
_TIME_PARTS = ("BYHOUR", "BYMINUTE", "BYSECOND")
_PART_ORDER = (
    "FREQ",
    "INTERVAL",
    "BYMONTH",
    "BYWEEKNO",
    "BYYEARDAY",
    "BYMONTHDAY",
    "BYDAY",
    "BYSETPOS",
    "WKST",
    "COUNT",
    "UNTIL",
)
WEEKDAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# calendar.month_name follows the process locale; user-facing English must not.
_MONTH_NAMES = (
    "",
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_ALL_MONTHS = tuple(range(1, 13))
_ALL_WEEKDAYS = tuple((wd, 0) for wd in range(7))
_WEEKDAYS_MO_FR = frozenset(range(5))
_MAX_NUMBER = 1_000_000
# COUNT is the one part the next date cannot be computed past without counting every
# earlier instance: this caps the work of any evaluation (10,000 instances take about
# 4 ms on the build machine; 1,000,000 took 0.4 s, on a thread other users' events share).
MAX_COUNT = 10_000
_MAX_YEAR = 9999

_BYDAY_ITEM = re.compile(r"([+-]?)([0-9]{1,2})?(MO|TU|WE|TH|FR|SA|SU)")
_UNTIL_VALUE = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})(?:T([0-9]{2})([0-9]{2})([0-9]{2})(Z?))?")


@dataclass(frozen=True, slots=True)
class Rule:
    """A parsed, validated RRULE (parse_rule, compose_rule); `text` is its canonical form."""

    text: str
    freq: str
    interval: int = 1
    count: int | None = None
    until: date | datetime | None = None  # a date is a local date, a datetime is aware UTC
    until_text: str | None = None
    bymonth: tuple[int, ...] = ()
    byweekno: tuple[int, ...] = ()
    byyearday: tuple[int, ...] = ()
    bymonthday: tuple[int, ...] = ()
    byday: tuple[tuple[int, int], ...] = ()  # (weekday 0=Monday, ordinal; 0 = every)
    bysetpos: tuple[int, ...] = ()
    wkst: int | None = None


# ---------------------------------------------------------------------------------------------
# Parsing


def parse_rule(text: str) -> Rule:
    """The rule as an object; raises RecurrenceError for anything this engine cannot
    evaluate faithfully (see normalize_rule)."""
    return _parse(text)


def compose_rule(
    freq: str,
    *,
    interval: int = 1,
    byday: tuple[tuple[int, int], ...] = (),
    bymonthday: tuple[int, ...] = (),
    count: int | None = None,
    until: date | None = None,
) -> Rule:
    """A rule from its parts, checked exactly like a typed one. `byday` items are
    (weekday 0=Monday, ordinal; 0 = every), `until` a local date."""
    parts = {"FREQ": freq}
    if interval != 1:
        parts["INTERVAL"] = str(interval)
    if bymonthday:
        parts["BYMONTHDAY"] = ",".join(str(n) for n in bymonthday)
    if byday:
        parts["BYDAY"] = ",".join(_byday_code(day) for day in byday)
    if count is not None:
        parts["COUNT"] = str(count)
    if until is not None:
        parts["UNTIL"] = f"{until:%Y%m%d}"
    return _parse(";".join(f"{name}={value}" for name, value in parts.items()))


def normalize_rule(text: str) -> str:
    """Canonical form of an RRULE: uppercase, no "RRULE:" prefix, parts in a fixed order.

    Raises RecurrenceError for anything this engine cannot evaluate faithfully.
    """
    return _parse(text).text


@lru_cache(maxsize=512)
def _parse(text: str) -> Rule:
    if not isinstance(text, str):
        raise TypeError(f"a recurrence rule must be a string, not {type(text).__name__}")
    body = text.strip()
    if body[:6].upper() == "RRULE:":
        body = body[6:].strip()
    if not body:
        raise RecurrenceError("the recurrence rule is empty")

    raw: dict[str, str] = {}
    # Tolerate a trailing ";" and spaces around separators: both come from hand-typed rules.
    for chunk in body.split(";"):
        part = chunk.strip()
        if not part:
            continue
        name, sep, value = part.partition("=")
        name, value = name.strip().upper(), value.strip().upper()
        if not sep or not name:
            raise RecurrenceError(f"'{part}' is not a rule part of the form NAME=VALUE")
        if name in raw:
            raise RecurrenceError(f"{name} is given more than once")
        if name not in _PART_ORDER and name not in _TIME_PARTS:
            raise RecurrenceError(f"{name} is not a recurrence rule part")
        if not value:
            raise RecurrenceError(f"{name} has no value")
        raw[name] = value

    if "FREQ" not in raw:
        raise RecurrenceError("FREQ is missing: use FREQ=DAILY, WEEKLY, MONTHLY or YEARLY")
    freq = raw["FREQ"]
    if freq in _SUB_DAILY:
        raise RecurrenceError(f"FREQ={freq} is not supported: use DAILY, WEEKLY, MONTHLY or YEARLY")
    if freq not in ALLOWED_FREQUENCIES:
        raise RecurrenceError(
            f"FREQ={freq} is not a frequency: use DAILY, WEEKLY, MONTHLY or YEARLY"
        )
    for name in _TIME_PARTS:
        if name in raw:
            raise RecurrenceError(
                f"{name} is not supported: the time of day comes from the due date"
            )
    if "COUNT" in raw and "UNTIL" in raw:
        raise RecurrenceError("COUNT and UNTIL cannot be combined: end the series with one of them")

    fields: dict[str, object] = {"freq": freq}
    canonical: dict[str, str] = {"FREQ": freq}
    if "INTERVAL" in raw:
        fields["interval"] = _positive("INTERVAL", raw["INTERVAL"])
        canonical["INTERVAL"] = str(fields["interval"])
    if "COUNT" in raw:
        count = _positive("COUNT", raw["COUNT"])
        if count > MAX_COUNT:
            raise RecurrenceError(
                f"COUNT={raw['COUNT']} is not valid: a series has at most {MAX_COUNT} instances"
                " (leave COUNT out for a series without end)"
            )
        fields["count"] = count
        canonical["COUNT"] = str(count)
    if "UNTIL" in raw:
        fields["until"] = _until(raw["UNTIL"])
        fields["until_text"] = canonical["UNTIL"] = raw["UNTIL"]
    for name, low, high, what in (
        ("BYMONTH", 1, 12, "a month (use 1 to 12)"),
        ("BYWEEKNO", -53, 53, "a week number (use 1 to 53, or -1 to -53 from the end)"),
        ("BYYEARDAY", -366, 366, "a day of the year (use 1 to 366, or -1 to -366 from the end)"),
        ("BYMONTHDAY", -31, 31, "a day of the month (use 1 to 31, or -1 to -31 from the end)"),
        ("BYSETPOS", -366, 366, "a position (use 1 to 366, or -1 to -366 from the end)"),
    ):
        if name in raw:
            numbers = _numbers(name, raw[name], low, high, what)
            fields[name.lower()] = numbers
            canonical[name] = ",".join(str(n) for n in numbers)
    if "BYDAY" in raw:
        days = _weekdays(raw["BYDAY"])
        fields["byday"] = days
        canonical["BYDAY"] = ",".join(f"{n if n else ''}{WEEKDAY_CODES[wd]}" for wd, n in days)
    if "WKST" in raw:
        if raw["WKST"] not in WEEKDAY_CODES:
            raise RecurrenceError(
                f"WKST={raw['WKST']} is not valid: use one of MO, TU, WE, TH, FR, SA, SU"
            )
        fields["wkst"] = WEEKDAY_CODES.index(raw["WKST"])
        canonical["WKST"] = raw["WKST"]

    text_out = ";".join(f"{name}={canonical[name]}" for name in _PART_ORDER if name in canonical)
    rule = Rule(text=text_out, **fields)  # type: ignore[arg-type]
    _check_combinations(rule)
    return rule


def _positive(name: str, value: str) -> int:
    if not value.isascii() or not value.isdigit():
        raise RecurrenceError(f"{name}={value} is not valid: {name} must be a whole number")
    number = int(value)
    if number < 1:
        raise RecurrenceError(f"{name}={value} is not valid: {name} must be at least 1")
    if number > _MAX_NUMBER:
        raise RecurrenceError(f"{name}={value} is not valid: {name} must be at most {_MAX_NUMBER}")
    return number


def _numbers(name: str, value: str, low: int, high: int, what: str) -> tuple[int, ...]:
    seen: list[int] = []
    for item in value.split(","):
        item = item.strip()
        if not re.fullmatch(r"[+-]?[0-9]{1,4}", item):
            shown = item or "an empty item"
            raise RecurrenceError(f"{name}={value} is not valid: {shown} is not {what}")
        number = int(item)
        if number == 0 or not low <= number <= high or (low > 0 and item[0] in "+-"):
            raise RecurrenceError(f"{name}={value} is not valid: {item} is not {what}")
        if number not in seen:
            seen.append(number)
    return tuple(seen)


def _weekdays(value: str) -> tuple[tuple[int, int], ...]:
    seen: list[tuple[int, int]] = []
    for item in value.split(","):
        item = item.strip()
        match = _BYDAY_ITEM.fullmatch(item)
        if not match:
            shown = item or "an empty item"
            raise RecurrenceError(
                f"BYDAY={value} is not valid: {shown} is not a weekday "
                "(use MO, TU, WE, TH, FR, SA, SU, optionally numbered like 1MO or -1FR)"
            )
        sign, digits, code = match.groups()
        if sign and not digits:
            raise RecurrenceError(f"BYDAY={value} is not valid: {item} has a sign but no number")
        ordinal = int(sign + digits) if digits else 0
        if digits and not 1 <= abs(ordinal) <= 53:
            raise RecurrenceError(
                f"BYDAY={value} is not valid: {item} needs a number from 1 to 53 or -1 to -53"
            )
        day = (WEEKDAY_CODES.index(code), ordinal)
        if day not in seen:
            seen.append(day)
    return tuple(seen)


def _until(value: str) -> date | datetime:
    match = _UNTIL_VALUE.fullmatch(value)
    hint = "use a date (YYYYMMDD) or a UTC date-time (YYYYMMDDTHHMMSSZ)"
    if not match:
        raise RecurrenceError(f"UNTIL={value} is not valid: {hint}")
    year, month, day, hour, minute, second, zulu = match.groups()
    if hour is not None and not zulu:
        # A floating or local UNTIL would need its own zone; RFC 5545 requires UTC here.
        raise RecurrenceError(
            f"UNTIL={value} is not valid: a date-time must be in UTC, ending in Z"
        )
    try:
        if hour is None:
            return date(int(year), int(month), int(day))
        return datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=UTC
        )
    except ValueError:
        raise RecurrenceError(f"UNTIL={value} is not a real date or time: {hint}") from None


def _check_combinations(rule: Rule) -> None:
    """RFC 5545 3.3.10 restrictions: rule parts that have no defined meaning for a frequency."""
    if rule.byweekno and rule.freq != "YEARLY":
        raise RecurrenceError("BYWEEKNO only works with FREQ=YEARLY")
    if rule.byyearday and rule.freq != "YEARLY":
        raise RecurrenceError("BYYEARDAY only works with FREQ=YEARLY")
    if rule.bymonthday and rule.freq == "WEEKLY":
        raise RecurrenceError("BYMONTHDAY does not work with FREQ=WEEKLY: use FREQ=MONTHLY")
    numbered = [(wd, n) for wd, n in rule.byday if n]
    if numbered:
        item = _byday_code(numbered[0])
        if rule.freq not in ("MONTHLY", "YEARLY"):
            raise RecurrenceError(
                f"BYDAY={item}: a numbered weekday needs FREQ=MONTHLY or FREQ=YEARLY"
            )
        if rule.byweekno:
            raise RecurrenceError(f"BYDAY={item}: a numbered weekday cannot be used with BYWEEKNO")
        if rule.freq == "MONTHLY" or rule.bymonth:
            too_far = [(wd, n) for wd, n in numbered if abs(n) > 5]
            if too_far:
                raise RecurrenceError(
                    f"BYDAY={_byday_code(too_far[0])}: a month has at most 5 of each weekday"
                )
    if rule.bysetpos:
        if rule.freq == "DAILY":
            raise RecurrenceError(
                "BYSETPOS does not work with FREQ=DAILY: a daily rule has one date per day"
            )
        if not (rule.bymonth or rule.byweekno or rule.byyearday or rule.bymonthday or rule.byday):
            raise RecurrenceError(
                "BYSETPOS needs another BY part to choose from (for example BYDAY=MO,TU,WE,TH,FR)"
            )


def _byday_code(day: tuple[int, int]) -> str:
    wd, n = day
    return f"{n if n else ''}{WEEKDAY_CODES[wd]}"


# ---------------------------------------------------------------------------------------------
# Evaluation
#
# dateutil iterates period by period and only stops when it yields something, so a rule that
# never (or rarely) matches can spin until year 9999: seconds of CPU for a daily rule. Instead
# dateutil evaluates one calendar year at a time (a YEARLY rule with an interval that jumps past
# 9999 after the first period) and the results are cached per year layout. Occurrences of the
# real FREQ/INTERVAL are then picked by period index arithmetic. The Gregorian calendar repeats
# every 400 years, which bounds every search.


@dataclass(frozen=True, slots=True)
class _Spec:
    """The BY parts as one YEARLY rule (defaults from DTSTART filled in), plus what that
    YEARLY rule cannot express: the real frequency's BYSETPOS grouping."""

    freq: str
    wkst: int
    bymonth: tuple[int, ...] | None
    byweekno: tuple[int, ...] | None
    byyearday: tuple[int, ...] | None
    bymonthday: tuple[int, ...] | None
    byday: tuple[tuple[int, int], ...] | None
    bysetpos: tuple[int, ...] | None


def _spec(rule: Rule, first: date) -> _Spec:
    bymonth = rule.bymonth or None
    bymonthday = rule.bymonthday or None
    byday = rule.byday or None
    defines_day = rule.byweekno or rule.byyearday or bymonthday or byday
    if rule.freq == "YEARLY" and not defines_day:
        bymonth = bymonth or (first.month,)
        bymonthday = (first.day,)
    elif rule.freq == "MONTHLY" and not defines_day:
        bymonthday = (first.day,)
    elif rule.freq == "WEEKLY" and not byday:
        byday = ((first.weekday(), 0),)
    elif rule.freq == "DAILY" and not defines_day:
        byday = _ALL_WEEKDAYS
    if rule.freq != "YEARLY":
        # An explicit month list also makes numbered weekdays count within the month, which
        # is what they mean for MONTHLY.
        bymonth = bymonth or _ALL_MONTHS
    return _Spec(
        freq=rule.freq,
        wkst=rule.wkst if rule.wkst is not None else 0,
        bymonth=bymonth,
        byweekno=rule.byweekno or None,
        byyearday=rule.byyearday or None,
        bymonthday=bymonthday,
        byday=byday,
        bysetpos=rule.bysetpos or None,
    )


def _period_index(freq: str, day: date, wkst: int) -> int:
    if freq == "DAILY":
        return day.toordinal()
    if freq == "WEEKLY":
        return (day.toordinal() - 1 - wkst) // 7  # ordinal 1 (0001-01-01) is a Monday
    if freq == "MONTHLY":
        return day.year * 12 + day.month - 1
    return day.year


# Periods per 400 Gregorian years, after which weekdays and leap years repeat.
_PERIODS_PER_400_YEARS = {"DAILY": 146_097, "WEEKLY": 20_871, "MONTHLY": 4_800, "YEARLY": 400}


def _year_key(year: int) -> tuple[int, bool, bool]:
    # Everything a year's matches depend on: its weekdays, its length and (for week numbers)
    # the length of the year before.
    return (date(year, 1, 1).weekday(), calendar.isleap(year - 1), calendar.isleap(year))


_REPRESENTATIVE_YEAR: dict[tuple[int, bool, bool], int] = {}
for _year in range(2001, 2401):
    _REPRESENTATIVE_YEAR.setdefault(_year_key(_year), _year)


def _yearly_matches(spec: _Spec, year: int) -> list[date]:
    if not 1 <= year <= _MAX_YEAR:
        return []
    rule = du.rrule(
        du.YEARLY,
        dtstart=datetime(year, 1, 1),  # noqa: DTZ001 - dateutil works on naive wall-clock time
        interval=_MAX_YEAR + 1,  # one period, then past datetime.MAXYEAR
        wkst=spec.wkst,
        bymonth=spec.bymonth,
        byweekno=spec.byweekno,
        byyearday=spec.byyearday,
        bymonthday=spec.bymonthday,
        byweekday=[du.weekday(wd, n or None) for wd, n in spec.byday] if spec.byday else None,
        bysetpos=spec.bysetpos if spec.freq == "YEARLY" else None,
        cache=False,
    )
    return [moment.date() for moment in rule]


@lru_cache(maxsize=1024)
def _year_table(spec: _Spec, key: tuple[int, bool, bool]) -> tuple[tuple[int, int], ...]:
    """(day offset from 1 January, period index relative to 1 January's period) of every
    match dated in a year with this layout, as if INTERVAL were 1."""
    year = _REPRESENTATIVE_YEAR[key]
    days = _yearly_matches(spec, year)
    if spec.bysetpos and spec.freq in ("WEEKLY", "MONTHLY"):
        if spec.freq == "WEEKLY":
            # Weeks straddle New Year: their position counts over the whole week.
            days = _yearly_matches(spec, year - 1) + days + _yearly_matches(spec, year + 1)
        days = _select_positions(spec, days, year)
    jan1 = date(year, 1, 1)
    base = _period_index(spec.freq, jan1, spec.wkst)
    return tuple(
        (day.toordinal() - jan1.toordinal(), _period_index(spec.freq, day, spec.wkst) - base)
        for day in days
    )


def _select_positions(spec: _Spec, days: list[date], year: int) -> list[date]:
    assert spec.bysetpos is not None
    periods: dict[int, list[date]] = {}
    for day in days:
        periods.setdefault(_period_index(spec.freq, day, spec.wkst), []).append(day)
    chosen: set[date] = set()
    for members in periods.values():
        for pos in spec.bysetpos:
            if -len(members) <= pos <= len(members):
                chosen.add(members[pos - 1 if pos > 0 else pos])
    return sorted(day for day in chosen if day.year == year)


@lru_cache(maxsize=1024)
def _year_buckets(
    spec: _Spec, key: tuple[int, bool, bool], interval: int
) -> dict[int, tuple[int, ...]]:
    """Day offsets of a year's matches, grouped by relative period index modulo INTERVAL."""
    buckets: dict[int, list[int]] = {}
    for offset, rel in _year_table(spec, key):
        buckets.setdefault(rel % interval, []).append(offset)
    return {residue: tuple(offsets) for residue, offsets in buckets.items()}


def _rule_dates(rule: Rule, spec: _Spec, first: date, start_year: int) -> Iterator[date]:
    """Dates strictly after `first` on which the rule matches, ascending, lazily.

    Ends at year 9999, or once a full calendar cycle has passed without a match (then no
    match will ever come).
    """
    interval = rule.interval
    home = _period_index(spec.freq, first, spec.wkst)
    first_ordinal = first.toordinal()
    cycle = 400 * interval // gcd(interval, _PERIODS_PER_400_YEARS[spec.freq])
    idle_years = 0
    for year in range(start_year, _MAX_YEAR + 1):
        jan1 = date(year, 1, 1)
        base = _period_index(spec.freq, jan1, spec.wkst)
        offsets = _year_buckets(spec, _year_key(year), interval).get((home - base) % interval, ())
        found = False
        for offset in offsets:
            ordinal = jan1.toordinal() + offset
            if ordinal > first_ordinal:
                found = True
                yield date.fromordinal(ordinal)
        idle_years = 0 if found else idle_years + 1
        if idle_years > cycle + 1:
            return


def _localize(wall: datetime, zone: ZoneInfo) -> datetime:
    # fold=0 gives the pre-transition offset both in a gap (RFC 5545 3.3.5: 02:30 -> 03:30)
    # and in an overlap (the first 01:30); the UTC round trip turns it into a real local time.
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC).astimezone(zone)


def _beyond_until(until: date | datetime | None, moment: datetime) -> bool:
    if until is None:
        return False
    if isinstance(until, datetime):
        return moment.astimezone(UTC) > until
    return moment.date() > until


def _zone(tz: str) -> ZoneInfo:
    if not isinstance(tz, str) or not tz.strip():
        raise RecurrenceError("a time zone is required for a recurring task")
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise RecurrenceError(
            f"'{tz}' is not a known IANA time zone (for example Europe/Berlin)"
        ) from None


def _require_aware(name: str, value: object) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
    return value


def _series(
    rule: Rule, start: datetime, zone: ZoneInfo, after: datetime, limit: int
) -> list[datetime]:
    start_local = start.astimezone(zone)
    first = start_local.replace(tzinfo=None, fold=0)
    after_utc = after.astimezone(UTC)
    after_wall = after.astimezone(zone).replace(tzinfo=None)
    # Anything a day before `after` on the wall clock is before it in any zone: skip it
    # without building an aware datetime.
    try:
        skip_below: datetime | None = after_wall - timedelta(days=1)
    except OverflowError:
        skip_below = None

    start_year = first.year
    include_start = True
    if rule.count is None and after_wall.year - 1 > first.year:
        # Without COUNT nothing before `after` matters, so a late completion does not walk
        # the backlog year by year.
        start_year = after_wall.year - 1
        include_start = False

    spec = _spec(rule, first.date())
    dates: Iterator[date | None] = chain(
        [None] if include_start else [], _rule_dates(rule, spec, first.date(), start_year)
    )
    if rule.count is not None:
        dates = islice(dates, rule.count)

    found: list[datetime] = []
    for day in dates:
        if day is None:
            moment = start_local
        else:
            wall = datetime.combine(day, first.time())
            if skip_below is not None and wall < skip_below:
                continue
            moment = _localize(wall, zone)
        if _beyond_until(rule.until, moment):
            break
        if moment.astimezone(UTC) > after_utc:
            found.append(moment)
            if len(found) >= limit:
                break
    return found


def occurrences(
    rule: str, *, series_start: datetime, tz: str, after: datetime, limit: int
) -> list[datetime]:
    """The next `limit` occurrences strictly after `after`, as aware datetimes in zone `tz`.

    COUNT counts from `series_start` (which is always the first occurrence); instants are
    compared in UTC, so an `after` inside a fall-back hour is handled exactly.
    """
    parsed = _parse(rule)
    zone = _zone(tz)
    _require_aware("series_start", series_start)
    _require_aware("after", after)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ValueError("limit must be a non-negative integer")
    if limit == 0:
        return []
    return _series(parsed, series_start, zone, after, limit)


def next_occurrence(
    rule: str, *, series_start: datetime, tz: str, after: datetime
) -> datetime | None:
    """The first occurrence strictly after `after`, or None once COUNT or UNTIL ended the series."""
    found = occurrences(rule, series_start=series_start, tz=tz, after=after, limit=1)
    return found[0] if found else None


def validate_rule(text: str, *, first_due: datetime | None, tz: str) -> str:
    """normalize_rule plus the checks that need the series' first due date and zone.

    The rule must produce at least one date after the first due date: a "recurring" task
    that can never recur is rejected, whether the calendar rules it out (30 February), the
    INTERVAL never lands on a matching period, or COUNT/UNTIL end the series first.
    """
    rule = _parse(text)
    if first_due is None:
        raise RecurrenceError("a recurring task needs a due date")
    _require_aware("first_due", first_due)
    zone = _zone(tz)
    start_local = first_due.astimezone(zone)
    shown = f"{start_local:%Y-%m-%d %H:%M} {tz}"

    if rule.until is not None:
        before = (
            rule.until < first_due.astimezone(UTC)
            if isinstance(rule.until, datetime)
            else rule.until < start_local.date()
        )
        if before:
            raise RecurrenceError(f"UNTIL={rule.until_text} is before the first due date ({shown})")

    first = start_local.replace(tzinfo=None, fold=0)
    if next(_rule_dates(rule, _spec(rule, first.date()), first.date(), first.year), None) is None:
        raise RecurrenceError(f"{rule.text} never produces a date after the first due date")

    if not _series(rule, first_due, zone, first_due, 1):
        if rule.count is not None:
            raise RecurrenceError(
                f"COUNT={rule.count} ends the series at its first due date: use COUNT=2 or more"
            )
        unbounded = _series(replace(rule, until=None), first_due, zone, first_due, 1)
        following = f" ({unbounded[0]:%Y-%m-%d %H:%M})" if unbounded else ""
        raise RecurrenceError(
            f"UNTIL={rule.until_text} ends the series before its second date{following}"
        )
    return rule.text


# ---------------------------------------------------------------------------------------------
# Description


def describe(rule: str) -> str:
    """A faithful English summary, e.g. "Every 2 weeks on Monday and Wednesday, 10 times"."""
    r = _parse(rule)
    unit = {"DAILY": "day", "WEEKLY": "week", "MONTHLY": "month", "YEARLY": "year"}[r.freq]
    plain = frozenset(wd for wd, n in r.byday if not n)
    numbered = [(wd, n) for wd, n in r.byday if n]
    head = r.freq.capitalize() if r.interval == 1 else f"Every {r.interval} {unit}s"
    clauses: list[str] = []  # joined with spaces
    notes: list[str] = []  # joined with commas

    only_weekdays = (
        r.freq in ("DAILY", "WEEKLY")
        and plain == _WEEKDAYS_MO_FR
        and not (r.bymonth or r.bymonthday or r.bysetpos)
    )
    setpos_as_ordinal = (
        len(r.bysetpos) == 1
        and plain
        and not numbered
        and not (r.byweekno or r.byyearday or r.bymonthday)
        and (r.freq != "YEARLY" or len(r.bymonth) <= 1)
    )
    single_date = (
        r.freq == "YEARLY"
        and len(r.bymonth) == 1
        and len(r.bymonthday) == 1
        and r.bymonthday[0] > 0
        and not (r.byday or r.byweekno or r.byyearday or r.bysetpos)
    )

    if only_weekdays:
        head = "Every weekday" if r.interval == 1 else f"{head} on weekdays"
    elif single_date:
        clauses.append(f"on {_MONTH_NAMES[r.bymonth[0]]} {r.bymonthday[0]}")
    else:
        if r.byyearday:
            clauses.append(f"on {_day_list(r.byyearday)} of the year")
        if r.bymonthday:
            clauses.append(f"on {_day_list(r.bymonthday)}")
        if r.byday and setpos_as_ordinal:
            clauses.append(f"on the {_ordinal(r.bysetpos[0])} {_weekday_group(plain, 'or')}")
            if r.freq == "WEEKLY":
                clauses.append("of the week")
            elif r.freq == "YEARLY" and not r.bymonth:
                clauses.append("of the year")
        elif r.byday and not (r.bymonthday or r.byyearday):
            clauses.append(f"on {_weekday_phrase(r, plain, numbered)}")
        if r.byweekno:
            clauses.append(f"in {_week_list(r.byweekno)}")
        if r.bymonth:
            clauses.append(f"in {_join([_MONTH_NAMES[m] for m in sorted(r.bymonth)])}")
        if r.byday and (r.bymonthday or r.byyearday):
            # With a day of the month or year, BYDAY only filters (Friday the 13th).
            notes.append(f"if it is {_weekday_phrase(r, plain, numbered, filtering=True)}")
        if r.bysetpos and not setpos_as_ordinal:
            positions = _join([_ordinal(p) for p in r.bysetpos])
            notes.append(f"only the {positions} of these each {unit}")
    if r.wkst is not None and r.wkst != 0:
        notes.append(f"weeks starting on {_WEEKDAY_NAMES[r.wkst]}")
    if r.count is not None:
        notes.append("once" if r.count == 1 else f"{r.count} times")
    if r.until is not None:
        notes.append(f"until {_until_phrase(r.until)}")
    return ", ".join([" ".join([head, *clauses]), *notes])


def _join(items: list[str], word: str = "and") -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {word} {items[-1]}"


def _ordinal(n: int) -> str:
    words = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth"}
    size = abs(n)
    if size in words:
        word = words[size]
    else:
        teen = 10 <= size % 100 <= 20
        suffix = "th" if teen else {1: "st", 2: "nd", 3: "rd"}.get(size % 10, "th")
        word = f"{size}{suffix}"
    if n > 0:
        return word
    return "last" if n == -1 else f"{word}-to-last"


def _day_list(days: tuple[int, ...]) -> str:
    """'day 15', 'days 1 to 7', 'day 1 and the last day', for BYMONTHDAY and BYYEARDAY."""
    positive = sorted(d for d in days if d > 0)
    parts: list[str] = []
    if positive:
        runs = _runs(positive)
        label = "day" if len(positive) == 1 else "days"
        parts.append(f"{label} {_join(runs)}")
    parts += [f"the {_ordinal(d)} day" for d in sorted(d for d in days if d < 0)]
    return _join(parts)


def _week_list(weeks: tuple[int, ...]) -> str:
    positive = sorted(w for w in weeks if w > 0)
    parts: list[str] = []
    if positive:
        parts.append(f"{'week' if len(positive) == 1 else 'weeks'} {_join(_runs(positive))}")
    parts += [f"the {_ordinal(w)} week" for w in sorted(w for w in weeks if w < 0)]
    return _join(parts)


def _runs(numbers: list[int]) -> list[str]:
    """[2, 3, 4, 5, 9] -> ['2 to 5', '9']: long BYMONTHDAY lists stay readable."""
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return [f"{run[0]} to {run[-1]}" if len(run) >= 3 else ", ".join(map(str, run)) for run in runs]


def _weekday_group(days: frozenset[int], word: str) -> str:
    if days == _WEEKDAYS_MO_FR:
        return "weekday"
    if len(days) == 7:
        return "day"
    return _join([_WEEKDAY_NAMES[wd] for wd in sorted(days)], word)


def _weekday_phrase(
    r: Rule, plain: frozenset[int], numbered: list[tuple[int, int]], *, filtering: bool = False
) -> str:
    parts: list[str] = []
    if plain:
        names = _join([_WEEKDAY_NAMES[wd] for wd in sorted(plain)], "or" if filtering else "and")
        if filtering:
            parts.append(f"a {names}")
        elif r.freq in ("MONTHLY", "YEARLY") and not r.byweekno:
            parts.append(f"every {names}")
        else:
            parts.append(names)
    scope = " of the year" if r.freq == "YEARLY" and not r.bymonth else ""
    for wd, n in sorted(numbered, key=lambda day: (day[1] < 0, abs(day[1]), day[0])):
        parts.append(f"the {_ordinal(n)} {_WEEKDAY_NAMES[wd]}{scope}")
    return _join(parts, "or" if filtering else "and")


def _until_phrase(until: date | datetime) -> str:
    text = f"{until.day} {_MONTH_NAMES[until.month]} {until.year}"
    if isinstance(until, datetime):
        text += f" {until:%H:%M} UTC"
    return text
