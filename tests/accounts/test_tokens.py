from __future__ import annotations

import base64
import json
from datetime import timedelta

import jwt
import pytest
from django.test import Client, override_settings
from django.utils import timezone

from todo_project.accounts.models import TokenFamily
from todo_project.accounts.tokens import issue_tokens

pytestmark = pytest.mark.django_db


def bearer(client, token: str, path: str = "/api/me"):
    return client.get(path, headers={"Authorization": f"Bearer {token}"})


def claims_for(user, **overrides):
    now = timezone.now()
    claims = {
        "sub": user.username,
        "iss": "todo",
        "aud": "todo-api",
        "iat": now,
        "exp": now + timedelta(minutes=5),
    }
    claims.update(overrides)
    return claims


def sign(claims, key=None, algorithm="HS256"):
    from django.conf import settings

    return jwt.encode(claims, key or settings.JWT_SIGNING_KEY, algorithm=algorithm)


def test_token_pair_for_good_credentials(client, user):
    response = client.post(
        "/api/auth/token",
        {"username": "alice", "password": "pw-alice"},
        content_type="application/json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert bearer(client, body["access"]).json()["username"] == "alice"


def test_wrong_password_is_401_json(client, user):
    response = client.post(
        "/api/auth/token",
        {"username": "alice", "password": "nope"},
        content_type="application/json",
    )
    assert response.status_code == 401
    assert response.json()["detail"] == "Wrong username or password."


def test_refresh_gives_a_new_pair(client, user):
    pair = issue_tokens(user)
    response = client.post(
        "/api/auth/refresh", {"refresh": pair.refresh}, content_type="application/json"
    )
    assert response.status_code == 200
    assert bearer(client, response.json()["access"]).status_code == 200


def test_access_token_is_not_a_refresh_token(client, user):
    response = client.post(
        "/api/auth/refresh", {"refresh": issue_tokens(user).access}, content_type="application/json"
    )
    assert response.status_code == 401


def test_refresh_token_is_not_an_access_token(client, user):
    assert bearer(client, issue_tokens(user).refresh).status_code == 401


def test_missing_token_is_401(client, db):
    response = client.get("/api/todos")
    assert response.status_code == 401
    assert response.json() == {"detail": "Missing or invalid token."}


def test_expired_token_is_401(client, user):
    past = timezone.now() - timedelta(hours=1)
    token = sign(claims_for(user, iat=past - timedelta(minutes=5), exp=past))
    assert bearer(client, token).status_code == 401


def test_wrong_signature_is_401(client, user):
    assert bearer(client, sign(claims_for(user), key="another-key-" * 4)).status_code == 401


def test_wrong_audience_is_401(client, user):
    assert bearer(client, sign(claims_for(user, aud="someone-else"))).status_code == 401


def test_wrong_issuer_is_401(client, user):
    assert bearer(client, sign(claims_for(user, iss="evil"))).status_code == 401


def test_alg_none_is_401(client, user):
    def b64(data: dict) -> str:
        raw = json.dumps(data, default=lambda d: int(d.timestamp())).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    token = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims_for(user))}."
    assert bearer(client, token).status_code == 401


def test_algorithm_swap_is_401(client, user):
    from django.conf import settings

    token = sign(claims_for(user), key=settings.JWT_SIGNING_KEY, algorithm="HS512")
    assert bearer(client, token).status_code == 401


def test_inactive_user_is_401(client, user):
    token = issue_tokens(user).access
    user.is_active = False
    user.save()
    assert bearer(client, token).status_code == 401


def test_token_from_identity_provider_sharing_the_key_is_refused_by_default(client, user):
    # Anyone holding the key could mint these, and they cannot be revoked here.
    assert bearer(client, sign(claims_for(user))).status_code == 401


@override_settings(JWT_ACCEPT_EXTERNAL=True)
def test_token_from_identity_provider_sharing_the_key_is_accepted_when_allowed(client, user):
    with override_settings(JWT_ISSUER="https://idp.example.com", JWT_AUDIENCE="todo"):
        token = sign(claims_for(user, iss="https://idp.example.com", aud="todo"))
        assert bearer(client, token).json()["username"] == "alice"


def test_garbage_token_is_401(client, db):
    assert bearer(client, "not-a-jwt").status_code == 401


@pytest.mark.parametrize("field", ["username", "password"])
def test_nul_in_credentials_is_422_not_a_database_error(client, user, field):
    body = {"username": "alice", "password": "pw-alice", field: "a\x00b"}
    response = client.post("/api/auth/token", body, content_type="application/json")
    assert response.status_code == 422
    assert field in response.json()["detail"][0]["loc"]


@override_settings(JWT_ACCEPT_EXTERNAL=True)
def test_token_naming_a_user_with_nul_is_401(client, user):
    assert bearer(client, sign(claims_for(user, sub="ali\x00ce"))).status_code == 401


# ----------------------------------------------------------------------- revocation


def refresh(client, token: str):
    return client.post("/api/auth/refresh", {"refresh": token}, content_type="application/json")


def test_refresh_rotates_and_a_reused_refresh_token_revokes_the_sign_in(client, user):
    first = issue_tokens(user)
    second = refresh(client, first.refresh).json()
    third = refresh(client, second["refresh"]).json()
    assert bearer(client, third["access"]).status_code == 200

    reused = refresh(client, first.refresh)  # a copy of an old refresh token

    assert reused.status_code == 401
    assert "already used" in reused.json()["detail"]
    # The whole family is gone, the newest tokens included.
    assert bearer(client, third["access"]).status_code == 401
    assert refresh(client, third["refresh"]).status_code == 401
    assert TokenFamily.objects.get().revoked_because == TokenFamily.Reason.REUSED


def test_a_refresh_token_is_not_a_key_forever(client, user):
    pair = issue_tokens(user)
    assert refresh(client, pair.refresh).status_code == 200
    assert refresh(client, pair.refresh).status_code == 401


def test_logout_revokes_that_sign_in_only(client, user):
    phone, laptop = issue_tokens(user), issue_tokens(user)
    response = client.post("/api/auth/logout", headers={"Authorization": f"Bearer {phone.access}"})
    assert response.status_code == 204
    assert bearer(client, phone.access).status_code == 401
    assert refresh(client, phone.refresh).status_code == 401
    assert bearer(client, laptop.access).status_code == 200


def test_sign_out_everywhere_revokes_every_token_and_session(client, user):
    phone, laptop = issue_tokens(user), issue_tokens(user)
    browser = Client()
    browser.force_login(user)
    assert browser.get("/tasks/").status_code == 200

    response = client.post(
        "/api/auth/sign-out-everywhere", headers={"Authorization": f"Bearer {phone.access}"}
    )

    assert response.status_code == 204
    for pair in (phone, laptop):
        assert bearer(client, pair.access).status_code == 401
        assert refresh(client, pair.refresh).status_code == 401
    assert browser.get("/tasks/").status_code == 302  # to the login page


@pytest.mark.parametrize("how", ["model", "admin", "settings page"])
def test_a_password_change_revokes_every_token(client, user, make_user, how):
    pair = issue_tokens(user)
    if how == "model":
        user.set_password("a new long password 1")
        user.save()
    elif how == "admin":
        admin = make_user("root", is_staff=True, is_superuser=True)
        operator = Client()
        operator.force_login(admin)
        url = f"/admin/accounts/user/{user.pk}/password/"
        form = {"password1": "a new long password 1", "password2": "a new long password 1"}
        assert operator.post(url, form).status_code == 302
    else:
        browser = Client()
        browser.force_login(user)
        form = {
            "old_password": "pw-alice",
            "new_password1": "a new long password 1",
            "new_password2": "a new long password 1",
        }
        assert browser.post("/accounts/password/", form).status_code == 302
        assert browser.get("/tasks/").status_code == 200, "the changing session stays"
    assert bearer(client, pair.access).status_code == 401
    assert refresh(client, pair.refresh).status_code == 401


def test_a_new_account_with_a_deleted_users_name_inherits_no_token(client, user, make_user):
    pair = issue_tokens(user)
    user.delete()
    make_user("alice")
    assert bearer(client, pair.access).status_code == 401
    assert refresh(client, pair.refresh).status_code == 401


def test_a_token_of_this_server_names_its_user_by_id(client, user):
    claims = jwt.decode(issue_tokens(user).access, options={"verify_signature": False})
    assert claims["uid"] == user.pk
    assert TokenFamily.objects.filter(pk=claims["fam"], user=user).exists()
