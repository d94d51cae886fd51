"""Web push (RFC 8030): the browsers that asked for reminders, and one delivery per
reminder notification and browser."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class PushSubscription(models.Model):
    """A browser's PushSubscription (endpoint and its RFC 8291 keys) for one user.

    The endpoint names the browser's subscription at its push service, so it is unique:
    the same browser signing in as someone else moves the subscription to them.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_subscriptions"
    )
    endpoint = models.URLField(max_length=2000, unique=True)
    #: The browser's P-256 public key (uncompressed point, base64url) and auth secret.
    p256dh = models.CharField(max_length=120)
    auth = models.CharField(max_length=40)
    user_agent = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    last_success_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.endpoint[:60]}"


class PushDelivery(models.Model):
    """One push of one notification to one subscription: the unique pair is what makes a
    reminder reach each browser once, however often its event is delivered."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    subscription = models.ForeignKey(
        PushSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    notification = models.ForeignKey(
        "notifications.Notification", on_delete=models.CASCADE, related_name="push_deliveries"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    #: When a pending delivery may be tried (again); also the lease of an attempt in hand.
    next_attempt_at = models.DateTimeField()
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "notification"], name="push_delivery_once"
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="push_delivery_due",
                condition=Q(status="pending"),
            ),
        ]
        verbose_name_plural = "push deliveries"

    def __str__(self) -> str:
        return f"notification {self.notification_id} -> subscription {self.subscription_id}"
