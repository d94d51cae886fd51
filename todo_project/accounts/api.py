from __future__ import annotations

from datetime import datetime

from django.contrib.auth import authenticate
from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.errors import AuthenticationError
from ninja.security import HttpBearer
from pydantic import field_validator

from todo_project.api_errors import AUTH_ERRORS

from . import tokens
from .models import User

router = Router(tags=["auth"])


class JWTAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        try:
            user = tokens.verify(token)
        except tokens.InvalidToken:
            return None
        request.user = user
        return user


def _no_nul(value: str) -> str:
    # Nothing with NUL can name a user, and PostgreSQL would refuse to even look it up.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


class TokenIn(Schema):
    username: str = Field(..., max_length=150)
    password: str = Field(..., max_length=4096)

    _check = field_validator("username", "password")(_no_nul)


class RefreshIn(Schema):
    refresh: str


class TokenOut(Schema):
    access: str
    refresh: str
    token_type: str = "Bearer"
    expires_at: datetime
    refresh_expires_at: datetime


class MeOut(Schema):
    id: int
    username: str
    email: str
    timezone: str


def _token_out(pair: tokens.TokenPair) -> TokenOut:
    return TokenOut(
        access=pair.access,
        refresh=pair.refresh,
        expires_at=pair.access_expires_at,
        refresh_expires_at=pair.refresh_expires_at,
    )


@router.post(
    "/auth/token", response={200: TokenOut, **AUTH_ERRORS}, auth=None, summary="Get tokens"
)
def obtain_token(request: HttpRequest, credentials: TokenIn) -> TokenOut:
    """Exchange a username and password for an access token and a refresh token."""
    user = authenticate(request, username=credentials.username, password=credentials.password)
    if user is None or not isinstance(user, User):
        raise AuthenticationError(401, "Wrong username or password.")
    return _token_out(tokens.issue_tokens(user))


@router.post(
    "/auth/refresh", response={200: TokenOut, **AUTH_ERRORS}, auth=None, summary="Refresh tokens"
)
def refresh_token(request: HttpRequest, body: RefreshIn) -> TokenOut:
    """Exchange a valid refresh token for a new pair."""
    try:
        user = tokens.verify(body.refresh, expected_type=tokens.REFRESH)
    except tokens.InvalidToken as exc:
        raise AuthenticationError(401, f"Invalid refresh token: {exc}") from None
    return _token_out(tokens.issue_tokens(user))


@router.get("/me", response={200: MeOut, 401: AUTH_ERRORS[401]}, summary="The authenticated user")
def me(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user
