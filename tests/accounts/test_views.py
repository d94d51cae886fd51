from __future__ import annotations

import pytest
from django.contrib.auth import SESSION_KEY
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from todo_project.accounts.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


class TestSignup:
    url = reverse("signup")

    def test_page(self, db):
        body = Client().get(self.url).content.decode()
        assert 'name="timezone"' in body and "Europe/Berlin" in body

    def test_creates_the_account_and_signs_in(self, db):
        client = Client()
        response = client.post(
            self.url,
            {
                "username": "carol",
                "email": "carol@example.com",
                "timezone": "America/New_York",
                "password1": "correct horse battery",
                "password2": "correct horse battery",
            },
        )
        assert response.status_code == 302
        assert response["Location"] == reverse("tasks:list")
        user = User.objects.get(username="carol")
        assert user.timezone == "America/New_York"
        assert int(client.session[SESSION_KEY]) == user.pk
        assert client.get(reverse("tasks:list")).status_code == 200, "signed in for real"

    def test_rejects_bad_input(self, db):
        response = Client().post(
            self.url,
            {"username": "", "timezone": "Mars/Olympus", "password1": "a", "password2": "b"},
        )
        assert response.status_code == 422
        errors = response.context["form"].errors
        assert {"username", "timezone", "password2"} <= set(errors)
        assert not User.objects.exists()

    def test_signed_in_user_is_sent_to_the_list(self, user):
        client = Client()
        client.force_login(user)
        assert client.get(self.url)["Location"] == reverse("tasks:list")


class TestLogin:
    url = reverse("login")

    def post(self, client, password, username="alice", **extra):
        return client.post(self.url, {"username": username, "password": password}, **extra)

    def test_success_goes_to_the_task_list(self, user):
        client = Client()
        response = self.post(client, "pw-alice")
        assert response.status_code == 302
        assert client.get(response["Location"])["Location"] == reverse("tasks:list")

    def test_wrong_password(self, user):
        response = self.post(Client(), "nope")
        assert response.status_code == 200
        assert b"Please enter a correct username and password" in response.content

    def test_username_is_case_insensitive_and_look_alikes_are_the_same_user(self, user):
        for spelling in ("ALICE", "Alice", "\uff41lice", "\U0001d41alice"):
            client = Client()
            assert self.post(client, "pw-alice", username=spelling).status_code == 302, spelling

    def test_csrf_is_enforced(self, user):
        client = Client(enforce_csrf_checks=True)
        assert self.post(client, "pw-alice").status_code == 403


class TestLogout:
    def test_post_signs_out(self, user):
        client = Client()
        client.force_login(user)
        response = client.post(reverse("logout"))
        assert response.status_code == 302
        assert SESSION_KEY not in client.session

    def test_get_is_refused(self, user):
        client = Client()
        client.force_login(user)
        assert client.get(reverse("logout")).status_code == 405


class TestSettings:
    url = reverse("account_settings")

    @pytest.fixture
    def client(self, user):
        client = Client()
        client.force_login(user)
        return client

    def test_requires_login(self, db):
        assert Client().get(self.url).status_code == 302

    def test_shows_the_current_values(self, client):
        body = client.get(self.url).content.decode()
        assert '<option value="Europe/Berlin" selected>' in body
        assert 'value="alice@example.com"' in body

    def test_updates_timezone_and_email(self, client, user):
        response = client.post(
            self.url, {"email": "", "timezone": "Asia/Tokyo", "date_order": "DMY"}
        )
        assert response.status_code == 302
        user.refresh_from_db()
        assert (user.timezone, user.email) == ("Asia/Tokyo", "")

    def test_shows_and_updates_the_date_order(self, client, user):
        body = client.get(self.url).content.decode()
        assert '<option value="DMY" selected>Day first (03/04 is 3 April)</option>' in body
        response = client.post(
            self.url, {"email": "", "timezone": "Europe/Berlin", "date_order": "MDY"}
        )
        assert response.status_code == 302
        user.refresh_from_db()
        assert user.date_order == "MDY"

    def test_rejects_an_unknown_date_order(self, client, user):
        response = client.post(
            self.url, {"email": "", "timezone": "Europe/Berlin", "date_order": "YMD"}
        )
        assert response.status_code == 422
        user.refresh_from_db()
        assert user.date_order == "DMY"

    def test_reminders_by_email_are_off_until_turned_on(self, client, user):
        body = client.get(self.url).content.decode()
        assert 'name="email_reminders"' in body
        assert not user.email_reminders
        response = client.post(
            self.url,
            {
                "email": "alice@example.org",
                "email_reminders": "on",
                "timezone": "Europe/Berlin",
                "date_order": "DMY",
            },
        )
        assert response.status_code == 302
        user.refresh_from_db()
        assert (user.email, user.email_reminders) == ("alice@example.org", True)

    def test_reminders_by_email_need_an_address(self, client, user):
        response = client.post(
            self.url,
            {
                "email": "",
                "email_reminders": "on",
                "timezone": "Europe/Berlin",
                "date_order": "DMY",
            },
        )
        assert response.status_code == 422
        assert "Reminders by e-mail need an e-mail address." in response.content.decode()
        user.refresh_from_db()
        assert (user.email, user.email_reminders) == ("alice@example.com", False)

    def test_shows_and_updates_the_morning_hour(self, client, user):
        body = client.get(self.url).content.decode()
        assert '<option value="9" selected>09:00</option>' in body
        data = {"email": "", "timezone": "Europe/Berlin", "date_order": "DMY"}
        assert client.post(self.url, {**data, "morning_hour": "7"}).status_code == 302
        user.refresh_from_db()
        assert user.morning_hour == 7
        assert client.post(self.url, data).status_code == 302  # left out: kept
        user.refresh_from_db()
        assert user.morning_hour == 7

    def test_rejects_a_morning_hour_out_of_range(self, client, user):
        data = {"email": "", "timezone": "Europe/Berlin", "date_order": "DMY"}
        assert client.post(self.url, {**data, "morning_hour": "24"}).status_code == 422
        user.refresh_from_db()
        assert user.morning_hour == 9

    def test_a_new_morning_hour_moves_all_day_reminders(self, client, user):
        from datetime import date, datetime
        from zoneinfo import ZoneInfo

        from tasks import services

        task = services.task_create(
            user=user,
            data={"title": "Rent", "due_date": date(2030, 3, 4), "reminder_offset_minutes": 0},
        )
        data = {"email": "", "timezone": "Europe/Berlin", "date_order": "DMY"}
        client.post(self.url, {**data, "morning_hour": "6"})
        task.refresh_from_db()
        assert task.reminder_at == datetime(2030, 3, 4, 6, tzinfo=ZoneInfo("Europe/Berlin"))

    def test_rejects_unknown_timezone(self, client, user):
        response = client.post(self.url, {"email": "a@b.c", "timezone": "Mars/Olympus"})
        assert response.status_code == 422
        user.refresh_from_db()
        assert user.timezone == "Europe/Berlin"

    def test_password_change(self, client, user):
        response = client.post(
            reverse("password_change"),
            {
                "old_password": "pw-alice",
                "new_password1": "a much better secret",
                "new_password2": "a much better secret",
            },
        )
        assert response.status_code == 302
        user.refresh_from_db()
        assert user.check_password("a much better secret")
