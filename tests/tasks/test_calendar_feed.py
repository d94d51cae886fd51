"""The calendar feed: read back with icalendar and expanded by recurring-ical-events, an
iCalendar reader independent of our recurrence engine."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import recurring_ical_events
from django.test import Client
from django.urls import reverse
from icalendar import Calendar

from tasks import services
from tasks.calendar_feed import (
    calendar_feed_for_token,
    calendar_feed_reset,
    calendar_for,
    feed_url,
)
from tasks.models import Task
from tests.tasks.test_recurrence import DATEUTIL_AGREEMENT, RFC_EXAMPLES

NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
pytestmark = pytest.mark.django_db
#: The Gregorian calendar repeats every 400 years (weekdays and leap years alike): the
#: suite's 1997 and 1999 cases, moved past today, so /occurrences lists them whole.
CYCLE = 400


def ahead(moment: datetime) -> datetime:
    return moment.replace(year=moment.year + CYCLE)


def rule_ahead(rule: str) -> str:
    return re.sub(r"UNTIL=(\d{4})", lambda m: f"UNTIL={int(m.group(1)) + CYCLE}", rule)


def get(url: str, **headers: str):
    """A calendar app's request: no session, the URL alone."""
    return Client().get(urlsplit(url).path, headers=headers)


@pytest.fixture
def feed(user, settings):
    settings.SITE_URL = "https://todo.example.org"
    return calendar_feed_reset(user=user)


def fetch(feed, **headers: str):
    return get(feed_url(feed), **headers)


def parsed(feed) -> Calendar:
    response = fetch(feed)
    assert response.status_code == 200, response.content
    return Calendar.from_ical(response.content)


def expanded(calendar: Calendar, start: datetime, end: datetime) -> list[datetime]:
    """Every occurrence's start, as instants, in [start, end]."""
    found = recurring_ical_events.of(calendar).between(start, end + timedelta(seconds=1))
    return sorted(event["DTSTART"].dt.astimezone(UTC) for event in found)


def seconds(moments: list[datetime]) -> list[datetime]:
    return [moment.astimezone(UTC).replace(microsecond=0) for moment in moments]


def recurring(user, *, due: datetime, rule: str, tz: str, **data) -> Task:
    return services.task_create(
        user=user,
        data={"title": "Series", "due_date": due, "recurrence": rule, "timezone": tz, **data},
    )


def assert_feed_matches_occurrences(api, feed, task: Task) -> None:
    """The feed, expanded by a calendar app's parser, gives the open instance and then
    exactly the dates of /api/todos/{id}/occurrences."""
    body = api.get(f"/api/todos/{task.pk}/occurrences?limit=100").json()
    upcoming = [datetime.fromisoformat(text) for text in body["occurrences"]]
    assert task.due_date is not None
    expected = seconds([task.due_date, *upcoming])
    end = upcoming[-1] if upcoming else task.due_date
    found = expanded(parsed(feed), task.due_date - timedelta(days=1), end)
    assert found == expected


# ---------------------------------------------------------------------------------------------
# Every recurrence case of tests/tasks/test_recurrence.py


@pytest.mark.parametrize(
    ("rule", "first"),
    [(rule, first) for rule, first, _, _ in RFC_EXAMPLES.values()],
    ids=list(RFC_EXAMPLES),
)
def test_rfc5545_examples_expand_to_our_occurrences(api, user, feed, rule, first):
    due = ahead(datetime(first.year, first.month, first.day, 9, tzinfo=NY))
    task = recurring(user, due=due, rule=rule_ahead(rule), tz="America/New_York")
    assert_feed_matches_occurrences(api, feed, task)


@pytest.mark.parametrize("rule", DATEUTIL_AGREEMENT)
def test_dateutil_agreement_rules_expand_to_our_occurrences(api, user, feed, rule):
    from dateutil.rrule import rrulestr

    seed = datetime(1999, 12, 20, 9, 0)
    dtstart = rrulestr(rule, dtstart=seed)[0]
    due = ahead(dtstart.replace(tzinfo=NY))
    task = recurring(user, due=due, rule=rule, tz="America/New_York")
    assert_feed_matches_occurrences(api, feed, task)


@pytest.mark.parametrize(
    ("rule", "wall", "tz"),
    [
        # test_weekly_bysetpos_counts_the_whole_first_week_unlike_dateutil
        ("FREQ=WEEKLY;BYDAY=MO,TU,WE;BYSETPOS=2", (2027, 3, 2, 9), "Europe/Berlin"),
        # test_nine_oclock_stays_nine_oclock_across_dst
        ("FREQ=DAILY", (2027, 3, 12, 9), "America/New_York"),
        ("FREQ=DAILY", (2027, 11, 5, 9), "America/New_York"),
        ("FREQ=DAILY", (2027, 3, 26, 9), "Europe/Berlin"),
        ("FREQ=DAILY", (2027, 10, 29, 9), "Europe/Berlin"),
        # test_time_in_spring_forward_gap_moves_forward_by_the_gap
        ("FREQ=DAILY;COUNT=6", (2027, 3, 12, 2, 30), "America/New_York"),
        ("FREQ=DAILY;COUNT=6", (2027, 3, 26, 2, 30), "Europe/Berlin"),
        # test_ambiguous_fall_back_time_uses_the_first_instant
        ("FREQ=DAILY;COUNT=6", (2027, 11, 5, 1, 30), "America/New_York"),
        ("FREQ=DAILY;COUNT=6", (2027, 10, 29, 2, 30), "Europe/Berlin"),
        # the month-end, leap-day, COUNT and UNTIL cases
        ("FREQ=MONTHLY;BYMONTHDAY=31", (2027, 1, 31, 9), "Europe/Berlin"),
        ("FREQ=MONTHLY", (2027, 1, 31, 9), "Europe/Berlin"),
        ("FREQ=MONTHLY;BYMONTHDAY=-1", (2027, 1, 31, 9), "Europe/Berlin"),
        ("FREQ=YEARLY", (2028, 2, 29, 9), "Europe/Berlin"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", (2096, 2, 29, 9), "Europe/Berlin"),
        ("FREQ=WEEKLY;COUNT=5", (2027, 1, 4, 9), "America/New_York"),
        ("FREQ=WEEKLY;BYDAY=MO;COUNT=3", (2027, 1, 6, 9), "America/New_York"),
        ("FREQ=DAILY;UNTIL=20270110", (2027, 1, 1, 23, 30), "America/New_York"),
        ("FREQ=DAILY;UNTIL=20270110T143000Z", (2027, 1, 1, 9, 30), "America/New_York"),
        ("FREQ=WEEKLY;BYDAY=MO,WE", (2027, 1, 4, 9, 15, 30), "UTC"),
    ],
)
def test_dst_month_end_and_bounded_cases_expand_to_our_occurrences(api, user, feed, rule, wall, tz):
    task = recurring(user, due=datetime(*wall, tzinfo=ZoneInfo(tz)), rule=rule, tz=tz)
    assert_feed_matches_occurrences(api, feed, task)


def test_a_later_instance_counts_what_is_left_of_the_series(api, user, feed):
    due = datetime(2027, 1, 4, 9, tzinfo=NY)
    first = recurring(user, due=due, rule="FREQ=WEEKLY;COUNT=4", tz="America/New_York")
    services.task_complete(task=first)
    later = Task.objects.get(pk=first.pk)
    later.pk = None
    later.completed, later.completed_at = False, None
    later.due_date = datetime(2027, 1, 18, 9, tzinfo=NY)
    later.series_start = first.due_date
    later.save()

    (event,) = parsed(feed).walk("VEVENT")
    assert event["RRULE"]["COUNT"] == [2]
    assert_feed_matches_occurrences(api, feed, later)


def test_an_instance_moved_off_its_rule_is_shown_beside_the_series(api, user, feed):
    task = recurring(
        user, due=datetime(2027, 1, 4, 9, tzinfo=BERLIN), rule="FREQ=WEEKLY", tz="Europe/Berlin"
    )
    Task.objects.filter(pk=task.pk).update(
        series_start=task.due_date, due_date=datetime(2027, 1, 6, 9, tzinfo=BERLIN)
    )
    task.refresh_from_db()

    events = parsed(feed).walk("VEVENT")
    assert sorted(str(e["UID"]).split("-")[0] for e in events) == ["series", "task"]
    assert_feed_matches_occurrences(api, feed, task)


# ---------------------------------------------------------------------------------------------
# The events


def test_a_timed_task_is_an_event_in_its_zone_with_a_vtimezone_and_an_alarm(user, feed):
    due = datetime(2027, 3, 27, 9, 30, tzinfo=BERLIN)
    task = services.task_create(
        user=user,
        data={
            "title": "Dentist, Zoë's",
            "description": "Bring the card;\nsecond line",
            "due_date": due,
            "reminder_at": due - timedelta(minutes=45),
            "priority": "high",
            "timezone": "Europe/Berlin",
        },
    )
    response = fetch(feed)

    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert b"DTSTART;TZID=Europe/Berlin:20270327T093000" in response.content
    calendar = Calendar.from_ical(response.content)
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/Berlin"]
    (event,) = calendar.walk("VEVENT")
    assert event["SUMMARY"] == "Dentist, Zoë's"
    assert event["DESCRIPTION"] == "Bring the card;\nsecond line"
    assert event["URL"] == f"https://todo.example.org/tasks/{task.pk}/edit/"
    assert event["UID"] == f"task-{task.pk}@todo.example.org"
    assert event["PRIORITY"] == 3
    assert event["TRANSP"] == "TRANSPARENT"
    assert event.decoded("DTSTART") == due
    (alarm,) = event.walk("VALARM")
    assert alarm["ACTION"] == "DISPLAY"
    assert alarm.decoded("TRIGGER") == timedelta(minutes=-45)


def test_every_occurrence_of_a_series_gets_the_reminder_and_one_uid(api, user, feed):
    due = datetime(2027, 3, 26, 9, tzinfo=BERLIN)
    task = recurring(
        user, due=due, rule="FREQ=DAILY;COUNT=4", tz="Europe/Berlin", reminder_offset_minutes=10
    )
    calendar = parsed(feed)

    occurrences = recurring_ical_events.of(calendar).between(due, due + timedelta(days=5))
    assert len(occurrences) == 4
    assert {str(o["UID"]) for o in occurrences} == {f"series-{task.series_id}@todo.example.org"}
    starts = [o["DTSTART"].dt for o in occurrences]
    assert [(s.hour, s.utcoffset()) for s in starts] == [
        (9, timedelta(hours=1)),
        (9, timedelta(hours=1)),
        (9, timedelta(hours=2)),  # after the spring-forward on 28 March
        (9, timedelta(hours=2)),
    ]
    for occurrence in occurrences:
        (alarm,) = occurrence.walk("VALARM")
        assert alarm.decoded("TRIGGER") == timedelta(minutes=-10)


def test_only_the_users_open_tasks_with_a_due_date(user, other_user, feed):
    due = datetime(2027, 1, 1, 9, tzinfo=UTC)
    services.task_create(user=user, data={"title": "Shown", "due_date": due})
    services.task_create(user=user, data={"title": "No date"})
    done = services.task_create(user=user, data={"title": "Done", "due_date": due})
    services.task_complete(task=done)
    services.task_create(user=other_user, data={"title": "Not mine", "due_date": due})

    assert [str(e["SUMMARY"]) for e in parsed(feed).walk("VEVENT")] == ["Shown"]


def test_the_feed_is_capped_to_the_soonest_tasks(user, feed, settings):
    settings.CALENDAR_FEED_MAX_TASKS = 2
    for day in (3, 1, 2):
        services.task_create(
            user=user, data={"title": f"Day {day}", "due_date": datetime(2027, 1, day, tzinfo=UTC)}
        )
    assert [str(e["SUMMARY"]) for e in parsed(feed).walk("VEVENT")] == ["Day 1", "Day 2"]


def test_an_all_day_task_is_a_date_entry_keyed_on_task_all_day(user, settings):
    """Task.all_day is added beside this feed: the branch reads it where it exists and is
    exercised here on the attribute, whether or not the model has the field yet."""
    settings.SITE_URL = "https://todo.example.org"
    task = recurring(
        user,
        due=datetime(2027, 1, 30, 12, tzinfo=BERLIN),
        rule="FREQ=DAILY;UNTIL=20270202",
        tz="Europe/Berlin",
        reminder_at=datetime(2027, 1, 30, 8, tzinfo=BERLIN),
    )
    task.all_day = True  # type: ignore[attr-defined]

    calendar = Calendar.from_ical(calendar_for([task], name="Test"))

    (event,) = calendar.walk("VEVENT")
    assert event.decoded("DTSTART") == date(2027, 1, 30)
    assert event.decoded("DTEND") == date(2027, 1, 31)
    assert event["RRULE"]["UNTIL"] == [date(2027, 2, 2)]
    (alarm,) = event.walk("VALARM")
    assert alarm.decoded("TRIGGER") == timedelta(hours=8)  # 08:00 on the day
    days = recurring_ical_events.of(calendar).between(date(2027, 1, 1), date(2027, 3, 1))
    assert [o["DTSTART"].dt for o in days] == [date(2027, 1, d) for d in (30, 31)] + [
        date(2027, 2, 1),
        date(2027, 2, 2),
    ]


# ---------------------------------------------------------------------------------------------
# The URL: private, revocable, cached, rate-limited


def test_the_url_needs_no_session_and_sets_no_cookie(user, feed):
    response = fetch(feed)
    assert response.status_code == 200
    assert not response.cookies
    assert response["Cache-Control"] == "private, max-age=300"
    assert response["X-Robots-Tag"] == "noindex"


def test_a_reset_url_stops_working_at_once(user, feed):
    old = feed_url(feed)
    new = calendar_feed_reset(user=user)

    assert feed_url(new) != old
    assert get(old).status_code == 404
    assert fetch(new).status_code == 200
    assert calendar_feed_for_token(old.rsplit("/", 1)[1].removesuffix(".ics")) is None


@pytest.mark.parametrize("token", ["x" * 43, "short", "a" * 100])
def test_an_unknown_token_is_404(feed, token):
    response = Client().get(f"/tasks/calendar/{token}.ics")
    assert response.status_code == 404


def test_the_token_is_stored_hashed(feed):
    token = feed_url(feed).rsplit("/", 1)[1].removesuffix(".ics")
    feed.refresh_from_db()
    assert token not in {feed.nonce, feed.token_hash}
    assert len(feed.token_hash) == 64


def test_an_unchanged_feed_answers_304_and_a_change_a_new_etag(user, feed):
    task = services.task_create(
        user=user, data={"title": "A", "due_date": datetime(2027, 1, 1, tzinfo=UTC)}
    )
    first = fetch(feed)
    etag, modified = first["ETag"], first["Last-Modified"]

    assert fetch(feed, **{"If-None-Match": etag}).status_code == 304
    assert fetch(feed, **{"If-Modified-Since": modified}).status_code == 304

    services.task_update(task=task, data={"title": "B"})
    changed = fetch(feed, **{"If-None-Match": etag})
    assert changed.status_code == 200 and changed["ETag"] != etag
    services.task_delete(task=Task.objects.get(pk=task.pk))
    deleted = fetch(feed, **{"If-None-Match": changed["ETag"]})
    assert deleted.status_code == 200
    assert parsed(feed).walk("VEVENT") == []


def test_requests_are_rate_limited_per_address(feed, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "calendar-feeds-per-address": "3/minute"}
    statuses = [fetch(feed).status_code for _ in range(3)]
    statuses.append(Client().get("/tasks/calendar/" + "y" * 43 + ".ics").status_code)
    assert statuses == [200, 200, 200, 429]
    refused = fetch(feed)
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1


def test_requests_are_rate_limited_per_url(feed, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "calendar-feed-per-url": "2/hour"}
    assert [fetch(feed).status_code for _ in range(3)] == [200, 200, 429]


# ---------------------------------------------------------------------------------------------
# The settings page


class TestSettingsCard:
    @pytest.fixture
    def client(self, user):
        client = Client()
        client.force_login(user)
        return client

    def test_create_reset_and_turn_off(self, client, user, settings):
        settings.SITE_URL = "https://todo.example.org"
        page = client.get(reverse("account_settings")).content.decode()
        assert "Create a calendar address" in page

        response = client.post(reverse("tasks:calendar_feed_reset"))
        assert response.status_code == 302
        assert response["Location"].endswith("#calendar-feed")
        page = client.get(reverse("account_settings")).content.decode()
        (first,) = re.findall(r'value="(https://todo\.example\.org/tasks/calendar/[^"]+)"', page)
        assert get(first).status_code == 200

        client.post(reverse("tasks:calendar_feed_reset"))
        page = client.get(reverse("account_settings")).content.decode()
        (second,) = re.findall(r'value="(https://todo\.example\.org/tasks/calendar/[^"]+)"', page)
        assert second != first
        assert get(first).status_code == 404

        client.post(reverse("tasks:calendar_feed_delete"))
        assert get(second).status_code == 404
        assert (
            "Create a calendar address" in client.get(reverse("account_settings")).content.decode()
        )

    def test_the_settings_need_a_signed_in_post(self, user):
        assert Client().post(reverse("tasks:calendar_feed_reset")).status_code == 302
        client = Client()
        client.force_login(user)
        assert client.get(reverse("tasks:calendar_feed_reset")).status_code == 405
