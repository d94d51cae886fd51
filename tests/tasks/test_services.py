"""tasks.services: all-day tasks, reminders before them, and snoozing a reminder."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from tasks import days, services
from tasks.events import TASK_UPDATED
from tasks.models import Task
from todo_project.eventbus.envelope import TASK_EVENTS
from todo_project.eventbus.models import OutboxMessage

BERLIN = ZoneInfo("Europe/Berlin")
pytestmark = pytest.mark.django_db


def make(user, title="Task", **data):
    return services.task_create(user=user, data={"title": title, **data})


def last_event(task_id):
    row = OutboxMessage.objects.filter(topic=TASK_EVENTS).order_by("-id").first()
    assert row is not None and row.envelope["payload"]["task_id"] == task_id
    return row.envelope


class TestAllDay:
    def test_a_date_alone_is_an_all_day_task_due_at_the_end_of_its_day(self, user):
        task = make(user, due_date=date(2026, 12, 1))
        assert task.all_day is True
        assert task.due_date == datetime(2026, 12, 1, 22, 59, 59, 999999, tzinfo=UTC)
        assert task.due_day == date(2026, 12, 1)

    def test_all_day_with_a_date_time_keeps_its_date_in_the_tasks_zone(self, user):
        task = make(user, due_date=datetime(2026, 12, 1, 23, 30, tzinfo=UTC), all_day=True)
        assert task.due_day == date(2026, 12, 2)  # already 2 December in Berlin

    def test_a_date_time_is_a_timed_task(self, user):
        task = make(user, due_date=date(2026, 12, 1))
        services.task_update(task=task, data={"due_date": datetime(2026, 12, 3, 9, tzinfo=UTC)})
        task.refresh_from_db()
        assert (task.all_day, task.due_date) == (False, datetime(2026, 12, 3, 9, tzinfo=UTC))

    @pytest.mark.parametrize(
        ("data", "field"),
        [
            ({"all_day": True}, "all_day"),
            ({"all_day": True, "due_date": None}, "all_day"),
            ({"all_day": False, "due_date": date(2026, 12, 1)}, "due_date"),
            ({"all_day": "yes", "due_date": date(2026, 12, 1)}, "all_day"),
        ],
    )
    def test_bad_combinations_name_the_field_and_write_nothing(self, user, data, field):
        with pytest.raises(ValidationError) as raised:
            make(user, **data)
        assert field in raised.value.message_dict
        assert not Task.objects.exists()

    def test_the_database_refuses_an_all_day_task_without_a_due_date(self, user):
        task = make(user, due_date=date(2026, 12, 1))
        with pytest.raises(IntegrityError), transaction.atomic():
            Task.objects.filter(pk=task.pk).update(due_date=None)

    def test_turning_all_day_on_keeps_the_date_and_off_needs_a_time(self, user):
        task = make(user, due_date=datetime(2026, 12, 1, 15, tzinfo=BERLIN))
        task = services.task_update(task=task, data={"all_day": True})
        assert (task.all_day, task.due_day) == (True, date(2026, 12, 1))
        with pytest.raises(ValidationError) as raised:
            services.task_update(task=task, data={"all_day": False})
        assert "all_day" in raised.value.message_dict

    def test_clearing_the_due_date_ends_all_day(self, user):
        task = make(user, due_date=date(2026, 12, 1))
        task = services.task_update(task=task, data={"due_date": None})
        assert (task.all_day, task.due_date) == (False, None)

    def test_a_new_time_zone_keeps_the_date(self, user):
        task = make(user, due_date=date(2026, 12, 1))
        task = services.task_update(task=task, data={"timezone": "America/New_York"})
        assert task.due_day == date(2026, 12, 1)
        assert task.due_date == days.day_end(date(2026, 12, 1), "America/New_York")
        assert "due_date" in last_event(task.pk)["payload"]["changed_fields"]

    def test_it_is_overdue_only_after_its_day_ends_in_its_zone(self, user):
        task = make(user, due_date=date(2026, 12, 1))
        from tasks.models import is_overdue

        def overdue(now):
            return is_overdue(completed=False, due_date=task.due_date, now=now)

        assert not overdue(datetime(2026, 12, 1, 22, 59, tzinfo=UTC))  # 23:59 in Berlin
        assert overdue(datetime(2026, 12, 1, 23, 0, tzinfo=UTC))  # 00:00 on the 2nd

    def test_the_event_snapshot_says_all_day(self, user):
        task = make(user, due_date=date(2026, 12, 1))
        assert last_event(task.pk)["payload"]["all_day"] is True


class TestAllDayRecurrence:
    def complete(self, task, now):
        task = services.task_complete(task=task, now=now)
        payload = last_event(task.pk)["payload"]
        return services.task_create_next_instance(completed=payload, now=now)

    def test_an_all_day_series_stays_all_day_on_its_dates_across_the_october_change(self, user):
        task = make(user, due_date=date(2026, 10, 24), recurrence="FREQ=DAILY")
        now = datetime(2026, 10, 24, 10, tzinfo=UTC)
        dates = []
        for _ in range(3):
            task = self.complete(task, now)
            assert task.all_day is True
            assert task.due_date == days.day_end(task.due_day, BERLIN)
            dates.append(task.due_day)
        assert dates == [date(2026, 10, 25), date(2026, 10, 26), date(2026, 10, 27)]

    def test_a_weekly_all_day_task_lands_on_its_weekday(self, user):
        monday = date(2026, 10, 19)
        task = make(user, due_date=monday, recurrence="FREQ=WEEKLY;BYDAY=MO")
        following = self.complete(task, datetime(2026, 10, 19, 12, tzinfo=UTC))
        assert following.due_day == date(2026, 10, 26)  # after the change to CET


class TestMorningHour:
    def test_a_reminder_before_an_all_day_task_counts_from_the_morning_hour(self, user):
        user.morning_hour = 8
        user.save()
        task = make(user, due_date=date(2026, 12, 1), reminder_offset_minutes=30)
        assert task.reminder_at == datetime(2026, 12, 1, 7, 30, tzinfo=BERLIN)

    def test_the_morning_hour_is_on_the_wall_clock_across_the_october_change(self, user):
        task = make(user, due_date=date(2026, 10, 25), reminder_offset_minutes=0)
        assert task.reminder_at == datetime(2026, 10, 25, 9, tzinfo=BERLIN)
        assert task.reminder_at.astimezone(UTC).hour == 8  # CET, not CEST

    def test_the_next_instance_reminds_from_the_morning_of_its_day(self, user):
        task = make(
            user, due_date=date(2026, 12, 1), recurrence="FREQ=DAILY", reminder_offset_minutes=60
        )
        now = datetime(2026, 12, 1, 12, tzinfo=UTC)
        services.task_complete(task=task, now=now)
        following = services.task_create_next_instance(
            completed=last_event(task.pk)["payload"], now=now
        )
        assert following.reminder_at == datetime(2026, 12, 2, 8, tzinfo=BERLIN)

    def test_a_timed_task_still_counts_from_its_due_time(self, user):
        task = make(
            user, due_date=datetime(2026, 12, 1, 15, tzinfo=BERLIN), reminder_offset_minutes=15
        )
        assert task.reminder_at == datetime(2026, 12, 1, 14, 45, tzinfo=BERLIN)


class TestSnooze:
    NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)

    @pytest.mark.parametrize(
        ("choice", "expected"),
        [
            ("10m", datetime(2026, 12, 1, 10, 10, tzinfo=UTC)),
            ("1h", datetime(2026, 12, 1, 11, 0, tzinfo=UTC)),
            ("tomorrow", datetime(2026, 12, 2, 9, 0, tzinfo=BERLIN)),
        ],
    )
    def test_snooze_choices(self, user, choice, expected):
        assert services.snooze_until(choice, user=user, now=self.NOW) == expected

    def test_tomorrow_morning_is_the_users_hour_in_the_users_zone(self, user):
        user.morning_hour, user.timezone = 7, "Asia/Tokyo"
        # 10:00 UTC is 19:00 in Tokyo: tomorrow there is 2 December.
        expected = datetime(2026, 12, 2, 7, tzinfo=ZoneInfo("Asia/Tokyo"))
        assert services.snooze_until("tomorrow", user=user, now=self.NOW) == expected

    def test_an_unknown_choice_is_an_error(self, user):
        with pytest.raises(ValidationError) as raised:
            services.snooze_until("forever", user=user)
        assert "snooze" in raised.value.message_dict

    def test_snooze_moves_the_reminder_and_emits_an_update(self, user):
        task = make(user, reminder_at=self.NOW)
        until = self.NOW + timedelta(hours=1)
        task = services.task_snooze_reminder(task=task, until=until, now=self.NOW)
        assert (task.reminder_at, task.version) == (until, 2)
        envelope = last_event(task.pk)
        assert envelope["event_type"] == TASK_UPDATED
        assert envelope["payload"]["changed_fields"] == ["reminder_at"]

    def test_a_snoozed_reminder_before_the_due_date_keeps_its_offset_until_the_due_date_moves(
        self, user
    ):
        due = datetime(2026, 12, 1, 12, tzinfo=UTC)
        task = make(user, due_date=due, reminder_offset_minutes=15)
        until = self.NOW + timedelta(minutes=10)
        task = services.task_snooze_reminder(task=task, until=until, now=self.NOW)
        task = services.task_update(task=task, data={"title": "renamed"})
        assert (task.reminder_at, task.reminder_offset_minutes) == (until, 15)
        task = services.task_update(task=task, data={"due_date": due + timedelta(days=1)})
        assert task.reminder_at == due + timedelta(days=1, minutes=-15)

    def test_snoozing_into_the_past_or_a_completed_task_is_refused(self, user):
        task = make(user, reminder_at=self.NOW)
        with pytest.raises(ValidationError):
            services.task_snooze_reminder(task=task, until=self.NOW, now=self.NOW)
        services.task_complete(task=task)
        with pytest.raises(ValidationError) as raised:
            services.task_snooze_reminder(
                task=task, until=self.NOW + timedelta(hours=1), now=self.NOW
            )
        assert "reminder_at" in raised.value.message_dict


class TestRemindersFollowTheMorning:
    def test_a_new_morning_hour_moves_open_all_day_reminders_only(self, user):
        all_day = make(user, due_date=date(2026, 12, 1), reminder_offset_minutes=0)
        timed = make(
            user, due_date=datetime(2026, 12, 1, 15, tzinfo=BERLIN), reminder_offset_minutes=0
        )
        user.morning_hour = 7
        user.save()
        assert services.task_reminders_follow_morning(user=user) == 1
        all_day.refresh_from_db()
        timed.refresh_from_db()
        assert all_day.reminder_at == datetime(2026, 12, 1, 7, tzinfo=BERLIN)
        assert all_day.version == 2
        assert last_event(all_day.pk)["payload"]["changed_fields"] == ["reminder_at"]
        assert timed.reminder_at == datetime(2026, 12, 1, 15, tzinfo=BERLIN)
        assert services.task_reminders_follow_morning(user=user) == 0  # nothing left to move
