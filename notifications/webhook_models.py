"""Webhooks: the endpoints a user registers, one delivery per (endpoint, event), and the
log of every attempt (status code and response time) the owner reads."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class WebhookEvent(models.TextChoices):
    """The events a user can subscribe an endpoint to (the `type` of a delivery's body)."""

    TASK_CREATED = "task.created", "Task created"
    TASK_UPDATED = "task.updated", "Task updated (with the changed fields)"
    TASK_COMPLETED = "task.completed", "Task completed"
    TASK_DELETED = "task.deleted", "Task deleted"
    REMINDER_FIRED = "reminder.fired", "Reminder fired"


#: The type of the deliveries of "send test event"; no endpoint subscribes to it.
TEST_EVENT = "webhook.test"


class WebhookEndpoint(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True, default="")
    #: WebhookEvent values, validated by the services (notifications.webhooks).
    events = models.JSONField(default=list)
    secret = models.CharField(max_length=100)
    #: After a rotation the old secret still signs (a second v1 signature) until then.
    previous_secret = models.CharField(max_length=100, blank=True, default="")
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    #: Failed attempts since the last success; at WEBHOOK_DISABLE_AFTER_FAILURES the
    #: endpoint is disabled and its owner notified.
    consecutive_failures = models.PositiveIntegerField(default=0)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["user", "disabled_at"], name="webhook_endpoint_user")]

    def __str__(self) -> str:
        return self.url

    @property
    def is_enabled(self) -> bool:
        return self.disabled_at is None


class WebhookDelivery(models.Model):
    """One event for one endpoint: sent until it succeeds or runs out of attempts."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event_id = models.UUIDField()
    event_type = models.CharField(max_length=40)
    #: The JSON body, exactly as every attempt sends it.
    body = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    #: When a pending delivery is due; while an attempt is in flight, the end of its lease.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # A redelivered event never sends twice.
            models.UniqueConstraint(
                fields=["endpoint", "event_id"], name="webhook_delivery_once_per_event"
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="webhook_delivery_due",
                condition=Q(status="pending"),
            ),
            models.Index(fields=["endpoint", "created_at"], name="webhook_delivery_log"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} -> {self.endpoint_id} ({self.status})"


class WebhookAttempt(models.Model):
    """One HTTP request of a delivery: what the receiver answered, and how fast."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts")
    attempted_at = models.DateTimeField()
    #: None when no answer came (refused target, connection error, timeout).
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["attempted_at", "id"]

    def __str__(self) -> str:
        return f"{self.status_code or self.error} in {self.duration_ms} ms"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
