"""JSON Web Tokens for the API, revocable.

Every pair belongs to a token family (one password check, models.TokenFamily). A token
names the user by id as well as by username and carries its family, so it stops working
when the family is revoked (logout, sign out everywhere, a password change, a reused
refresh token) or the user is deleted; a new account with the same username inherits
nothing. Refreshing rotates: only the newest refresh token of a family works, and using
an older one again revokes the family.

Verification pins the algorithm from settings (so `alg: none` and RS/HS swaps fail) and
requires signature, expiry, issuer and audience. Tokens of an external identity provider
sharing the key (no family) are accepted only with JWT_ACCEPT_EXTERNAL, and cannot be
revoked here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import TokenFamily, User

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


@dataclass(frozen=True)
class Identity:
    """Who a valid token speaks for, and the sign-in (family) it belongs to."""

    user: User
    family_id: uuid.UUID | None


def _encode(
    user: User, family: TokenFamily, token_type: str, jti: str, ttl: int, now: datetime
) -> tuple[str, datetime]:
    expires = now + timedelta(seconds=ttl)
    claims = {
        settings.JWT_USER_CLAIM: user.get_username(),
        "uid": user.pk,
        "fam": str(family.pk),
        "iss": settings.JWT_ISSUER,
        "aud": settings.JWT_AUDIENCE,
        "iat": now,
        "nbf": now,
        "exp": expires,
        "jti": jti,
        "typ": token_type,
    }
    token = jwt.encode(claims, settings.JWT_SIGNING_KEY, algorithm=settings.JWT_ALGORITHM)
    return token, expires


def _pair(user: User, family: TokenFamily, now: datetime) -> TokenPair:
    access, access_exp = _encode(
        user, family, ACCESS, uuid.uuid4().hex, settings.JWT_ACCESS_TTL_SECONDS, now
    )
    refresh, refresh_exp = _encode(
        user, family, REFRESH, family.current_refresh, settings.JWT_REFRESH_TTL_SECONDS, now
    )
    return TokenPair(access, refresh, access_exp, refresh_exp)


def issue_tokens(user: User, *, now: datetime | None = None) -> TokenPair:
    """A new sign-in: a new family and its first pair."""
    family = TokenFamily.objects.create(user=user, current_refresh=uuid.uuid4().hex)
    return _pair(user, family, now or timezone.now())


def _claims(token: str) -> dict[str, object]:
    try:
        claims: dict[str, object] = jwt.decode(
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
    return claims


def _live_family(claims: dict[str, object], *, for_update: bool = False) -> TokenFamily:
    try:
        family_id = uuid.UUID(str(claims["fam"]))
        user_id = int(str(claims["uid"]))
    except (KeyError, ValueError):
        raise InvalidToken("not a token of this server") from None
    families = TokenFamily.objects.select_related("user")
    if for_update:
        families = families.select_for_update(of=("self",))
    try:
        family = families.get(pk=family_id, user_id=user_id, user__is_active=True)
    except TokenFamily.DoesNotExist:
        raise InvalidToken("unknown or inactive user") from None
    if family.revoked_at is not None:
        raise InvalidToken(f"revoked: {family.get_revoked_because_display()}")
    return family


def authenticate(token: str, *, expected_type: str = ACCESS) -> Identity:
    """The active user a token speaks for, or InvalidToken saying why not."""
    claims = _claims(token)
    if claims.get("typ", ACCESS) != expected_type:
        raise InvalidToken(f"not an {expected_type} token")
    if "fam" not in claims:
        return Identity(_external_user(claims), None)
    family = _live_family(claims)
    return Identity(family.user, family.pk)


def verify(token: str, *, expected_type: str = ACCESS) -> User:
    return authenticate(token, expected_type=expected_type).user


def _external_user(claims: dict[str, object]) -> User:
    if not settings.JWT_ACCEPT_EXTERNAL:
        raise InvalidToken("not a token of this server")
    username = str(claims[settings.JWT_USER_CLAIM])
    if "\x00" in username:
        raise InvalidToken("the user claim contains NUL")
    try:
        return User.objects.get(**{User.USERNAME_FIELD: username}, is_active=True)
    except User.DoesNotExist:
        raise InvalidToken("unknown or inactive user") from None


def refresh(token: str, *, now: datetime | None = None) -> TokenPair:
    """Rotate: a new pair for the family's newest refresh token. An older one means the
    token was copied: the family is revoked and every token of it stops working."""
    claims = _claims(token)
    if claims.get("typ") != REFRESH or "fam" not in claims:
        raise InvalidToken("not a refresh token")
    with transaction.atomic():
        family = _live_family(claims, for_update=True)
        if claims.get("jti") != family.current_refresh:
            revoke(family, TokenFamily.Reason.REUSED)
            reused = True
        else:
            family.current_refresh = uuid.uuid4().hex
            family.refreshed_at = timezone.now()
            family.save(update_fields=["current_refresh", "refreshed_at"])
            reused = False
    if reused:
        raise InvalidToken("this refresh token was already used: the sign-in is revoked")
    return _pair(family.user, family, now or timezone.now())


def revoke(family: TokenFamily | uuid.UUID, reason: TokenFamily.Reason) -> None:
    family_id = family.pk if isinstance(family, TokenFamily) else family
    TokenFamily.objects.filter(pk=family_id, revoked_at=None).update(
        revoked_at=timezone.now(), revoked_because=reason
    )
