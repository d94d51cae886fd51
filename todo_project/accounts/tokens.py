"""JSON Web Tokens for the API: issued here or by an identity provider sharing the key.

Verification pins the algorithm from settings (so `alg: none` and RS/HS swaps fail) and
requires signature, expiry, issuer and audience.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from django.conf import settings
from django.utils import timezone

from .models import User

ACCESS = "access"
REFRESH = "refresh"


class InvalidToken(Exception):
    pass


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str
    access_expires_at: datetime
    refresh_expires_at: datetime


def _encode(user: User, token_type: str, ttl_seconds: int, now: datetime) -> tuple[str, datetime]:
    expires = now + timedelta(seconds=ttl_seconds)
    claims = {
        settings.JWT_USER_CLAIM: user.get_username(),
        "iss": settings.JWT_ISSUER,
        "aud": settings.JWT_AUDIENCE,
        "iat": now,
        "nbf": now,
        "exp": expires,
        "jti": uuid.uuid4().hex,
        "typ": token_type,
    }
    token = jwt.encode(claims, settings.JWT_SIGNING_KEY, algorithm=settings.JWT_ALGORITHM)
    return token, expires


def issue_tokens(user: User, *, now: datetime | None = None) -> TokenPair:
    now = now or timezone.now()
    access, access_exp = _encode(user, ACCESS, settings.JWT_ACCESS_TTL_SECONDS, now)
    refresh, refresh_exp = _encode(user, REFRESH, settings.JWT_REFRESH_TTL_SECONDS, now)
    return TokenPair(access, refresh, access_exp, refresh_exp)


def verify(token: str, *, expected_type: str = ACCESS) -> User:
    """The active user the token names, or InvalidToken saying why not."""
    try:
        claims = jwt.decode(
            token,
            settings.JWT_VERIFYING_KEY,
            algorithms=[settings.JWT_ALGORITHM],
            audience=settings.JWT_AUDIENCE,
            issuer=settings.JWT_ISSUER,
            leeway=settings.JWT_LEEWAY_SECONDS,
            options={"require": ["exp", "iss", "aud", settings.JWT_USER_CLAIM]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    # Tokens from another identity provider may carry no `typ`: they are access tokens.
    if claims.get("typ", ACCESS) != expected_type:
        raise InvalidToken(f"not an {expected_type} token")
    username = str(claims[settings.JWT_USER_CLAIM])
    if "\x00" in username:
        raise InvalidToken("the user claim contains NUL")
    try:
        user = User.objects.get(**{User.USERNAME_FIELD: username}, is_active=True)
    except User.DoesNotExist:
        raise InvalidToken("unknown or inactive user") from None
    return user
