"""Every endpoint that takes a credential is limited per client address and per normalised
username, answers 429 with Retry-After, and checks a bounded number of passwords at once
(todo_project/accounts/throttle.py, backends.py, middleware.py)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse

from todo_project.accounts import throttle
from todo_project.accounts.models import User

pytestmark = pytest.mark.django_db

LOOK_ALIKES = ["ALICE", "\uff41lice", "\U0001d41alice", "Alice"]  # fullwidth a, bold a


def api_token(client: Client, username: str, password: str, **extra: Any) -> Any:
    body = {"username": username, "password": password}
    return client.post("/api/auth/token", body, content_type="application/json", **extra)


def web_login(client: Client, username: str, password: str, **extra: Any) -> Any:
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


def admin_login(client: Client, username: str, password: str, **extra: Any) -> Any:
    form = {"username": username, "password": password, "next": "/admin/"}
    return client.post(reverse("admin:login"), form, **extra)


def addresses() -> Any:
    """A new client address for every attempt: the per-username limit is not per address."""
    for n in range(1, 250):
        yield f"198.51.100.{n}"


@pytest.fixture
def limits(settings: Any) -> dict[str, str]:
    settings.RATE_LIMITS = {
        "credentials-per-address": "8/minute",
        "signups-per-address": "2/hour",
        "failures-per-username": "4/15minutes",
    }
    return settings.RATE_LIMITS


def assert_too_many(response: Any) -> None:
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1


@pytest.mark.parametrize("fail_with", [api_token, web_login, admin_login])
@pytest.mark.parametrize("then", [api_token, web_login, admin_login])
def test_failures_lock_the_username_everywhere_and_from_every_address(
    user: User, limits: dict[str, str], fail_with: Any, then: Any
) -> None:
    user.is_staff = True
    user.save()
    where = addresses()
    for _ in range(4):
        fail_with(Client(), "alice", "wrong", REMOTE_ADDR=next(where))

    refused = then(Client(), "alice", "pw-alice", REMOTE_ADDR=next(where))

    assert_too_many(refused)


def test_look_alike_and_case_variants_count_for_the_same_account(
    user: User, limits: dict[str, str]
) -> None:
    where = addresses()
    for spelling in LOOK_ALIKES:
        assert api_token(Client(), spelling, "wrong", REMOTE_ADDR=next(where)).status_code == 401
    assert_too_many(api_token(Client(), "alice", "pw-alice", REMOTE_ADDR=next(where)))


def test_the_api_answers_429_in_json_and_the_web_form_says_why(
    user: User, limits: dict[str, str]
) -> None:
    where = addresses()
    for _ in range(4):
        api_token(Client(), "alice", "wrong", REMOTE_ADDR=next(where))
    api = api_token(Client(), "alice", "pw-alice", REMOTE_ADDR=next(where))
    assert api.json() == {"detail": "Too many failed sign-ins for this account. Try again later."}
    client = Client()
    page = web_login(client, "alice", "pw-alice", REMOTE_ADDR=next(where))
    assert_too_many(page)
    assert b"Too many failed sign-ins for this account" in page.content
    assert SESSION_KEY not in client.session


def test_a_success_clears_the_failures(user: User, limits: dict[str, str]) -> None:
    where = addresses()
    for _ in range(3):
        api_token(Client(), "alice", "wrong", REMOTE_ADDR=next(where))
    assert api_token(Client(), "alice", "pw-alice", REMOTE_ADDR=next(where)).status_code == 200
    for _ in range(3):
        api_token(Client(), "alice", "wrong", REMOTE_ADDR=next(where))
    assert api_token(Client(), "alice", "pw-alice", REMOTE_ADDR=next(where)).status_code == 200


def test_other_accounts_are_not_locked_by_one_under_attack(
    user: User, other_user: User, limits: dict[str, str]
) -> None:
    where = addresses()
    for _ in range(6):
        api_token(Client(), "alice", "wrong", REMOTE_ADDR=next(where))
    assert api_token(Client(), "bob", "pw-bob", REMOTE_ADDR=next(where)).status_code == 200


@pytest.mark.parametrize(
    "endpoint",
    [
        ("/api/auth/token", {"username": "x", "password": "y"}, "application/json"),
        ("/api/auth/refresh", {"refresh": "x"}, "application/json"),
        ("/accounts/login/", {"username": "x", "password": "y"}, None),
        ("/admin/login/", {"username": "x", "password": "y"}, None),
        ("/accounts/password/", {"old_password": "x"}, None),
    ],
)
def test_one_address_has_a_budget_of_attempts_on_every_credential_endpoint(
    user: User, limits: dict[str, str], endpoint: tuple[str, dict[str, str], str | None]
) -> None:
    path, body, content_type = endpoint
    client = Client()
    client.force_login(user)
    extra = {"content_type": content_type} if content_type else {}
    for n in range(8):
        # A different username each time: the budget is the address's.
        body = {**body, "username": f"user{n}"} if "username" in body else body
        assert client.post(path, body, **extra).status_code != 429
    refused = client.post(path, body, **extra)
    assert_too_many(refused)
    if path.startswith("/api/"):
        assert refused.json()["detail"].startswith("Too many sign-in attempts from your network")
    # Another address is not concerned.
    assert client.post(path, body, REMOTE_ADDR="203.0.113.7", **extra).status_code != 429


def signup_form(username: str) -> dict[str, str]:
    return {
        "username": username,
        "timezone": "UTC",
        "password1": "correct horse battery",
        "password2": "correct horse battery",
    }


def test_signups_are_limited_per_address(db: None, limits: dict[str, str]) -> None:
    for name in ("carol", "dave"):
        assert Client().post(reverse("signup"), signup_form(name)).status_code == 302
    assert_too_many(Client().post(reverse("signup"), signup_form("erin")))
    assert not User.objects.filter(username="erin").exists()


@pytest.mark.parametrize("spelling", ["ALICE", "Alice", "\uff41lice"])
def test_look_alikes_of_a_taken_username_cannot_be_registered(user: User, spelling: str) -> None:
    response = Client().post(reverse("signup"), signup_form(spelling))
    assert response.status_code == 422
    assert b"A user with that username already exists." in response.content
    assert User.objects.count() == 1


def test_the_database_refuses_a_case_variant_however_it_is_written(user: User) -> None:
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user(username="ALICE", password="x")


def test_with_no_free_password_slot_a_sign_in_is_429_at_once(user: User, settings: Any) -> None:
    settings.PASSWORD_CHECKS_AT_ONCE = 1
    with throttle.password_check_slot():  # another request is checking a password
        busy = api_token(Client(), "alice", "pw-alice")
        web = web_login(Client(), "alice", "pw-alice")
    assert_too_many(busy)
    assert busy["Retry-After"] == "1"
    assert_too_many(web)
    # The slot is free again, and the refusal counted as no failure.
    assert api_token(Client(), "alice", "pw-alice").status_code == 200
