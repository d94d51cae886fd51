from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.models import Notification
from notifications.services import DueReminder, notifications_create_for_reminders
from tasks import services

pytestmark = pytest.mark.django_db


def notify(user, n: int = 1):
    task = services.task_create(user=user, data={"title": "Pay rent"})
    base = timezone.now()
    return notifications_create_for_reminders(
        [
            DueReminder(
                user_id=user.pk,
                task_id=task.pk,
                message=f"Pay rent {i}",
                reminder_at=base - timedelta(minutes=i),
                due_date=None,
            )
            for i in range(n)
        ]
    )


def test_list_newest_first_with_counts(api, user):
    notify(user, 3)
    body = api.get("/api/notifications").json()
    assert [n["message"] for n in body["items"]] == ["Pay rent 2", "Pay rent 1", "Pay rent 0"]
    assert (body["count"], body["unread"]) == (3, 3)


def test_pagination(api, user):
    notify(user, 5)
    body = api.get("/api/notifications?limit=2&offset=4").json()
    assert (len(body["items"]), body["count"], body["limit"], body["offset"]) == (1, 5, 2, 4)


def test_mark_one_read_then_unread_filter(api, user):
    first, second = notify(user, 2)
    response = api.post(f"/api/notifications/{first.pk}/read")
    assert response.status_code == 200 and response.json()["read_at"] is not None
    unread = api.get("/api/notifications?unread=true").json()
    assert [n["id"] for n in unread["items"]] == [second.pk]
    assert api.get("/api/notifications/unread-count").json() == {"unread": 1}


def test_mark_read_is_idempotent(api, user):
    (note,) = notify(user)
    first = api.post(f"/api/notifications/{note.pk}/read").json()["read_at"]
    assert api.post(f"/api/notifications/{note.pk}/read").json()["read_at"] == first


def test_mark_all_read(api, user, other_user):
    notify(user, 3)
    notify(other_user, 2)
    assert api.post("/api/notifications/read-all").json() == {"marked": 3}
    assert api.get("/api/notifications/unread-count").json() == {"unread": 0}
    assert Notification.objects.filter(user=other_user, read_at=None).count() == 2


def test_other_users_notifications_are_invisible(api, other_user):
    (note,) = notify(other_user)
    assert api.get("/api/notifications").json()["count"] == 0
    assert api.post(f"/api/notifications/{note.pk}/read").status_code == 404


def test_same_reminder_twice_is_one_notification(user):
    task = services.task_create(user=user, data={"title": "t"})
    at = timezone.now()
    reminder = DueReminder(
        user_id=user.pk, task_id=task.pk, message="t", reminder_at=at, due_date=None
    )
    (first,) = notifications_create_for_reminders([reminder])
    assert notifications_create_for_reminders([reminder]) == []
    assert list(Notification.objects.values_list("pk", flat=True)) == [first.pk]


def test_requires_a_token(anon_api):
    assert anon_api.get("/api/notifications").status_code == 401


def test_snooze_marks_read_and_moves_the_reminder(api, user):
    (notification,) = notify(user)
    response = api.post(f"/api/notifications/{notification.pk}/snooze", {"snooze": "1h"})
    assert response.status_code == 200, response.content
    assert response.json()["read_at"] is not None
    reminder_at = notification.task.__class__.objects.get(pk=notification.task_id).reminder_at
    assert timedelta(minutes=59) < reminder_at - timezone.now() <= timedelta(hours=1)


def test_snooze_names_a_bad_choice(api, user):
    (notification,) = notify(user)
    response = api.post(f"/api/notifications/{notification.pk}/snooze", {"snooze": "never"})
    assert response.status_code == 422
    assert "snooze" in [error["loc"][-1] for error in response.json()["detail"]]
