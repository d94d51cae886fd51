"""Natural-language quick add: one line of text in, a title, tags, priority, due date and
RRULE out. Pure functions, no Django.

How a line is read:

* Candidate phrases are found with a table of patterns (`_PATTERNS`): dates ("tomorrow",
  "next Monday", "June 5", "03/04"), times ("5pm", "at 10", "9:30") and repeats ("every
  weekday", "every 3 days", "every month on the 1st", "every 3rd Friday", "every Monday
  and Wednesday"). Overlapping candidates: the longest wins.
* Dates and times get their value from dateparser (numeric dates in the user's DATE_ORDER,
  DMY or MDY); a phrase dateparser cannot read is not a date. dateparser's own search is
  not used to find the phrases: it misses "5pm" and "at 10", and reads "next Monday at 10"
  as the 10th of the month.
* Repeats map to an RRULE through `recurrence.compose_rule`; the first due date is the
  rule's first match on or after the given date (today by default), and the result passes
  `recurrence.validate_rule`, so the service accepts it.
* Only confident phrases are applied on their own. A bare ordinal ("The 5th Wave", "the
  1st") is offered (`confident=False`) but applied only when the person accepts it; "on the
  1st" is confident. Bare numbers ("Buy 2 tickets") and years ("Read 1984") are never dates.
  A phrase whose text is in `keep` stays in the title; `literal` keeps every phrase.
* A date without a time is due at `DATE_ONLY_TIME` (`has_time` is False). A time alone is
  today, or tomorrow once that time has passed. Wall times are built with zoneinfo in the
  user's zone: one that does not exist (the clocks skip it) is a problem to fix, and one
  that happens twice is a question (`ambiguous`) until `fold` (0 = the first, 1 = the
  second) answers it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import dateparser

from . import recurrence as rrules
from . import walltime

__all__ = [
    "DATE_ONLY_TIME",
    "DATE_ORDERS",
    "QuickAdd",
    "Span",
    "parse",
]

DATE_ORDERS = ("DMY", "MDY")
#: The time a date without one is due at.
DATE_ONLY_TIME = time(9, 0)

DATE, TIME, REPEAT, TAG, PRIORITY = "date", "time", "repeat", "tag", "priority"
_PRIORITIES = ("urgent", "high", "medium", "low")

_WEEKDAYS = {
    "mon": 0,
    "tue": 1,
    "wed": 2,
    "thu": 3,
    "fri": 4,
    "sat": 5,
    "sun": 6,
}
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "last": -1}
_UNITS = {"day": "DAILY", "week": "WEEKLY", "month": "MONTHLY", "year": "YEARLY"}
_WORKWEEK = tuple((day, 0) for day in range(5))

_WD_FULL = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
_WD_ANY = (
    r"(?:mon(?:day)?|tue(?:s(?:day)?)?|wed(?:nesday)?|thu(?:r(?:s(?:day)?)?)?|fri(?:day)?"
    r"|sat(?:urday)?|sun(?:day)?)s?"
)
_WD_LIST = rf"{_WD_ANY}(?:\s*(?:,|and|&|,\s*and)\s*{_WD_ANY})*"
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_ORD = r"(?:[1-5](?:st|nd|rd|th)|first|second|third|fourth|fifth|last)"
_DOM = r"(?:3[01]|[12][0-9]|0?[1-9])(?:st|nd|rd|th)"
_EACH_MONTH = r"(?:\s+of\s+(?:the|each|every)\s+month)?"


@dataclass(frozen=True, slots=True)
class Span:
    """A recognised phrase: `text[start:end]`. `applied` says whether it set a field."""

    start: int
    end: int
    text: str
    kind: str
    confident: bool = True
    applied: bool = True


@dataclass(frozen=True, slots=True)
class QuickAdd:
    title: str
    tags: tuple[str, ...] = ()
    priority: str | None = None
    due: datetime | None = None
    has_time: bool = False
    recurrence: str = ""
    spans: tuple[Span, ...] = ()
    #: What is wrong with the date or repeat, in words (the task is not created).
    problem: str | None = None
    #: A wall time that happens twice: both instants, earlier first (see `fold`).
    ambiguous: tuple[datetime, datetime] | None = None


@dataclass(frozen=True, slots=True)
class _Value:
    day: date | None = None
    at: time | None = None
    rule: dict[str, Any] = field(default_factory=dict)
    #: A day of the month with no month ("on the 1st"): found through the rule engine.
    monthday: int | None = None


class _Unreadable(ValueError):
    """The phrase looked like a date but dateparser could not read it: not a date."""


# --- the phrase table ---------------------------------------------------------------------


def _weekday(word: str) -> int:
    return _WEEKDAYS[word.lower()[:3]]


def _weekday_list(text: str) -> tuple[tuple[int, int], ...]:
    days = sorted({_weekday(word) for word in re.findall(_WD_ANY, text, re.I)})
    return tuple((day, 0) for day in days)


def _ordinal(word: str) -> int:
    word = word.lower()
    return _ORDINALS[word] if word in _ORDINALS else int(word[:-2])


def _monthday(word: str) -> int:
    return -1 if word.lower().startswith("last") else int(re.sub(r"\D", "", word))


def _every_n(m: re.Match[str], ctx: _Context) -> _Value:
    n = m["n"].lower()
    parts: dict[str, Any] = {"freq": _UNITS[m["unit"].lower()]}
    parts["interval"] = 2 if n == "other" else int(n)
    if m["days"]:
        parts["byday"] = _weekday_list(m["days"])
    return _Value(rule=parts)


def _every_unit(m: re.Match[str], ctx: _Context) -> _Value:
    word = (m["unit"] or m["adverb"]).lower()
    freq = {"daily": "DAILY", "weekly": "WEEKLY", "monthly": "MONTHLY"}.get(word, "YEARLY")
    parts: dict[str, Any] = {"freq": _UNITS.get(word, freq)}
    if m["dom"]:
        parts.update(freq="MONTHLY", bymonthday=(_monthday(m["dom"]),))
    return _Value(rule=parts)


def _every_weekday(m: re.Match[str], ctx: _Context) -> _Value:
    days = _WORKWEEK if m["which"].lower() in ("weekday", "workday", "week day") else ()
    return _Value(rule={"freq": "WEEKLY", "byday": days or ((5, 0), (6, 0))})


def _every_days(m: re.Match[str], ctx: _Context) -> _Value:
    parts: dict[str, Any] = {"freq": "WEEKLY", "byday": _weekday_list(m["days"])}
    if m["other"]:
        parts["interval"] = 2
    return _Value(rule=parts)


def _every_nth_weekday(m: re.Match[str], ctx: _Context) -> _Value:
    return _Value(rule={"freq": "MONTHLY", "byday": ((_weekday(m["wd"]), _ordinal(m["ord"])),)})


def _every_monthday(m: re.Match[str], ctx: _Context) -> _Value:
    return _Value(rule={"freq": "MONTHLY", "bymonthday": (_monthday(m["dom"]),)})


def _read_date(m: re.Match[str], ctx: _Context) -> _Value:
    text = re.sub(r"^on\s+", "", m[0], flags=re.I)
    return _Value(day=ctx.read(text).date())


def _read_monthday(m: re.Match[str], ctx: _Context) -> _Value:
    return _Value(monthday=_monthday(m["dom"]))


def _read_time(m: re.Match[str], ctx: _Context) -> _Value:
    text = re.sub(r"^(?:at\s+|@\s*)", "", m[0], flags=re.I).replace(".", "")
    if text.isdigit():
        text += ":00"  # "at 10": dateparser alone reads a bare number as a day
    return _Value(at=ctx.read(text).time())


#: (kind, pattern, reader, confident)
_PATTERNS: list[tuple[str, str, Callable[[re.Match[str], _Context], _Value], bool]] = [
    (
        REPEAT,
        r"every\s+(?P<n>[1-9][0-9]{0,2}|other)\s+(?P<unit>day|week|month|year)s?"
        rf"(?:\s+on\s+(?P<days>{_WD_LIST}))?",
        _every_n,
        True,
    ),
    (
        REPEAT,
        r"(?:every\s+(?P<unit>day|week|month|year)|(?P<adverb>daily|weekly|monthly|yearly|annually))"
        rf"(?:\s+on\s+the\s+(?P<dom>{_DOM}|last\s+day){_EACH_MONTH})?",
        _every_unit,
        True,
    ),
    (REPEAT, r"every\s+(?P<which>week\s?day|workday|weekend)", _every_weekday, True),
    (REPEAT, rf"every\s+(?P<other>other\s+)?(?P<days>{_WD_LIST})", _every_days, True),
    (
        REPEAT,
        rf"every\s+(?P<ord>{_ORD})\s+(?P<wd>{_WD_ANY}){_EACH_MONTH}",
        _every_nth_weekday,
        True,
    ),
    (REPEAT, rf"every\s+(?P<dom>{_DOM}|last\s+day){_EACH_MONTH}", _every_monthday, True),
    (
        REPEAT,
        rf"(?:on\s+)?the\s+(?P<dom>{_DOM}|last\s+day)\s+of\s+(?:every|each)\s+month",
        _every_monthday,
        True,
    ),
    (DATE, r"today|tomorrow|tmrw", _read_date, True),
    (DATE, rf"(?:(?:on|next|this|coming)\s+)?{_WD_FULL}", _read_date, True),
    (DATE, r"next\s+(?:week|month|year)", _read_date, True),
    (DATE, r"in\s+(?:[1-9][0-9]{0,2}|an?)\s+(?:day|week|month|year)s?", _read_date, True),
    (
        DATE,
        rf"(?:on\s+)?{_MONTH}\s+(?:3[01]|[12][0-9]|0?[1-9])(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?",
        _read_date,
        True,
    ),
    (
        DATE,
        rf"(?:on\s+)?(?:the\s+)?(?:3[01]|[12][0-9]|0?[1-9])(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}"
        r"(?:,?\s+\d{4})?",
        _read_date,
        True,
    ),
    (DATE, r"(?:on\s+)?\d{4}-\d{2}-\d{2}", _read_date, True),
    (DATE, r"(?:on\s+)?\d{1,2}[/.]\d{1,2}(?:[/.](?:\d{4}|\d{2})|\.)?", _read_date, True),
    (DATE, rf"on\s+(?:the\s+)?(?P<dom>{_DOM})", _read_monthday, True),
    (DATE, rf"(?:the\s+)?(?P<dom>{_DOM})", _read_monthday, False),
    (
        TIME,
        r"(?:at\s+|@\s*)?(?:1[0-2]|0?[1-9])(?::[0-5]\d)?\s*(?:am|pm|a\.m\.|p\.m\.)",
        _read_time,
        True,
    ),
    (TIME, r"(?:at\s+|@\s*)?(?:[01]?\d|2[0-3]):[0-5]\d", _read_time, True),
    (TIME, r"(?:at|@)\s*(?:[01]?\d|2[0-3])(?![\d:.])", _read_time, True),
    (TIME, r"(?:at\s+)?(?:noon|midnight)", _read_time, True),
]
_COMPILED = [
    (kind, re.compile(rf"(?<![\w#!/.:]){pattern}(?![\w/]|[.:/]\d)", re.I), reader, confident)
    for kind, pattern, reader, confident in _PATTERNS
]
_SHORTHAND = re.compile(
    rf"(?:(?<=\s)|^)(?:#(?P<tag>[\w/-]{{1,50}})|!(?P<priority>{'|'.join(_PRIORITIES)}))(?=\s|$)",
    re.I,
)


# --- reading ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Context:
    local_now: datetime  # naive wall time in the user's zone
    date_order: str

    def read(self, text: str) -> datetime:
        found = _dateparser(text, self.local_now, self.date_order)
        if found is None:
            raise _Unreadable(text)
        return found


@lru_cache(maxsize=2048)
def _dateparser(text: str, base: datetime, order: str) -> datetime | None:
    found = dateparser.parse(
        text,
        languages=["en"],
        settings={
            "RELATIVE_BASE": base,
            "PREFER_DATES_FROM": "future",
            "DATE_ORDER": order,
            "RETURN_AS_TIMEZONE_AWARE": False,
        },
    )
    return found


def _candidates(text: str, ctx: _Context) -> list[tuple[Span, _Value]]:
    """Every phrase of the table that reads, longest first where they overlap."""
    found: list[tuple[Span, _Value]] = []
    for kind, pattern, reader, confident in _COMPILED:
        for m in pattern.finditer(text):
            try:
                value = reader(m, ctx)
            except (_Unreadable, rrules.RecurrenceError, ValueError, KeyError):
                continue
            found.append((Span(m.start(), m.end(), m[0], kind, confident), value))
    found.sort(key=lambda item: (-(item[0].end - item[0].start), item[0].start))
    chosen: list[tuple[Span, _Value]] = []
    taken: list[tuple[int, int]] = []
    for span, value in found:
        if any(span.start < end and start < span.end for start, end in taken):
            continue
        chosen.append((span, value))
        taken.append((span.start, span.end))
    return sorted(chosen, key=lambda item: item[0].start)


def parse(
    text: str,
    *,
    now: datetime,
    tz: str,
    date_order: str = "DMY",
    keep: Iterable[str] = (),
    accept: Iterable[str] = (),
    literal: bool = False,
    fold: int | None = None,
) -> QuickAdd:
    """Read one quick-add line (see the module docstring). `now` must be aware."""
    if now.tzinfo is None:
        raise ValueError("now must be a timezone-aware datetime")
    zone = ZoneInfo(tz)
    ctx = _Context(now.astimezone(zone).replace(tzinfo=None, microsecond=0), date_order)
    kept = {phrase.strip().casefold() for phrase in keep}
    accepted = {phrase.strip().casefold() for phrase in accept}

    spans: list[Span] = []
    tags: list[str] = []
    priority: str | None = None
    for m in _SHORTHAND.finditer(text):
        if m["tag"]:
            tags.append(m["tag"])
        else:
            priority = m["priority"].lower()
        spans.append(Span(m.start(), m.end(), m[0], TAG if m["tag"] else PRIORITY))

    values: dict[str, _Value] = {}
    for span, value in _candidates(_blank(text, spans), ctx):
        wanted = span.confident or span.text.casefold() in accepted
        use = (
            wanted and not literal and span.text.casefold() not in kept and span.kind not in values
        )
        if use:
            values[span.kind] = value
        spans.append(Span(span.start, span.end, span.text, span.kind, span.confident, use))
    spans.sort(key=lambda span: span.start)

    title = _title(text, [span for span in spans if span.applied])
    result = QuickAdd(title=title, tags=tuple(tags), priority=priority, spans=tuple(spans))
    if not values:
        return result
    try:
        return _with_due(result, values, ctx, zone, tz, fold)
    except rrules.RecurrenceError as exc:
        return replace(result, problem=str(exc))


def _blank(text: str, spans: list[Span]) -> str:
    """`text` with the tags and priorities replaced by spaces, so no date overlaps them."""
    chars = list(text)
    for span in spans:
        chars[span.start : span.end] = " " * (span.end - span.start)
    return "".join(chars)


def _title(text: str, applied: list[Span]) -> str:
    chars = list(text)
    for span in applied:
        chars[span.start : span.end] = " " * (span.end - span.start)
    title = " ".join("".join(chars).split())
    return title.strip(" ,;-\u2013")


def _with_due(
    result: QuickAdd,
    values: dict[str, _Value],
    ctx: _Context,
    zone: ZoneInfo,
    tz: str,
    fold: int | None,
) -> QuickAdd:
    date_value, time_value = values.get(DATE), values.get(TIME)
    rule_parts = values[REPEAT].rule if REPEAT in values else None
    at = time_value.at if time_value else None
    wall = at or DATE_ONLY_TIME
    today = ctx.local_now.date()

    day: date | None = None
    if date_value is not None and date_value.monthday is not None:
        day = _first_match({"freq": "MONTHLY", "bymonthday": (date_value.monthday,)}, today, tz)
    elif date_value is not None:
        day = date_value.day

    rule_text = ""
    if rule_parts is not None:
        rule = rrules.compose_rule(**rule_parts)
        rule_text = rule.text
        start = day or today
        # A plain interval ("every 3 days") starts on the date itself.
        day = _first_match(rule_parts, start, tz) if rule.byday or rule.bymonthday else start
        if at is not None and date_value is None and datetime.combine(day, at) <= ctx.local_now:
            later = rrules.next_occurrence(
                rule_text,
                series_start=_exact(day, at, zone, 0),
                tz=tz,
                after=_exact(day, at, zone, 0),
            )
            if later is None:
                raise rrules.RecurrenceError(f"{rule_text} has no date after today")
            day = later.astimezone(zone).date()
    elif day is None:
        day = today if datetime.combine(today, wall) > ctx.local_now else today + timedelta(days=1)

    due, problem, twice = _localize(day, wall, zone, tz, fold)
    if problem or twice:
        return replace(result, problem=problem, ambiguous=twice, recurrence=rule_text)
    assert due is not None
    if rule_text:
        rrules.validate_rule(rule_text, first_due=due, tz=tz)
    return replace(result, due=due, has_time=at is not None, recurrence=rule_text)


def _first_match(parts: dict[str, Any], start: date, tz: str) -> date:
    """The first date on or after `start` that the rule (read with INTERVAL 1) matches."""
    every = {**parts, "interval": 1}
    every.pop("count", None)
    text = rrules.compose_rule(**every).text
    zone = ZoneInfo(tz)
    before = datetime.combine(start - timedelta(days=1), time(12), tzinfo=zone)
    found = rrules.next_occurrence(text, series_start=before, tz=tz, after=before)
    if found is None:
        raise rrules.RecurrenceError(f"{text} never produces a date")
    return found.date()


def _exact(day: date, wall: time, zone: ZoneInfo, fold: int) -> datetime:
    return datetime.combine(day, wall, tzinfo=zone).replace(fold=fold)


def _localize(
    day: date, wall: time, zone: ZoneInfo, tz: str, fold: int | None
) -> tuple[datetime | None, str | None, tuple[datetime, datetime] | None]:
    """(due, problem, ambiguous): the wall time as an instant, without shifting it."""
    try:
        return walltime.resolve(datetime.combine(day, wall), zone, fold), None, None
    except walltime.WallTimeError as exc:
        return None, str(exc), None
    except walltime.AmbiguousWallTime as exc:
        return None, None, exc.instants
