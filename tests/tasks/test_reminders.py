"""Reminders fire once and on time, in embedded mode and through Dapr jobs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.utils import timezone

from notifications.models import Notification
from tasks import reminders, services
from tasks.models import ReminderFiring
from todo_project.eventbus.envelope import REMINDERS, TASK_UPDATES
from todo_project.eventbus.models import OutboxMessage
from todo_project.eventbus.publishers import LocalBus
from todo_project.eventbus.relay import drain

BERLIN = ZoneInfo("Europe/Berlin")
pytestmark = pytest.mark.django_db(transaction=True)


def with_reminder(user, reminder_at, **data):
    return services.task_create(
        user=user, data={"title": "Call mum", "reminder_at": reminder_at, **data}
    )


class TestFireReminder:
    def test_due_reminder_fires_once_and_becomes_one_notification(self, user):
        at = timezone.now() - timedelta(seconds=1)
        task = with_reminder(user, at, due_date=at + timedelta(hours=1))
        assert reminders.fire_due_reminders() == 1
        assert reminders.fire_due_reminders() == 0
        event = OutboxMessage.objects.get(topic=REMINDERS)
        assert event.event_type == "ReminderDue"
        payload = event.envelope["payload"]
        assert set(payload) >= {"user_id", "task_id", "message", "due_date", "reminder_at"}
        drain(LocalBus())
        notification = Notification.objects.get()
        assert (notification.task_id, notification.user_id) == (task.pk, user.pk)
        assert notification.message == "Call mum"
        assert OutboxMessage.objects.filter(
            topic=TASK_UPDATES, event_type="NotificationCreated"
        ).exists()

    def test_future_reminder_does_not_fire_early(self, user):
        with_reminder(user, timezone.now() + timedelta(minutes=5))
        assert reminders.fire_due_reminders() == 0
        later = timezone.now() + timedelta(minutes=5, seconds=1)
        assert reminders.fire_due_reminders(now=later) == 1

    def test_reminder_missed_while_down_fires_once_after_restart(self, user):
        with_reminder(user, timezone.now() - timedelta(hours=3))
        assert reminders.next_reminder_at() is not None
        assert reminders.fire_due_reminders() == 1
        assert reminders.next_reminder_at() is None

    def test_changed_reminder_fires_again_for_the_new_time(self, user):
        task = with_reminder(user, timezone.now() - timedelta(minutes=2))
        reminders.fire_due_reminders()
        services.task_update(task=task, data={"reminder_at": timezone.now() - timedelta(minutes=1)})
        assert reminders.fire_due_reminders() == 1
        assert ReminderFiring.objects.count() == 2

    @pytest.mark.parametrize("change", ["complete", "delete", "clear", "move"])
    def test_stale_trigger_does_nothing(self, user, change):
        at = timezone.now() - timedelta(seconds=5)
        task = with_reminder(user, at)
        if change == "complete":
            services.task_complete(task=task)
        elif change == "delete":
            services.task_delete(task=task)
        elif change == "clear":
            services.task_update(task=task, data={"reminder_at": None})
        else:
            services.task_update(task=task, data={"reminder_at": at + timedelta(hours=1)})
        result = reminders.fire_reminder(task_id=task.pk, reminder_at=at)
        assert result.fired is False
        assert not OutboxMessage.objects.filter(topic=REMINDERS).exists()

    def test_duplicate_reminder_due_makes_one_notification_and_one_mail(self, user):
        with_reminder(user, timezone.now() - timedelta(seconds=1))
        reminders.fire_due_reminders()
        drain(LocalBus())
        row = OutboxMessage.objects.get(topic=REMINDERS)
        LocalBus().publish(row)  # redelivery
        assert Notification.objects.count() == 1
        assert len(mail.outbox) == 1
        assert mail.outbox[0].to == ["alice@example.com"]

    def test_user_without_email_gets_no_mail(self, make_user):
        user = make_user("noemail")
        with_reminder(user, timezone.now() - timedelta(seconds=1))
        reminders.fire_due_reminders()
        drain(LocalBus())
        assert Notification.objects.count() == 1
        assert mail.outbox == []


class TestEmbeddedScheduler:
    def test_scheduler_thread_fires_a_reminder_when_it_comes_due(self, user):
        scheduler = reminders.ReminderScheduler(max_sleep=0.2)
        scheduler.start()
        try:
            with_reminder(user, timezone.now() + timedelta(milliseconds=300))
            deadline = timezone.now() + timedelta(seconds=5)
            while not ReminderFiring.objects.exists() and timezone.now() < deadline:
                scheduler.stopping.wait(0.05)
            firing = ReminderFiring.objects.get()
            assert firing.fired_at >= firing.reminder_at
        finally:
            scheduler.stop()
            scheduler.join(5)


class TestDaprJobs:
    @pytest.fixture
    def dapr_mode(self, settings, fake_dapr):
        settings.EVENT_BACKEND = "dapr"
        from todo_project.eventbus import publishers

        publishers.dapr_gateway.cache_clear()
        yield fake_dapr
        publishers.dapr_gateway.cache_clear()

    def deliver_task_events(self):
        from todo_project.eventbus.envelope import TASK_EVENTS, parse_envelope
        from todo_project.eventbus.registry import handlers_for

        handler = next(h for h in handlers_for(TASK_EVENTS) if h.name == "tasks.reminder_schedule")
        for row in OutboxMessage.objects.filter(topic=TASK_EVENTS, published_at=None):
            handler.func(parse_envelope(row.envelope))
            row.published_at = timezone.now()
            row.save()

    def test_set_replace_and_delete_calls(self, user, dapr_mode):
        due = datetime(2026, 12, 4, 9, tzinfo=BERLIN)
        task = with_reminder(
            user, None, due_date=due, reminder_offset_minutes=30, timezone="Europe/Berlin"
        )
        self.deliver_task_events()
        job = dapr_mode.scheduled_jobs[-1]
        assert job.name == f"reminder-task-{task.pk}"
        assert job.due_time == "2026-12-04T08:30:00+01:00"
        assert job.overwrite is True
        assert job.data == {
            "task_id": task.pk,
            "reminder_at": "2026-12-04T08:30:00+01:00",
            "version": 1,
        }
        services.task_update(task=task, data={"due_date": due + timedelta(days=1)})
        self.deliver_task_events()
        assert dapr_mode.scheduled_jobs[-1].due_time == "2026-12-05T08:30:00+01:00"
        assert dapr_mode.scheduled_jobs[-1].data["version"] == 2
        services.task_update(task=task, data={"title": "renamed"})
        self.deliver_task_events()
        assert len(dapr_mode.scheduled_jobs) == 2  # a title change leaves the job alone
        services.task_complete(task=task)
        self.deliver_task_events()
        assert [d.name for d in dapr_mode.deleted_jobs] == [f"reminder-task-{task.pk}"]

    def test_clearing_or_deleting_deletes_the_job(self, user, dapr_mode):
        task = with_reminder(user, datetime(2026, 12, 4, 9, tzinfo=UTC))
        other = with_reminder(user, datetime(2026, 12, 4, 9, tzinfo=UTC))
        services.task_update(task=task, data={"reminder_at": None})
        services.task_delete(task=other)
        self.deliver_task_events()
        assert {d.name for d in dapr_mode.deleted_jobs} == {
            f"reminder-task-{task.pk}",
            f"reminder-task-{other.pk}",
        }

    def test_sidecar_failure_delays_scheduling_but_loses_nothing(self, user, dapr_mode, settings):
        settings.HANDLER_MAX_ATTEMPTS = 10
        task = with_reminder(user, datetime(2026, 12, 4, 9, tzinfo=UTC))
        dapr_mode.fail("schedule_job")
        bus = LocalBus()
        drain(bus)
        assert dapr_mode.scheduled_jobs == []
        pending = OutboxMessage.objects.filter(published_at=None, topic="task-events").get()
        assert "UNAVAILABLE" in pending.last_error
        dapr_mode.heal()
        from todo_project.eventbus.relay import relay_once

        relay_once(bus, now=timezone.now() + timedelta(minutes=5))
        assert [j.name for j in dapr_mode.scheduled_jobs] == [f"reminder-task-{task.pk}"]


class TestJobTrigger:
    def post(self, client, name, body, **headers):
        return client.post(
            f"/job/{name}", data=json.dumps(body), content_type="application/json", headers=headers
        )

    def test_trigger_fires_the_reminder(self, client, user):
        at = timezone.now() - timedelta(seconds=1)
        task = with_reminder(user, at)
        body = {"task_id": task.pk, "reminder_at": at.isoformat(), "version": 1}
        response = self.post(client, f"reminder-task-{task.pk}", body)
        assert response.status_code == 200
        assert response.json()["result"] == "fired"
        assert self.post(client, f"reminder-task-{task.pk}", body).json()["result"] == (
            "already fired"
        )
        drain(LocalBus())
        assert Notification.objects.count() == 1

    def test_wrapped_job_data_is_understood(self, client, user):
        at = timezone.now() - timedelta(seconds=1)
        task = with_reminder(user, at)
        body = {"value": {"task_id": task.pk, "reminder_at": at.isoformat()}}
        assert self.post(client, f"reminder-task-{task.pk}", body).json()["result"] == "fired"

    def test_trigger_for_a_changed_task_does_nothing(self, client, user):
        at = timezone.now() - timedelta(seconds=1)
        task = with_reminder(user, at)
        services.task_update(task=task, data={"reminder_at": at + timedelta(days=1)})
        body = {"task_id": task.pk, "reminder_at": at.isoformat()}
        response = self.post(client, f"reminder-task-{task.pk}", body)
        assert (response.status_code, response.json()["result"]) == (200, "stale reminder")

    def test_unknown_job_is_404_so_dapr_does_not_retry(self, client, db):
        assert self.post(client, "something-else", {}).status_code == 404

    def test_app_token_is_required_when_configured(self, client, user, settings):
        settings.APP_API_TOKEN = "s3cret"
        at = timezone.now() - timedelta(seconds=1)
        task = with_reminder(user, at)
        body = {"task_id": task.pk, "reminder_at": at.isoformat()}
        assert self.post(client, f"reminder-task-{task.pk}", body).status_code == 401
        response = self.post(
            client, f"reminder-task-{task.pk}", body, **{"dapr-api-token": "s3cret"}
        )
        assert response.status_code == 200

    def test_get_is_not_allowed(self, client, db):
        assert client.get("/job/reminder-task-1").status_code == 405
