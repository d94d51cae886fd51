from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Notification(models.Model):
    class Kind(models.TextChoices):
        REMINDER = "reminder", "Reminder"
        WEBHOOK_DISABLED = "webhook_disabled", "Webhook disabled"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    task = models.ForeignKey(
        "tasks.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications"
    )
    #: Kept when the task is deleted, so the uniqueness below still holds for its reminders.
    task_ref = models.BigIntegerField(null=True, blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.REMINDER)
    message = models.CharField(max_length=500)
    reminder_at = models.DateTimeField(null=True, blank=True)
    due_date = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # A reminder fires once: one notification per task and reminder time.
            models.UniqueConstraint(
                fields=["task_ref", "kind", "reminder_at"], name="notification_once_per_reminder"
            ),
        ]
        indexes = [
            models.Index(
                fields=["user", "created_at"],
                name="notification_unread",
                condition=Q(read_at__isnull=True),
            ),
            models.Index(fields=["user", "created_at", "id"], name="notification_user_time"),
        ]

    def __str__(self) -> str:
        return self.message

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class EmailDelivery(models.Model):
    """The e-mail of one notification: at most one per notification, so a reminder is
    mailed once however often its event is delivered. Written by the NotificationCreated
    handler, sent by the worker's e-mail sender (notifications/email.py)."""

    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        SENT = "sent", "sent"
        FAILED = "failed", "failed"

    notification = models.OneToOneField(
        Notification, on_delete=models.CASCADE, related_name="email_delivery"
    )
    recipient = models.EmailField()
    #: Kept for every attempt, so a mail sent twice (a crash after the SMTP server took it
    #: but before it was marked sent) is recognisably the same message.
    message_id = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "e-mail deliveries"
        indexes = [
            models.Index(
                fields=["next_attempt_at", "id"],
                name="emaildelivery_due",
                condition=Q(status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.recipient}: {self.status}"


# Declared in their own modules; imported here so that Django finds them.
from .webhook_models import (  # noqa: E402
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from .webpush_models import PushDelivery, PushSubscription  # noqa: E402

__all__ = [
    "EmailDelivery",
    "Notification",
    "PushDelivery",
    "PushSubscription",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
