from __future__ import annotations

from django.contrib.auth import authenticate
from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.errors import AuthenticationError
from ninja.security import HttpBearer
from pydantic import ConfigDict

from todo_project.api_errors import AUTH_ERRORS, ErrorOut
from todo_project.api_types import NO_NUL, Instant

from . import tokens
from .models import TokenFamily, User

router = Router(tags=["auth"])


class JWTAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        try:
            identity = tokens.authenticate(token)
        except tokens.InvalidToken:
            return None
        request.user = identity.user
        request.token_family_id = identity.family_id  # type: ignore[attr-defined]
        return identity.user


class TokenIn(Schema):
    # Nothing with NUL can name a user, and PostgreSQL would refuse to even look it up.
    model_config = ConfigDict(extra="forbid")

    username: str = Field(..., max_length=150, pattern=NO_NUL)
    password: str = Field(..., max_length=4096, pattern=NO_NUL)


class RefreshIn(Schema):
    model_config = ConfigDict(extra="forbid")

    refresh: str


class TokenOut(Schema):
    access: str
    refresh: str
    token_type: str = "Bearer"
    expires_at: Instant
    refresh_expires_at: Instant


class MeOut(Schema):
    id: int
    username: str
    email: str
    timezone: str
    morning_hour: int = Field(
        ..., description="Hour (0-23) a reminder before an all-day task counts from."
    )


def _token_out(pair: tokens.TokenPair) -> TokenOut:
    return TokenOut(
        access=pair.access,
        refresh=pair.refresh,
        expires_at=pair.access_expires_at,
        refresh_expires_at=pair.refresh_expires_at,
    )


#: The credential endpoints are rate-limited (throttle.py): 429 with Retry-After.
THROTTLED = {429: ErrorOut}


@router.post(
    "/auth/token",
    response={200: TokenOut, **AUTH_ERRORS, **THROTTLED},
    auth=None,
    summary="Get tokens",
)
def obtain_token(request: HttpRequest, credentials: TokenIn) -> TokenOut:
    """Exchange a username and password for an access token and a refresh token.

    Usernames are matched ignoring case and Unicode compatibility forms. Limited per client
    address and per username (failures): over a limit, or while the server checks as many
    passwords as it will at once, the answer is 429 with a Retry-After header."""
    user = authenticate(request, username=credentials.username, password=credentials.password)
    if user is None or not isinstance(user, User):
        raise AuthenticationError(401, "Wrong username or password.")
    return _token_out(tokens.issue_tokens(user))


@router.post(
    "/auth/refresh",
    response={200: TokenOut, **AUTH_ERRORS, **THROTTLED},
    auth=None,
    summary="Refresh tokens",
)
def refresh_token(request: HttpRequest, body: RefreshIn) -> TokenOut:
    """Exchange the newest refresh token of a sign-in for a new pair. Each refresh token
    works once: using one again revokes the sign-in (every token issued from it)."""
    try:
        pair = tokens.refresh(body.refresh)
    except tokens.InvalidToken as exc:
        raise AuthenticationError(401, f"Invalid refresh token: {exc}") from None
    return _token_out(pair)


@router.post("/auth/logout", response={204: None, 401: AUTH_ERRORS[401]}, summary="Log out")
def logout(request: HttpRequest) -> Status[None]:
    """Revoke the sign-in the access token belongs to: its access and refresh tokens stop
    working at once. Other sign-ins of the user are untouched."""
    family_id = getattr(request, "token_family_id", None)
    if family_id is not None:
        tokens.revoke(family_id, TokenFamily.Reason.LOGGED_OUT)
    return Status(204, None)


@router.post(
    "/auth/sign-out-everywhere",
    response={204: None, 401: AUTH_ERRORS[401]},
    summary="Sign out everywhere",
)
def sign_out_everywhere(request: HttpRequest) -> Status[None]:
    """Revoke every sign-in of the user: all API tokens, all browser sessions, and the
    open WebSockets (they close within a second)."""
    user = request.user
    assert isinstance(user, User)
    user.revoke_sign_ins()
    return Status(204, None)


@router.get("/me", response={200: MeOut, 401: AUTH_ERRORS[401]}, summary="The authenticated user")
def me(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user
