from __future__ import annotations

import unicodedata
import uuid
import zoneinfo
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models, transaction
from django.db.models.functions import Lower
from django.dispatch import Signal
from django.utils import timezone

#: Sent (after commit) when a user's sign-ins are revoked: a password change or "sign out
#: everywhere". Receivers: the WebSocket consumers close that user's open sockets.
#: Arguments: user_id, auth_epoch (the new one; older sessions are gone).
sign_ins_revoked = Signal()


def validate_timezone_name(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone name (e.g. Europe/Berlin).")


def login_key(name: str) -> str:
    """The one form of a username used to look it up and to count failures: NFKC, so that
    look-alikes (a fullwidth or a mathematical bold e) are the letter they look like, and
    case-folded. Stored usernames keep their case; uniqueness ignores it."""
    return unicodedata.normalize("NFKC", name).casefold()


class Manager(UserManager["User"]):
    def get_by_natural_key(self, username: str | None) -> User:
        """Sign-in finds `Eve` for `eve`, `EVE` or a fullwidth `eve` (usernames are unique ignoring
        case and compatibility forms, see User.Meta)."""
        return self.get(username__iexact=unicodedata.normalize("NFKC", username or ""))


class User(AbstractUser):
    """The project's user: Django's user plus the time zone tasks are shown and repeated in."""

    timezone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_timezone_name],
        help_text="IANA time zone used to show due dates and as the default for new tasks.",
    )

    class DateOrder(models.TextChoices):
        DMY = "DMY", "Day first (03/04 is 3 April)"
        MDY = "MDY", "Month first (03/04 is March 4)"

    date_order = models.CharField(
        "dates like 03/04",
        max_length=3,
        choices=DateOrder.choices,
        default=DateOrder.DMY,
        help_text="How quick add reads a numeric date such as 03/04.",
    )
    email_reminders = models.BooleanField(
        "send reminders by e-mail",
        default=False,
        help_text="Each reminder is also mailed to your e-mail address.",
    )
    morning_hour = models.PositiveSmallIntegerField(
        default=9,
        validators=[MaxValueValidator(23)],
        help_text="Hour (0-23, in your time zone) that a reminder before an all-day task "
        "counts from, and when 'tomorrow morning' is.",
    )
    auth_epoch = models.PositiveIntegerField(
        default=0,
        editable=False,
        help_text="Raised by a password change or 'sign out everywhere': sessions and "
        "WebSockets of an older epoch end.",
    )

    objects: ClassVar[Manager] = Manager()

    class Meta(AbstractUser.Meta):  # type: ignore[name-defined]
        constraints = [
            models.UniqueConstraint(Lower("username"), name="user_username_unique_ci"),
            models.CheckConstraint(
                condition=models.Q(morning_hour__lte=23), name="user_morning_hour_0_23"
            ),
        ]

    def clean(self) -> None:
        super().clean()
        taken = User.objects.filter(username__iexact=self.username).exclude(pk=self.pk)
        if taken.exists():
            raise ValidationError({"username": "A user with that username already exists."})

    def set_password(self, raw_password: str | None) -> None:
        """Every way a password changes (the settings page, the admin, `changepassword`)
        ends the user's other sign-ins when the change is saved."""
        super().set_password(raw_password)
        if self.pk is not None:
            self._revoke_on_save = True

    def revoke_sign_ins(self) -> None:
        """End every session, API token and WebSocket of this user: on save (for a new
        password) or at once (sign out everywhere)."""
        self._revoke_on_save = True
        self.save(update_fields=["auth_epoch"])

    def save(self, *args: Any, **kwargs: Any) -> None:
        revoke = getattr(self, "_revoke_on_save", False) and self.pk is not None
        if revoke:
            self.auth_epoch += 1
            update_fields = kwargs.get("update_fields")
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "auth_epoch"}
        super().save(*args, **kwargs)
        if revoke:
            self._revoke_on_save = False
            TokenFamily.objects.filter(user=self, revoked_at=None).update(
                revoked_at=timezone.now(), revoked_because=TokenFamily.Reason.SIGNED_OUT
            )
            user_id, epoch = self.pk, self.auth_epoch
            transaction.on_commit(
                lambda: sign_ins_revoked.send(sender=User, user_id=user_id, auth_epoch=epoch)
            )

    def get_session_auth_hash(self) -> str:
        """Sessions of an older auth epoch no longer authenticate (Django compares this
        hash on every request)."""
        return f"{super().get_session_auth_hash()}:{self.auth_epoch}"


class TokenFamily(models.Model):
    """One API sign-in: the access and refresh tokens issued from one password check, and
    every pair refreshed from them. Only the newest refresh token of a family refreshes; a
    reused older one revokes the whole family (it was stolen, or the client is broken)."""

    class Reason(models.TextChoices):
        LOGGED_OUT = "logged-out", "logged out"
        SIGNED_OUT = "signed-out", "signed out everywhere or password changed"
        REUSED = "reused", "an old refresh token was used again"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="token_families")
    current_refresh = models.CharField(
        max_length=32, help_text="jti of the refresh token that may refresh."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_because = models.CharField(max_length=16, choices=Reason.choices, blank=True)

    class Meta:
        verbose_name_plural = "token families"
        indexes = [models.Index(fields=["user", "revoked_at"], name="tokenfamily_user_live")]

    def __str__(self) -> str:
        state = f"revoked ({self.revoked_because})" if self.revoked_at else "live"
        return f"{self.user_id}: {self.id} {state}"
