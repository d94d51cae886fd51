"""Completing a recurring task creates its next instance, once, through the worker."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from tasks import services
from tasks.models import Task
from todo_project.eventbus.envelope import TASK_EVENTS, parse_envelope
from todo_project.eventbus.models import OutboxMessage
from todo_project.eventbus.publishers import LocalBus
from todo_project.eventbus.relay import drain

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def recurring(user, *, due, rule, tz="Europe/Berlin", **data):
    return services.task_create(
        user=user,
        data={"title": "Team sync", "due_date": due, "recurrence": rule, "timezone": tz, **data},
    )


def completed_payload(task):
    row = OutboxMessage.objects.filter(
        topic=TASK_EVENTS, event_type="TaskCompleted", envelope__payload__task_id=task.pk
    ).get()
    return parse_envelope(row.envelope).payload


@pytest.mark.django_db
class TestNextInstance:
    def test_last_friday_monthly_at_nine_berlin_keeps_wall_clock_and_reminder(self, user):
        first = recurring(
            user,
            due=datetime(2026, 10, 30, 9, tzinfo=BERLIN),  # last Friday of October (CET)
            rule="FREQ=MONTHLY;BYDAY=-1FR",
            reminder_offset_minutes=30,
            tags=["work"],
            priority="high",
            description="Agenda in the doc",
        )
        services.task_complete(task=first)
        now = datetime(2026, 10, 30, 10, tzinfo=BERLIN)
        nxt = services.task_create_next_instance(completed=completed_payload(first), now=now)
        assert nxt.due_date == datetime(2026, 11, 27, 9, tzinfo=BERLIN)
        assert nxt.due_date.astimezone(BERLIN).hour == 9
        assert nxt.reminder_at == datetime(2026, 11, 27, 8, 30, tzinfo=BERLIN)
        assert nxt.reminder_offset_minutes == 30
        assert (nxt.title, nxt.description, nxt.priority_name) == (
            "Team sync",
            "Agenda in the doc",
            "high",
        )
        assert nxt.tag_names == ["work"]
        assert nxt.recurrence == first.recurrence and nxt.timezone == "Europe/Berlin"
        assert nxt.series_id == first.series_id and nxt.recurrence_parent_id == first.pk
        assert nxt.series_start == first.due_date
        first.refresh_from_db()
        assert first.completed  # the completed occurrence is kept, not overwritten

    def test_dst_change_keeps_nine_oclock_new_york(self, user):
        first = recurring(
            user,
            due=datetime(2026, 3, 6, 9, tzinfo=NEW_YORK),
            rule="FREQ=WEEKLY",
            tz="America/New_York",
        )
        services.task_complete(task=first)
        nxt = services.task_create_next_instance(
            completed=completed_payload(first), now=datetime(2026, 3, 6, 15, tzinfo=UTC)
        )
        assert nxt.due_date == datetime(2026, 3, 13, 9, tzinfo=NEW_YORK)  # EDT now
        assert nxt.due_date.utcoffset() == timedelta(hours=-4)

    def test_late_completion_skips_the_backlog(self, user):
        first = recurring(user, due=datetime(2026, 1, 5, 9, tzinfo=BERLIN), rule="FREQ=DAILY")
        services.task_complete(task=first)
        now = datetime(2026, 1, 20, 12, tzinfo=BERLIN)
        nxt = services.task_create_next_instance(completed=completed_payload(first), now=now)
        assert nxt.due_date == datetime(2026, 1, 21, 9, tzinfo=BERLIN)

    def test_early_completion_takes_the_occurrence_after_the_due_date(self, user):
        first = recurring(user, due=datetime(2026, 1, 5, 9, tzinfo=BERLIN), rule="FREQ=WEEKLY")
        services.task_complete(task=first)
        now = datetime(2026, 1, 1, 12, tzinfo=BERLIN)
        nxt = services.task_create_next_instance(completed=completed_payload(first), now=now)
        assert nxt.due_date == datetime(2026, 1, 12, 9, tzinfo=BERLIN)

    def test_count_counts_every_occurrence_of_the_series(self, user):
        task = recurring(
            user, due=datetime(2026, 1, 5, 9, tzinfo=BERLIN), rule="FREQ=DAILY;COUNT=3"
        )
        due_dates = [task.due_date]
        now = datetime(2026, 1, 1, tzinfo=BERLIN)
        while task is not None:
            services.task_complete(task=task)
            task = services.task_create_next_instance(completed=completed_payload(task), now=now)
            if task is not None:
                due_dates.append(task.due_date)
        assert [d.day for d in due_dates] == [5, 6, 7]

    def test_until_ends_the_series(self, user):
        task = recurring(
            user,
            due=datetime(2026, 1, 5, 9, tzinfo=BERLIN),
            rule="FREQ=WEEKLY;UNTIL=20260113T000000Z",
        )
        services.task_complete(task=task)
        now = datetime(2026, 1, 5, 10, tzinfo=BERLIN)
        nxt = services.task_create_next_instance(completed=completed_payload(task), now=now)
        services.task_complete(task=nxt)
        assert services.task_create_next_instance(completed=completed_payload(nxt), now=now) is None

    def test_absolute_reminder_keeps_its_distance_to_the_due_date(self, user):
        first = recurring(
            user,
            due=datetime(2026, 1, 5, 9, tzinfo=BERLIN),
            rule="FREQ=DAILY",
            reminder_at=datetime(2026, 1, 5, 7, tzinfo=BERLIN),
        )
        services.task_complete(task=first)
        now = datetime(2026, 1, 5, 10, tzinfo=BERLIN)
        nxt = services.task_create_next_instance(completed=completed_payload(first), now=now)
        assert nxt.reminder_at == datetime(2026, 1, 6, 7, tzinfo=BERLIN)

    def test_redelivered_completion_creates_one_instance(self, user):
        first = recurring(user, due=datetime(2026, 1, 5, 9, tzinfo=BERLIN), rule="FREQ=DAILY")
        services.task_complete(task=first)
        payload = completed_payload(first)
        a = services.task_create_next_instance(completed=payload)
        b = services.task_create_next_instance(completed=payload)
        assert a.pk == b.pk
        assert Task.objects.filter(recurrence_parent=first).count() == 1

    def test_reopening_keeps_the_successor(self, user):
        first = recurring(user, due=datetime(2026, 1, 5, 9, tzinfo=BERLIN), rule="FREQ=DAILY")
        services.task_complete(task=first)
        nxt = services.task_create_next_instance(completed=completed_payload(first))
        services.task_reopen(task=first)
        assert Task.objects.filter(pk=nxt.pk).exists()

    def test_one_off_task_has_no_successor(self, user):
        task = services.task_create(user=user, data={"title": "once"})
        services.task_complete(task=task)
        assert services.task_create_next_instance(completed=completed_payload(task)) is None


@pytest.mark.django_db(transaction=True)
def test_completion_through_the_api_creates_the_next_instance_via_the_bus(api, user):
    response = api.post(
        "/api/todos",
        {
            "title": "Water plants",
            "due_date": "2026-01-05T09:00:00+01:00",
            "recurrence": "FREQ=WEEKLY;BYDAY=MO",
        },
    )
    task_id = response.json()["id"]
    api.post(f"/api/todos/{task_id}/complete")
    drain(LocalBus())
    drain(LocalBus())
    successors = Task.objects.filter(recurrence_parent_id=task_id)
    assert successors.count() == 1
    assert successors.get().due_date.astimezone(BERLIN).hour == 9
    # Delivering the same TaskCompleted again (at-least-once) changes nothing.
    OutboxMessage.objects.update(published_at=None, next_attempt_at=None)
    drain(LocalBus())
    assert Task.objects.filter(recurrence_parent_id=task_id).count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_completion_events_create_one_instance(user):
    first = recurring(user, due=datetime(2026, 1, 5, 9, tzinfo=BERLIN), rule="FREQ=DAILY")
    services.task_complete(task=first)
    payload = completed_payload(first)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def run() -> None:
        try:
            barrier.wait()
            results.append(services.task_create_next_instance(completed=payload).pk)
        except Exception as exc:  # pragma: no cover - reported by the assertion
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(set(results)) == 1
    assert Task.objects.filter(recurrence_parent=first).count() == 1


@pytest.mark.django_db
def test_occurrences_endpoint_lists_upcoming_due_dates(api, user):
    task = recurring(
        user, due=datetime(2026, 10, 30, 9, tzinfo=BERLIN), rule="FREQ=MONTHLY;BYDAY=-1FR"
    )
    response = api.get(f"/api/todos/{task.pk}/occurrences?limit=3")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["summary"] == "Monthly on the last Friday"
    dates = [datetime.fromisoformat(d).astimezone(BERLIN) for d in body["occurrences"]]
    assert all(d.hour == 9 and d.weekday() == 4 for d in dates)
    assert len(dates) == 3


@pytest.mark.django_db
def test_occurrences_of_a_one_off_task_is_an_empty_list(api, user):
    task = services.task_create(user=user, data={"title": "once"})
    body = api.get(f"/api/todos/{task.pk}/occurrences").json()
    assert body == {"summary": None, "occurrences": []}


@pytest.mark.django_db
class TestSeriesStart:
    def test_moving_the_first_instance_moves_the_series_start(self, user):
        first = recurring(user, due=datetime(2026, 1, 5, 9, tzinfo=BERLIN), rule="FREQ=DAILY")
        assert first.series_start == first.due_date
        moved = services.task_update(
            task=first, data={"due_date": datetime(2026, 1, 7, 10, tzinfo=BERLIN)}
        )
        assert moved.series_start == datetime(2026, 1, 7, 10, tzinfo=BERLIN)

    def test_a_later_instance_keeps_the_start_it_inherited(self, user):
        first = recurring(
            user, due=datetime(2026, 1, 5, 9, tzinfo=BERLIN), rule="FREQ=DAILY;COUNT=3"
        )
        services.task_complete(task=first)
        second = services.task_create_next_instance(
            completed=completed_payload(first), now=datetime(2026, 1, 1, tzinfo=BERLIN)
        )
        assert second is not None and second.series_start == first.due_date
        moved = services.task_update(
            task=second, data={"due_date": datetime(2026, 1, 6, 18, tzinfo=BERLIN)}
        )
        assert moved.series_start == first.due_date
        # The rule is checked against the series from the 5th: it has a second date on the
        # 6th. Counted from this instance (the 6th, 18:00) it would have none.
        until = services.task_update(task=moved, data={"recurrence": "FREQ=DAILY;UNTIL=20260106"})
        assert until.recurrence == "FREQ=DAILY;UNTIL=20260106"
