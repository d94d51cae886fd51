"""Undo of a completion and of a deletion (tasks.undo)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from tasks import services, undo
from tasks.models import UNDO_WINDOW, ActivityEntry, DeletedTask, Tag, Task
from tasks.presenters import HistoryLine
from todo_project.eventbus.envelope import TASK_EVENTS, TASK_UPDATES, parse_envelope
from todo_project.eventbus.models import OutboxMessage
from todo_project.eventbus.publishers import LocalBus
from todo_project.eventbus.relay import drain

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")


def events(topic=TASK_EVENTS):
    rows = OutboxMessage.objects.filter(topic=topic).order_by("id")
    return [parse_envelope(row.envelope) for row in rows]


def repeating(user, **data):
    due = timezone.now() + timedelta(hours=2)
    return services.task_create(
        user=user,
        data={"title": "Water plants", "due_date": due, "recurrence": "FREQ=DAILY", **data},
    )


class TestUndoComplete:
    def test_reopens_the_task_with_an_event(self, user):
        task = services.task_create(user=user, data={"title": "Call mom"})
        done = services.task_complete(task=task)
        result = undo.task_undo_complete(task=task, version=done.version)
        task.refresh_from_db()
        assert not task.completed and task.completed_at is None
        assert result.task.version == task.version == 3
        last = events()[-1]
        assert last.event_type == "TaskUpdated"
        assert last.payload["changed_fields"] == ["completed", "completed_at"]

    def test_refused_when_the_task_changed_since(self, user):
        task = services.task_create(user=user, data={"title": "Call mom"})
        done = services.task_complete(task=task)
        services.task_update(task=task, data={"title": "Call dad"})
        with pytest.raises(undo.UndoUnavailable, match="changed since it was completed"):
            undo.task_undo_complete(task=task, version=done.version)
        task.refresh_from_db()
        assert task.completed

    def test_refused_when_already_reopened(self, user):
        task = services.task_create(user=user, data={"title": "Call mom"})
        done = services.task_complete(task=task)
        services.task_reopen(task=task)
        with pytest.raises(undo.UndoUnavailable):
            undo.task_undo_complete(task=task, version=done.version)

    def test_refused_after_the_window(self, user):
        task = services.task_create(user=user, data={"title": "Call mom"})
        done = services.task_complete(task=task)
        later = done.completed_at + UNDO_WINDOW + timedelta(seconds=1)
        with pytest.raises(undo.UndoUnavailable, match="more than 10 minutes ago"):
            undo.task_undo_complete(task=task, version=done.version, now=later)

    def test_removes_the_untouched_next_instance_it_spawned(self, user):
        task = repeating(user)
        done = services.task_complete(task=task)
        drain(LocalBus())
        successor = Task.objects.get(recurrence_parent=task)
        result = undo.task_undo_complete(task=task, version=done.version)
        assert result.removed_successor_id == successor.pk and result.kept_successor is None
        assert not Task.objects.filter(pk=successor.pk).exists()
        deleted = [e for e in events() if e.event_type == "TaskDeleted"]
        assert [e.payload["task_id"] for e in deleted] == [successor.pk]
        # An instance the recurrence made is not offered for restore.
        assert not DeletedTask.objects.filter(task_id=successor.pk).exists()

    def test_keeps_a_next_instance_that_was_changed(self, user):
        task = repeating(user)
        done = services.task_complete(task=task)
        drain(LocalBus())
        successor = Task.objects.get(recurrence_parent=task)
        services.task_update(task=successor, data={"title": "Water the big plants"})
        result = undo.task_undo_complete(task=task, version=done.version)
        assert result.kept_successor.pk == successor.pk
        assert Task.objects.filter(pk=successor.pk).exists()

    def test_a_worker_that_comes_late_creates_no_next_instance(self, user):
        task = repeating(user)
        done = services.task_complete(task=task)
        undo.task_undo_complete(task=task, version=done.version)
        drain(LocalBus())  # the TaskCompleted reaches the recurrence handler only now
        assert not Task.objects.filter(recurrence_parent=task).exists()
        assert Task.objects.filter(user=user).count() == 1


class TestRestore:
    def make_full(self, user):
        due = datetime(2030, 3, 4, 9, 0, tzinfo=BERLIN)
        task = services.task_create(
            user=user,
            data={
                "title": "Team sync",
                "description": "Agenda in the doc",
                "priority": "high",
                "tags": ["work", "Meetings"],
                "due_date": due,
                "reminder_offset_minutes": 15,
                "recurrence": "FREQ=WEEKLY;BYDAY=MO",
            },
        )
        services.task_update(task=task, data={"priority": "urgent"})
        return Task.objects.get(pk=task.pk)

    def test_brings_back_every_field_under_the_old_id(self, user):
        before = self.make_full(user)
        services.task_delete(task=before)
        assert not Task.objects.filter(pk=before.pk).exists()
        restored = undo.task_restore(user=user, task_id=before.pk)
        after = Task.objects.get(pk=before.pk)
        for field in (
            "title",
            "description",
            "priority",
            "due_date",
            "reminder_at",
            "reminder_offset_minutes",
            "recurrence",
            "timezone",
            "completed",
            "series_id",
            "series_start",
            "created_at",
        ):
            assert getattr(after, field) == getattr(before, field), field
        assert sorted(after.tag_names) == ["Meetings", "work"]
        assert after.version == restored.version == before.version + 2  # delete, restore
        assert not DeletedTask.objects.filter(task_id=before.pk).exists()

    def test_emits_a_restored_created_event_that_schedules_the_reminder(self, user):
        before = self.make_full(user)
        services.task_delete(task=before)
        undo.task_restore(user=user, task_id=before.pk)
        for topic in (TASK_EVENTS, TASK_UPDATES):
            last = events(topic)[-1]
            assert last.event_type == "TaskCreated"
            assert last.payload["restored"] is True
            assert last.payload["reminder_at"] is not None
            assert last.payload["version"] == before.version + 2

    def test_the_history_continues_and_says_restored(self, user):
        before = self.make_full(user)
        services.task_delete(task=before)
        undo.task_restore(user=user, task_id=before.pk)
        drain(LocalBus())
        entries = list(ActivityEntry.objects.filter(task_id=before.pk))
        newest_first = ["TaskCreated", "TaskDeleted", "TaskUpdated", "TaskCreated"]
        assert [e.event_type for e in entries] == newest_first
        assert HistoryLine.from_entry(entries[0]).label == "Restored"
        assert HistoryLine.from_entry(entries[-1]).label == "Created"

    def test_a_tag_deleted_meanwhile_comes_back(self, user):
        task = services.task_create(user=user, data={"title": "x", "tags": ["solo"]})
        services.task_delete(task=task)
        Tag.objects.filter(user=user, name="solo").delete()
        undo.task_restore(user=user, task_id=task.pk)
        assert Task.objects.get(pk=task.pk).tag_names == ["solo"]

    def test_a_completed_task_comes_back_completed(self, user):
        task = services.task_create(user=user, data={"title": "done"})
        done = services.task_complete(task=task)
        services.task_delete(task=task)
        again = undo.task_restore(user=user, task_id=task.pk)
        assert again.completed and again.completed_at == done.completed_at

    def test_twice_is_not_found(self, user):
        task = services.task_create(user=user, data={"title": "x"})
        services.task_delete(task=task)
        undo.task_restore(user=user, task_id=task.pk)
        with pytest.raises(DeletedTask.DoesNotExist):
            undo.task_restore(user=user, task_id=task.pk)

    def test_another_users_task_is_not_found(self, user, other_user):
        task = services.task_create(user=user, data={"title": "x"})
        services.task_delete(task=task)
        with pytest.raises(DeletedTask.DoesNotExist):
            undo.task_restore(user=other_user, task_id=task.pk)

    def test_refused_after_the_window_and_purged_by_a_later_delete(self, user):
        task = services.task_create(user=user, data={"title": "old"})
        services.task_delete(task=task)
        later = timezone.now() + UNDO_WINDOW + timedelta(seconds=1)
        with pytest.raises(undo.UndoUnavailable, match="can no longer be restored"):
            undo.task_restore(user=user, task_id=task.pk, now=later)
        other = services.task_create(user=user, data={"title": "new"})
        services.task_delete(task=other, now=later)
        assert list(DeletedTask.objects.values_list("task_id", flat=True)) == [other.pk]

    def test_a_new_task_after_the_restore_gets_a_new_id(self, user):
        task = services.task_create(user=user, data={"title": "x"})
        services.task_delete(task=task)
        undo.task_restore(user=user, task_id=task.pk)
        fresh = services.task_create(user=user, data={"title": "y"})
        assert fresh.pk > task.pk

    def test_the_snapshot_is_the_deleted_events_payload(self, user):
        task = services.task_create(
            user=user, data={"title": "x", "due_date": datetime(2030, 1, 1, tzinfo=UTC)}
        )
        services.task_delete(task=task)
        deleted_event = events()[-1]
        assert DeletedTask.objects.get(task_id=task.pk).snapshot == deleted_event.payload
