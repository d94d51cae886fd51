"""The FilterSet's planning views: `view=today` and `view=upcoming`, in the user's days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tasks import days, selectors, services
from tasks.filters import view_range

BERLIN = ZoneInfo("Europe/Berlin")
pytestmark = pytest.mark.django_db


def make(user, title, **data):
    return services.task_create(user=user, data={"title": title, **data})


def titles(user, now, **params):
    filters = selectors.task_filterset(user=user, params=params, now=now)
    assert filters.is_valid(), filters.errors
    return [task.title for task in filters.qs]


class TestViewRange:
    def test_today_is_everything_due_before_tomorrow_in_the_zone(self):
        now = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)  # 00:30 on the 2nd in Berlin
        assert view_range("today", now=now, zone=BERLIN) == (
            None,
            datetime(2026, 12, 2, 23, 0, tzinfo=UTC),
        )

    def test_upcoming_is_seven_calendar_days_across_the_october_change(self):
        now = datetime(2026, 10, 22, 12, tzinfo=UTC)
        start, end = view_range("upcoming", now=now, zone=BERLIN)
        assert start == datetime(2026, 10, 22, 0, 0, tzinfo=BERLIN)
        assert end == datetime(2026, 10, 29, 0, 0, tzinfo=BERLIN)
        assert end - start == timedelta(days=7, hours=1)  # 25 October has 25 hours


class TestViews:
    NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # 11:00 in Berlin

    @pytest.fixture
    def tasks(self, user):
        make(user, "overdue", due_date=self.NOW - timedelta(days=2))
        make(user, "this morning", due_date=datetime(2026, 12, 1, 8, tzinfo=BERLIN))
        make(user, "today all day", due_date=date(2026, 12, 1))
        make(user, "tonight", due_date=datetime(2026, 12, 1, 23, 59, tzinfo=BERLIN))
        make(user, "tomorrow", due_date=date(2026, 12, 2))
        make(user, "in six days", due_date=datetime(2026, 12, 7, 23, 0, tzinfo=BERLIN))
        make(user, "in a week", due_date=date(2026, 12, 8))
        make(user, "no date")
        done = make(user, "done today", due_date=date(2026, 12, 1))
        services.task_complete(task=done)

    def test_today_is_overdue_and_due_today_open_tasks(self, user, tasks):
        assert titles(user, self.NOW, view="today") == [
            "overdue",
            "this morning",
            "tonight",
            "today all day",  # the end of its day: after the timed tasks of the day
        ]

    def test_upcoming_is_the_next_seven_days_without_the_overdue(self, user, tasks):
        assert titles(user, self.NOW, view="upcoming") == [
            "this morning",
            "tonight",
            "today all day",
            "tomorrow",
            "in six days",
        ]

    def test_an_explicit_status_still_applies(self, user, tasks):
        assert titles(user, self.NOW, view="today", status="completed") == ["done today"]

    def test_a_view_combines_with_the_other_filters(self, user, tasks):
        assert titles(user, self.NOW, view="upcoming", search="tomorrow") == ["tomorrow"]

    def test_an_unknown_view_is_an_error(self, user):
        filters = selectors.task_filterset(user=user, params={"view": "someday"})
        assert not filters.is_valid()
        assert "view" in filters.errors

    def test_the_days_are_the_users_not_the_servers(self, user, make_user):
        tokyo = make_user("kenji", timezone="Asia/Tokyo")
        # Both are 1 December in UTC; in Tokyo the second is already the 2nd.
        make(tokyo, "before midnight", due_date=datetime(2026, 12, 1, 14, 30, tzinfo=UTC))
        make(tokyo, "after midnight", due_date=datetime(2026, 12, 1, 15, 30, tzinfo=UTC))
        assert titles(tokyo, self.NOW, view="today") == ["before midnight"]

    def test_an_all_day_task_stays_on_its_date_across_the_october_change(self, user):
        make(user, "Sunday of the change", due_date=date(2026, 10, 25))
        saturday = datetime(2026, 10, 24, 21, 59, tzinfo=UTC)  # 23:59 CEST
        sunday_night = datetime(2026, 10, 25, 22, 59, tzinfo=UTC)  # 23:59 CET
        assert titles(user, saturday, view="today") == []
        assert titles(user, sunday_night, view="today") == ["Sunday of the change"]
        monday = sunday_night + timedelta(hours=1)  # 00:59 CET on the 26th: overdue now
        assert titles(user, monday, view="today") == ["Sunday of the change"]
        assert titles(user, monday, view="upcoming") == []
        task = selectors.task_queryset(user=user).get()
        assert task.due_day == days.local_day(task.due_date, BERLIN) == date(2026, 10, 25)
