"""Reminders fire once and on time, in embedded mode and through Dapr jobs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.utils import timezone

from notifications.email import send_due_emails
from notifications.models import Notification
from tasks import reminders, services
from tasks.models import ReminderFiring
from todo_project.eventbus import publishers
from todo_project.eventbus.dapr_gateway import DaprUnavailable, format_due_time
from todo_project.eventbus.envelope import REMINDERS, TASK_EVENTS, TASK_UPDATES
from todo_project.eventbus.models import OutboxMessage
from todo_project.eventbus.publishers import LocalBus
from todo_project.eventbus.relay import drain, relay_once

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

    def test_duplicate_reminder_due_makes_one_notification_and_one_mail(self, make_user):
        user = make_user("mailme", email="mailme@example.com", email_reminders=True)
        with_reminder(user, timezone.now() - timedelta(seconds=1))
        reminders.fire_due_reminders()
        drain(LocalBus())
        row = OutboxMessage.objects.get(topic=REMINDERS)
        LocalBus().publish([row])  # redelivery
        drain(LocalBus())
        send_due_emails()
        assert Notification.objects.count() == 1
        assert len(mail.outbox) == 1
        assert mail.outbox[0].to == ["mailme@example.com"]

    @pytest.mark.parametrize(
        "fields",
        [{"email_reminders": True}, {"email": "off@example.com"}],
        ids=["no-address", "opted-out"],
    )
    def test_no_mail_without_an_address_or_the_opt_in(self, make_user, fields):
        user = make_user(**fields)
        with_reminder(user, timezone.now() - timedelta(seconds=1))
        reminders.fire_due_reminders()
        drain(LocalBus())
        drain(LocalBus())  # NotificationCreated, whose handler would write the delivery
        send_due_emails()
        assert Notification.objects.count() == 1
        assert mail.outbox == []


class TestSnoozedReminder:
    """A snoozed reminder fires once at its new time and never at the old one."""

    def test_a_fired_reminder_snoozed_fires_again_once_at_the_new_time(self, user):
        at = timezone.now() - timedelta(seconds=1)
        task = with_reminder(user, at)
        assert reminders.fire_due_reminders() == 1
        until = at + timedelta(hours=1)
        services.task_snooze_reminder(task=task, until=until)
        assert reminders.next_reminder_at() == until
        assert reminders.fire_due_reminders(now=until - timedelta(seconds=1)) == 0
        assert reminders.fire_due_reminders(now=until) == 1
        assert reminders.fire_due_reminders(now=until + timedelta(hours=1)) == 0
        fired = sorted(ReminderFiring.objects.values_list("reminder_at", flat=True))
        assert fired == [at, until]

    def test_snoozed_before_it_fired_it_does_not_fire_at_the_old_time(self, user):
        at = timezone.now() + timedelta(minutes=5)
        task = with_reminder(user, at)
        until = at + timedelta(minutes=10)
        services.task_snooze_reminder(task=task, until=until)
        assert reminders.fire_due_reminders(now=at + timedelta(minutes=1)) == 0
        assert reminders.fire_due_reminders(now=until) == 1
        drain(LocalBus())
        assert list(Notification.objects.values_list("reminder_at", flat=True)) == [until]


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


class JobsGateway:
    """The gateway's two job calls, recorded; ``down = True`` makes them raise
    DaprUnavailable like the real gateway with its sidecar gone."""

    def __init__(self) -> None:
        self.scheduled: list[tuple[str, datetime, dict]] = []
        self.deleted: list[str] = []
        self.down = False

    def schedule_job(self, *, name: str, due_time: datetime, data: dict) -> None:
        if self.down:
            raise DaprUnavailable("injected: sidecar down")
        self.scheduled.append((name, due_time, data))

    def delete_job(self, name: str) -> None:
        if self.down:
            raise DaprUnavailable("injected: sidecar down")
        self.deleted.append(name)


class TestDaprJobs:
    """Which job the task-events handler asks for; that the scheduler then fires it is
    proven on the real runtime (tests/distributed/test_reminders.py)."""

    @pytest.fixture
    def jobs(self, settings, monkeypatch) -> JobsGateway:
        settings.EVENT_BACKEND = "dapr"
        gateway = JobsGateway()
        monkeypatch.setattr(publishers, "dapr_gateway", lambda: gateway)
        return gateway

    def deliver_task_events(self):
        from todo_project.eventbus.envelope import parse_envelope
        from todo_project.eventbus.registry import handlers_for

        handler = next(h for h in handlers_for(TASK_EVENTS) if h.name == "tasks.reminder_schedule")
        for row in OutboxMessage.objects.filter(topic=TASK_EVENTS, published_at=None):
            handler.func([parse_envelope(row.envelope)])
            row.published_at = timezone.now()
            row.save()

    def test_the_job_follows_the_reminder_and_only_reminder_changes_touch_it(self, user, jobs):
        due = datetime(2026, 12, 4, 9, tzinfo=BERLIN)
        task = with_reminder(
            user, None, due_date=due, reminder_offset_minutes=30, timezone="Europe/Berlin"
        )
        self.deliver_task_events()
        ((name, due_time, data),) = jobs.scheduled
        assert name == f"reminder-task-{task.pk}"
        # Shown in the task's zone for operators reading the job.
        assert format_due_time(due_time) == "2026-12-04T08:30:00+01:00"
        assert data == {
            "task_id": task.pk,
            "reminder_at": "2026-12-04T08:30:00+01:00",
            "version": 1,
        }

        services.task_update(task=task, data={"due_date": due + timedelta(days=1)})
        self.deliver_task_events()
        assert format_due_time(jobs.scheduled[-1][1]) == "2026-12-05T08:30:00+01:00"
        assert jobs.scheduled[-1][2]["version"] == 2

        services.task_update(task=task, data={"title": "renamed"})
        self.deliver_task_events()
        assert len(jobs.scheduled) == 2  # a title change leaves the job alone

        services.task_complete(task=task)
        self.deliver_task_events()
        assert jobs.deleted == [f"reminder-task-{task.pk}"]

    def test_a_snooze_replaces_the_job_and_the_old_trigger_is_stale(self, user, jobs):
        at = timezone.now() - timedelta(seconds=1)
        task = with_reminder(user, at)
        self.deliver_task_events()
        (_, _, old_data) = jobs.scheduled[-1]
        until = (timezone.now() + timedelta(minutes=10)).replace(microsecond=0)
        services.task_snooze_reminder(task=task, until=until)
        self.deliver_task_events()
        (name, due_time, data) = jobs.scheduled[-1]
        assert (name, due_time) == (f"reminder-task-{task.pk}", until)
        assert datetime.fromisoformat(data["reminder_at"]) == until
        # The old time's trigger (a redelivery, or one already in flight) does nothing.
        assert reminders.handle_job_trigger(name, json.dumps(old_data).encode()) == (
            200,
            "stale reminder",
        )
        fire_at = until + timedelta(seconds=1)
        body = json.dumps(data).encode()
        assert reminders.handle_job_trigger(name, body, now=fire_at) == (200, "fired")
        assert reminders.handle_job_trigger(name, body, now=fire_at) == (200, "already fired")

    def test_clearing_or_deleting_deletes_the_job(self, user, jobs):
        task = with_reminder(user, datetime(2026, 12, 4, 9, tzinfo=UTC))
        other = with_reminder(user, datetime(2026, 12, 4, 9, tzinfo=UTC))
        services.task_update(task=task, data={"reminder_at": None})
        services.task_delete(task=other)
        self.deliver_task_events()
        assert set(jobs.deleted) == {f"reminder-task-{task.pk}", f"reminder-task-{other.pk}"}

    def test_the_job_carries_the_reminder_time_to_the_microsecond_so_its_trigger_fires(
        self, user, jobs
    ):
        at = (timezone.now() - timedelta(seconds=1)).replace(microsecond=123456)
        task = with_reminder(user, at)
        self.deliver_task_events()
        ((name, due_time, data),) = jobs.scheduled
        assert due_time == at
        assert datetime.fromisoformat(data["reminder_at"]) == at
        assert reminders.handle_job_trigger(name, json.dumps(data).encode()) == (200, "fired")
        assert ReminderFiring.objects.get(task_id=task.pk).reminder_at == at

    def test_a_sidecar_outage_delays_scheduling_but_loses_nothing(self, user, jobs, settings):
        settings.HANDLER_MAX_ATTEMPTS = 10
        task = with_reminder(user, datetime(2026, 12, 4, 9, tzinfo=UTC))
        jobs.down = True
        bus = LocalBus()
        drain(bus)
        assert jobs.scheduled == []
        pending = OutboxMessage.objects.get(published_at=None, topic=TASK_EVENTS)
        assert "tasks.reminder_schedule: injected: sidecar down" in pending.last_error

        jobs.down = False
        relay_once(bus, now=timezone.now() + timedelta(minutes=5))
        assert [name for name, _, _ in jobs.scheduled] == [f"reminder-task-{task.pk}"]
        assert not OutboxMessage.objects.filter(published_at=None).exists()


APP_TOKEN = "s3cret"


def test_the_public_urlconf_has_no_job_route(client, db, settings):
    """Job triggers are served only on the worker's app channel, never by the web app."""
    settings.APP_API_TOKEN = APP_TOKEN
    token = {"dapr-api-token": APP_TOKEN}
    assert client.post("/job/reminder-task-1", headers=token).status_code == 404
    assert client.get("/job/reminder-task-1").status_code == 404


@pytest.mark.urls("todo_project.eventbus.app_channel_urls")
class TestJobTrigger:
    """`POST /job/<name>` on the worker's app channel (its own URLconf)."""

    @pytest.fixture(autouse=True)
    def app_token(self, settings):
        settings.APP_API_TOKEN = APP_TOKEN

    def post(self, client, name, body, token=APP_TOKEN):
        headers = {"dapr-api-token": token} if token is not None else {}
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

    @pytest.mark.parametrize("token", [None, "wrong", ""])
    def test_a_trigger_without_the_app_token_is_refused(self, client, user, token):
        at = timezone.now() - timedelta(seconds=1)
        task = with_reminder(user, at)
        body = {"task_id": task.pk, "reminder_at": at.isoformat()}
        assert self.post(client, f"reminder-task-{task.pk}", body, token=token).status_code == 401
        assert not ReminderFiring.objects.exists()

    def test_without_a_configured_app_token_every_trigger_is_refused(self, client, user, settings):
        settings.APP_API_TOKEN = ""
        at = timezone.now() - timedelta(seconds=1)
        task = with_reminder(user, at)
        body = {"task_id": task.pk, "reminder_at": at.isoformat()}
        for token in (None, "", APP_TOKEN):
            response = self.post(client, f"reminder-task-{task.pk}", body, token=token)
            assert response.status_code == 401
        assert not ReminderFiring.objects.exists()

    def test_get_is_not_allowed(self, client, db):
        assert client.get("/job/reminder-task-1").status_code == 405
