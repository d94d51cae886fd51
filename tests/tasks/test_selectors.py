"""tasks.selectors: the header's Today and Upcoming counts, bounded like the others."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tasks import days, selectors, services

pytestmark = pytest.mark.django_db


def make(user, title, **data):
    return services.task_create(user=user, data={"title": title, **data})


def today(user):
    return days.local_day(timezone.now(), user.timezone)


def test_nav_counts_follow_the_views(user):
    make(user, "overdue", due_date=timezone.now() - timedelta(days=3))
    make(user, "today", due_date=today(user))
    make(user, "in three days", due_date=today(user) + timedelta(days=3))
    make(user, "no date")
    counts = selectors.nav_counts(user=user)
    assert {name: str(count) for name, count in counts.items()} == {
        "open_count": "4",
        "today_count": "2",
        "upcoming_count": "2",
    }


def test_view_counts_are_bounded_by_the_cap(user, monkeypatch):
    monkeypatch.setattr(selectors, "COUNT_CAP", 3)
    for n in range(5):
        make(user, f"t{n}", due_date=today(user))
    count = selectors.view_count(user=user, view="today")
    assert (count.value, count.exact, str(count)) == (3, False, "3+")


def test_view_counts_use_the_users_zone_whatever_the_current_one(user):
    make(user, "tomorrow in Berlin", due_date=today(user) + timedelta(days=1))
    with timezone.override("Pacific/Kiritimati"):  # UTC+14: already "tomorrow" there
        assert selectors.view_count(user=user, view="today").value == 0
