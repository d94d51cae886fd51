"""The private calendar feed: an iCalendar (RFC 5545) file of a user's open tasks with a
due date, at a secret URL that calendar apps subscribe to.

- One VEVENT per task: timed at the due date in the task's zone (DTSTART with TZID and a
  VTIMEZONE, so DST is right), or an all-day entry for an all-day task. Events rather
  than VTODOs, because Google Calendar shows no VTODO from a subscribed calendar and
  Apple Calendar and Thunderbird show events in their calendar views.
- A recurring task is one VEVENT for its series (UID stable per series) with the series'
  RRULE, starting at the open instance: COUNT is what is left of the series from there
  and a date UNTIL becomes the end of that local day in UTC, so a calendar app expands
  exactly the dates our engine (tasks/recurrence.py) gives. An open instance moved off
  its rule is shown on its own, beside the series from its next date.
- A reminder is a VALARM, relative to the start, so every occurrence of a series gets it.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from urllib.parse import urlsplit

from dateutil import rrule as du
from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.http import http_date, quote_etag
from icalendar import Alarm, Calendar, Event, vRecur

from todo_project.accounts.models import User

from . import recurrence as rrules
from .models import ActivityEntry, CalendarFeed, Priority, Task

PRODID = "-//Todo//Calendar feed//EN"
#: Part of the ETag: a change to what this module writes must reach subscribers.
FORMAT_VERSION = "1"
#: RFC 5545 PRIORITY: 1 is the highest, 9 the lowest.
ICAL_PRIORITY = {Priority.URGENT: 1, Priority.HIGH: 3, Priority.MEDIUM: 5, Priority.LOW: 9}
_ONE_MICROSECOND = timedelta(microseconds=1)


# ---------------------------------------------------------------------------------------------
# The secret URL


def feed_token(feed: CalendarFeed) -> str:
    digest = salted_hmac(
        "tasks.calendar_feed", f"{feed.user_id}:{feed.nonce}", algorithm="sha256"
    ).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def feed_url(feed: CalendarFeed) -> str:
    return f"{settings.SITE_URL}{reverse('tasks:calendar_feed', args=[feed_token(feed)])}"


def calendar_feed_reset(*, user: User) -> CalendarFeed:
    """A new secret URL for the user's feed (the first, or one that replaces the old URL,
    which stops working at once)."""
    with transaction.atomic():
        feed = CalendarFeed.objects.select_for_update().filter(user=user).first()
        feed = feed or CalendarFeed(user=user)
        feed.nonce = secrets.token_urlsafe(32)
        feed.token_hash = token_hash(feed_token(feed))
        feed.reset_at = timezone.now()
        feed.save()
    return feed


def calendar_feed_delete(*, user: User) -> None:
    CalendarFeed.objects.filter(user=user).delete()


def calendar_feed_get(*, user: User) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(user=user).first()


def calendar_feed_for_token(token: str) -> CalendarFeed | None:
    """The feed this URL token opens, if any (looked up by hash: a stolen database does not
    give out working URLs, and nothing about other users can be learnt from the answer)."""
    if not 20 <= len(token) <= 100:
        return None
    return CalendarFeed.objects.select_related("user").filter(token_hash=token_hash(token)).first()


# ---------------------------------------------------------------------------------------------
# What the feed holds, and its version for conditional requests


def feed_tasks(*, user: User) -> list[Task]:
    """The user's open tasks with a due date, soonest first, at most
    CALENDAR_FEED_MAX_TASKS of them."""
    return list(
        Task.objects.filter(user=user, completed=False, due_date__isnull=False).order_by(
            "due_date", "id"
        )[: settings.CALENDAR_FEED_MAX_TASKS]
    )


@dataclass(frozen=True)
class FeedVersion:
    etag: str
    last_modified: datetime


def feed_version(*, feed: CalendarFeed) -> FeedVersion:
    """Changes whenever the feed's content may have: a task added, changed, completed or
    deleted (the count, the newest change and the sum of versions of the tasks shown).

    Last-Modified is the user's latest task change or recorded task event (a deletion
    leaves no row behind but its event), or the URL's reset, whichever is newest."""
    shown = Task.objects.filter(user_id=feed.user_id, completed=False, due_date__isnull=False)
    state = shown.aggregate(
        count=Count("id"), changed=Max("updated_at"), versions=Sum("version"), top=Max("id")
    )
    fingerprint = ":".join(
        str(part)
        for part in (
            FORMAT_VERSION,
            feed.token_hash,
            state["count"],
            state["changed"].isoformat() if state["changed"] else "",
            state["versions"] or 0,
            state["top"] or 0,
            settings.CALENDAR_FEED_MAX_TASKS,
            settings.SITE_URL,
        )
    )
    changed_any = Task.objects.filter(user_id=feed.user_id).aggregate(at=Max("updated_at"))["at"]
    recorded = ActivityEntry.objects.filter(user_id=feed.user_id).aggregate(at=Max("occurred_at"))[
        "at"
    ]
    moments = [m for m in (changed_any, recorded, feed.reset_at) if m is not None]
    return FeedVersion(
        etag=quote_etag(hashlib.sha256(fingerprint.encode()).hexdigest()[:32]),
        last_modified=max(moments),
    )


def last_modified_header(version: FeedVersion) -> str:
    return http_date(version.last_modified.timestamp())


# ---------------------------------------------------------------------------------------------
# The iCalendar file


def calendar_for(tasks: list[Task], *, name: str) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("name", name)  # RFC 7986
    calendar.add("x-wr-calname", name)  # Google Calendar, Apple Calendar, Thunderbird
    calendar.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", timedelta(hours=1))
    starts: list[date] = []
    for task in tasks:
        for event in task_events(task):
            calendar.add_component(event)
            start = event.decoded("dtstart")
            starts.append(start.date() if isinstance(start, datetime) else start)
    if starts:
        # Transitions from the earliest event to a few years past the latest or today; a
        # calendar app that knows the TZID (all three do) uses its own rules beyond that.
        calendar.add_missing_timezones(
            first_date=date(min(starts).year, 1, 1),
            last_date=date(max([*starts, timezone.now().date()]).year + 5, 1, 1),
        )
    return calendar.to_ical()


@dataclass(frozen=True)
class Series:
    """Where the series' VEVENT starts (the first date of the rule at or after the open
    instance's due date) and its RRULE from there."""

    start: datetime
    rule: vRecur
    moved: bool
    excluded: list[datetime]


def task_events(task: Task) -> list[Event]:
    """The VEVENTs of one open task with a due date: one for a one-off task, one for the
    series of a recurring task (plus one for its open instance if moved off the rule)."""
    assert task.due_date is not None
    domain = urlsplit(settings.SITE_URL).hostname or "localhost"
    series = task_series(task) if task.recurrence else None
    events = []
    if series is None or series.moved:
        events.append(_event(task, uid=f"task-{task.pk}@{domain}", start=task.due_date))
    if series is not None:
        uid = f"series-{task.series_id or task.pk}@{domain}"
        event = _event(task, uid=uid, start=series.start, rule=series.rule)
        for moment in series.excluded:
            event.add("exdate", moment.date() if is_all_day(task) else moment)
        events.append(event)
    return events


def task_series(task: Task) -> Series | None:
    """The RRULE of the task's series from its open instance on; None once the series has
    no date left at or after it (the open instance is then its last)."""
    assert task.recurrence and task.due_date is not None
    rule = rrules.parse_rule(task.recurrence)
    start = task.series_start or task.due_date
    ahead = rrules.occurrences(
        rule.text,
        series_start=start,
        tz=task.timezone,
        after=task.due_date - _ONE_MICROSECOND,
        limit=rule.count or 1,
    )
    if not ahead:
        return None
    parts = vRecur.from_ical(rule.text)
    zone = zoneinfo.ZoneInfo(task.timezone)
    if rule.count is not None:
        parts["COUNT"] = [len(ahead)]  # what is left of the series from its first date here
    if rule.until is not None:
        parts["UNTIL"] = [_until(rule.until, zone, all_day=is_all_day(task))]
    anchor = ahead[0]
    return Series(
        start=anchor,
        rule=parts,
        moved=anchor != task.due_date,
        excluded=_first_week_extras(rule, parts, anchor, task.timezone),
    )


def _first_week_extras(
    rule: rrules.Rule, parts: vRecur, anchor: datetime, tz: str
) -> list[datetime]:
    """Dates a dateutil-based reader (python's icalendar tools, among others) would add in
    the first week of a WEEKLY rule with BYSETPOS: it cuts that week at DTSTART, where
    RFC 5545 and our engine choose from the whole week. Excluded, which a reader that
    follows the RFC does not notice (they are not in its set)."""
    if rule.freq != "WEEKLY" or not rule.bysetpos:
        return []
    zone = zoneinfo.ZoneInfo(tz)
    wall = anchor.astimezone(zone).replace(tzinfo=None, microsecond=0)
    week_end = wall + timedelta(days=7)
    theirs = du.rrulestr(parts.to_ical().decode(), dtstart=wall).between(wall, week_end, inc=True)
    ours = {
        moment.astimezone(zone).replace(tzinfo=None, microsecond=0)
        for moment in rrules.occurrences(
            rule.text,
            series_start=anchor,
            tz=tz,
            after=anchor - _ONE_MICROSECOND,
            limit=8,
        )
    }
    return [moment.replace(tzinfo=zone) for moment in theirs if moment not in ours]


def is_all_day(task: Task) -> bool:
    # Task.all_day is being added beside this feed; until it exists every task is timed.
    return bool(getattr(task, "all_day", False))


def _until(until: date | datetime, zone: zoneinfo.ZoneInfo, *, all_day: bool) -> date | datetime:
    """RFC 5545: UNTIL has DTSTART's value type, and is in UTC for a zoned DTSTART. Our
    date UNTIL includes every occurrence on that local date."""
    if isinstance(until, datetime):
        return until.astimezone(zone).date() if all_day else until
    if all_day:
        return until
    day_after = datetime.combine(until + timedelta(days=1), time(), tzinfo=zone)
    return (day_after - timedelta(seconds=1)).astimezone(zoneinfo.ZoneInfo("UTC"))


def _event(task: Task, *, uid: str, start: datetime, rule: vRecur | None = None) -> Event:
    assert task.due_date is not None
    zone = zoneinfo.ZoneInfo(task.timezone)
    local = start.astimezone(zone).replace(microsecond=0)
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", task.updated_at)
    event.add("last-modified", task.updated_at)
    event.add("summary", task.title)
    if task.description:
        event.add("description", task.description)
    event.add("url", f"{settings.SITE_URL}{reverse('tasks:edit', args=[task.pk])}")
    event.add("priority", ICAL_PRIORITY[Priority(task.priority)])
    event.add("transp", "TRANSPARENT")  # a task does not make its owner busy
    if is_all_day(task):
        event.add("dtstart", local.date())
        event.add("dtend", local.date() + timedelta(days=1))
        begins = datetime.combine(local.date(), time(), tzinfo=zone)
    else:
        event.add("dtstart", local)
        begins = task.due_date
    if rule is not None:
        event.add("rrule", rule)
    if task.reminder_at is not None:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", task.title)
        # Relative to the start, so each occurrence of a series is reminded alike.
        alarm.add(
            "trigger", task.reminder_at.replace(microsecond=0) - begins.replace(microsecond=0)
        )
        event.add_component(alarm)
    return event
