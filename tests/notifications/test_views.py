from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from notifications.models import Notification
from notifications.services import DueReminder, notifications_create_for_reminders
from tasks import services

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


@pytest.fixture
def client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def remind(user, message="Call mom", minutes=0):
    task = services.task_create(user=user, data={"title": message})
    (notification,) = notifications_create_for_reminders(
        [
            DueReminder(
                user_id=user.pk,
                task_id=task.pk,
                message=message,
                reminder_at=timezone.now() - timedelta(minutes=minutes),
                due_date=None,
            )
        ]
    )
    return notification


class TestInbox:
    url = reverse("notifications:inbox")

    def test_requires_login(self, db):
        assert Client().get(self.url).status_code == 302

    def test_lists_own_notifications_with_the_unread_badge(self, client, user, other_user):
        remind(user, "Mine <b>")
        remind(other_user, "Bob's")
        body = client.get(self.url).content.decode()
        assert "Mine &lt;b&gt;" in body
        assert "Bob" not in body
        assert 'id="unread-badge" class="badge">1<' in body
        assert "is-unread" in body

    @pytest.mark.parametrize("page", ["99999999999999999999", "0", "-3", "two", ""])
    def test_any_page_parameter_shows_a_real_page(self, client, user, page):
        remind(user, "only one")
        response = client.get(self.url, {"page": page})
        assert response.status_code == 200
        assert "only one" in response.content.decode()

    def test_badge_is_hidden_without_unread(self, client):
        body = client.get(self.url).content.decode()
        assert 'id="unread-badge" class="badge" hidden>' in body
        assert "All caught up" in body

    def test_badge_shows_on_every_page(self, client, user):
        remind(user)
        remind(user, "Second", minutes=1)
        body = client.get(reverse("tasks:list")).content.decode()
        assert 'id="unread-badge" class="badge">2<' in body


class TestMarkRead:
    def test_without_javascript(self, client, user):
        notification = remind(user)
        response = client.post(reverse("notifications:mark_read", args=[notification.pk]))
        assert response.status_code == 302
        notification.refresh_from_db()
        assert notification.read_at is not None

    def test_htmx_gets_the_item_and_the_badge(self, client, user):
        notification = remind(user)
        remind(user, "Other", minutes=1)
        response = client.post(
            reverse("notifications:mark_read", args=[notification.pk]), headers=HTMX
        )
        body = response.content.decode()
        assert f'id="notification-{notification.pk}"' in body
        assert "is-unread" not in body.split('id="unread-badge"')[0]
        assert 'id="unread-badge" class="badge" hx-swap-oob="true">1<' in body

    def test_another_users_notification_is_a_404(self, client, other_user):
        notification = remind(other_user)
        response = client.post(reverse("notifications:mark_read", args=[notification.pk]))
        assert response.status_code == 404
        notification.refresh_from_db()
        assert notification.read_at is None

    def test_mark_all_read(self, client, user, other_user):
        remind(user)
        remind(user, "Two", minutes=1)
        theirs = remind(other_user)
        response = client.post(reverse("notifications:mark_all_read"), headers=HTMX)
        body = response.content.decode()
        assert 'id="inbox-list"' in body
        assert 'hidden hx-swap-oob="true">0<' in body
        assert not Notification.objects.filter(user=user, read_at=None).exists()
        theirs.refresh_from_db()
        assert theirs.read_at is None

    def test_mark_all_read_without_javascript(self, client, user):
        remind(user)
        response = client.post(reverse("notifications:mark_all_read"), follow=True)
        assert b"Marked 1 notification read." in response.content

    def test_csrf_is_enforced(self, user):
        notification = remind(user)
        client = Client(enforce_csrf_checks=True)
        client.force_login(user)
        url = reverse("notifications:mark_read", args=[notification.pk])
        assert client.post(url).status_code == 403


class TestSnooze:
    def url(self, notification):
        return reverse("notifications:snooze", args=[notification.pk])

    def test_the_inbox_offers_snooze_and_posts_without_javascript(self, client, user):
        notification = remind(user)
        body = client.get(reverse("notifications:inbox")).content.decode()
        assert f'action="{self.url(notification)}"' in body
        assert 'name="snooze" value="tomorrow"' in body
        response = client.post(
            self.url(notification),
            {"snooze": "10m"},
            headers={"Referer": "http://testserver/notifications/"},
        )
        assert response.status_code == 302
        assert response["Location"] == "http://testserver/notifications/"
        notification.refresh_from_db()
        assert notification.read_at is not None
        task = notification.task
        assert timedelta(minutes=9) < task.reminder_at - timezone.now() <= timedelta(minutes=10)

    def test_htmx_from_the_inbox_swaps_the_item_and_shows_a_toast(self, client, user):
        notification = remind(user, "Water plants")
        response = client.post(self.url(notification), {"snooze": "1h"}, headers=HTMX)
        body = response.content.decode()
        assert f'<li id="notification-{notification.pk}" class="notification">' in body  # read
        assert "Snoozed “Water plants” until" in body
        assert 'id="unread-badge"' in body and "hx-swap-oob" in body

    def test_htmx_from_the_toast_replaces_the_toast(self, client, user):
        notification = remind(user, "Water plants")
        response = client.post(
            self.url(notification), {"snooze": "tomorrow", "from": "toast"}, headers=HTMX
        )
        body = response.content.decode()
        assert body.lstrip().startswith('<div class="toast toast-success"')
        assert f'id="notification-{notification.pk}"' not in body
        assert "until Tomorrow 09:00" in body

    def test_a_bad_choice_is_an_error_toast_not_a_500(self, client, user):
        notification = remind(user)
        response = client.post(self.url(notification), {"snooze": "forever"}, headers=HTMX)
        assert response.status_code == 422
        assert response["HX-Reswap"] == "none"
        assert "toast-error" in response.content.decode()
        notification.refresh_from_db()
        assert notification.read_at is None

    def test_another_users_notification_is_404(self, client, other_user):
        notification = remind(other_user)
        assert client.post(self.url(notification), {"snooze": "10m"}).status_code == 404
