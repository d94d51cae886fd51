from __future__ import annotations

from django.db import models
from django.db.models import Q


class OutboxMessage(models.Model):
    """An event waiting to leave (or that left) through the relay.

    Rows are written in the same transaction as the change they describe, so an event
    exists if and only if its change committed. The relay publishes rows in id order per
    partition key and records every failed attempt.
    """

    event_id = models.UUIDField()
    topic = models.CharField(max_length=100)
    event_type = models.CharField(max_length=60)
    partition_key = models.CharField(max_length=100)
    envelope = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    #: W3C traceparent of the request or event that wrote the row ("" when none), so the
    #: published message continues that trace.
    traceparent = models.CharField(max_length=55, blank=True, default="")

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["id"], name="outbox_pending", condition=Q(published_at=None)),
            models.Index(fields=["published_at"], name="outbox_published_at"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["event_id", "topic"], name="outbox_event_topic_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} -> {self.topic} ({self.event_id})"

    @property
    def is_pending(self) -> bool:
        return self.published_at is None


class ProcessedEvent(models.Model):
    """Embedded-mode deduplication: one row per (consumer, event), written with the effect."""

    consumer = models.CharField(max_length=100)
    event_id = models.UUIDField()
    processed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["consumer", "event_id"], name="processed_event_unique"),
        ]
        indexes = [models.Index(fields=["processed_at"], name="processed_event_time")]

    def __str__(self) -> str:
        return f"{self.consumer}:{self.event_id}"


class DeadLetter(models.Model):
    """A message a consumer gave up on: a poison message or one that kept failing."""

    topic = models.CharField(max_length=100)
    consumer = models.CharField(max_length=100, blank=True, default="")
    event_id = models.CharField(max_length=64, blank=True, default="")
    event_type = models.CharField(max_length=60, blank=True, default="")
    raw = models.TextField(help_text="The message as received.")
    error = models.TextField()
    attempts = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.topic}/{self.consumer or '-'}: {self.event_id or 'unparseable'}"
