"""Reminders by e-mail: one delivery row per notification, sent by the worker after commit.

- `email_deliveries_create` (the NotificationCreated handler) writes a pending
  `EmailDelivery` for each new reminder of a user who opted in. The row is unique per
  notification and the handler is deduplicated by event id, so a redelivered event adds
  nothing.
- `send_due_emails` (one step of the `EmailSender` loop, which runs wherever the handlers
  run) claims each due row, sends it through Django's e-mail backend and marks it sent.
  A failure is retried with exponential backoff up to EMAIL_MAX_ATTEMPTS times; a refusal
  by the server (5xx) is not retried.

SMTP itself is at-least-once: were the process killed after the server took a message and
before its row was marked sent, the retry would send it again, with the same Message-ID.
"""

from __future__ import annotations

import logging
import smtplib
import threading
import unicodedata
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import make_msgid
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import close_old_connections, transaction
from django.db.models import F, Min
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from .models import EmailDelivery, Notification

logger = logging.getLogger(__name__)
email_wakeup = threading.Event()
SUBJECT_MAX_LENGTH = 150


def email_deliveries_create(*, notification_ids: Iterable[int]) -> list[EmailDelivery]:
    """A pending delivery for each of these reminder notifications whose user opted in and
    has an address (none twice); the sender is woken after commit."""
    ids = set(notification_ids)
    wanted = (
        Notification.objects.filter(pk__in=ids, kind=Notification.Kind.REMINDER)
        .filter(user__email_reminders=True)
        .exclude(user__email="")
        .exclude(email_delivery__isnull=False)
        .values_list("pk", "user__email")
    )
    now = timezone.now()
    domain = urlsplit(settings.SITE_URL).hostname or "localhost"
    created = EmailDelivery.objects.bulk_create(
        [
            EmailDelivery(
                notification_id=pk,
                recipient=address,
                message_id=make_msgid(idstring=f"reminder-{pk}", domain=domain),
                next_attempt_at=now,
            )
            for pk, address in wanted
        ]
    )
    if created:
        transaction.on_commit(email_wakeup.set)
    return created


@dataclass
class SendReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


def send_due_emails(*, now: datetime | None = None, limit: int = 100) -> SendReport:
    """Send up to `limit` deliveries that are due.

    Each is claimed first by a conditional update that moves its next attempt a lease
    ahead, so concurrent senders (replicas) never take the same row, and no transaction
    is held open while the SMTP server answers; a sender that dies mid-send leaves the
    row to be retried when the lease ends.
    """
    report = SendReport()
    now = now or timezone.now()
    due = list(
        EmailDelivery.objects.filter(
            status=EmailDelivery.Status.PENDING, next_attempt_at__lte=now
        ).order_by("next_attempt_at", "id")[:limit]
    )
    for delivery in due:
        claimed = EmailDelivery.objects.filter(
            pk=delivery.pk,
            status=EmailDelivery.Status.PENDING,
            next_attempt_at=delivery.next_attempt_at,
        ).update(next_attempt_at=now + claim_lease(), attempts=F("attempts") + 1)
        if claimed:
            delivery.refresh_from_db()
            _attempt(delivery, now, report)
    return report


def claim_lease() -> timedelta:
    """Longer than one send can take (Django's SMTP backend times out each step)."""
    return timedelta(seconds=max(60, 6 * settings.EMAIL_TIMEOUT))


def next_email_attempt_at() -> datetime | None:
    return EmailDelivery.objects.filter(status=EmailDelivery.Status.PENDING).aggregate(
        at=Min("next_attempt_at")
    )["at"]


def _attempt(delivery: EmailDelivery, now: datetime, report: SendReport) -> None:
    try:
        reminder_message(delivery).send()
    except (smtplib.SMTPException, OSError) as exc:
        delivery.last_error = f"{type(exc).__name__}: {exc}"[:500]
        refused = isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code >= 500
        refused = refused or isinstance(exc, smtplib.SMTPRecipientsRefused)
        if refused or delivery.attempts >= settings.EMAIL_MAX_ATTEMPTS:
            delivery.status = EmailDelivery.Status.FAILED
            report.failed += 1
            logger.error(
                "giving up on the e-mail of notification %s after %d attempt(s): %s",
                delivery.notification_id,
                delivery.attempts,
                delivery.last_error,
            )
        else:
            delivery.next_attempt_at = now + retry_delay(delivery.attempts)
            report.retrying += 1
            logger.warning(
                "e-mail of notification %s failed (attempt %d), retrying at %s: %s",
                delivery.notification_id,
                delivery.attempts,
                delivery.next_attempt_at.isoformat(),
                delivery.last_error,
            )
    else:
        delivery.status = EmailDelivery.Status.SENT
        delivery.sent_at = now
        report.sent += 1
        logger.info("mailed notification %s", delivery.notification_id)
    delivery.save(update_fields=["status", "next_attempt_at", "last_error", "sent_at"])


def retry_delay(attempts: int) -> timedelta:
    """30 s after the first failure, then doubling, at most EMAIL_RETRY_MAX_SECONDS."""
    seconds = settings.EMAIL_RETRY_BASE_SECONDS * 2 ** min(attempts - 1, 30)
    return timedelta(seconds=min(seconds, settings.EMAIL_RETRY_MAX_SECONDS))


def header_text(text: str) -> str:
    """One line of text, safe in a header: line breaks and other control characters become
    spaces (Django refuses a header with a newline); non-ASCII is left to the encoder."""
    cleaned = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in text)
    return " ".join(cleaned.split())


def reminder_message(delivery: EmailDelivery) -> EmailMultiAlternatives:
    notification = delivery.notification
    user = notification.user
    title = header_text(notification.message) or "Reminder"
    subject = f"Reminder: {title}"
    if len(subject) > SUBJECT_MAX_LENGTH:
        subject = subject[: SUBJECT_MAX_LENGTH - 1] + "…"
    zone = zoneinfo.ZoneInfo(user.timezone)
    task_path = (
        reverse("tasks:edit", args=[notification.task_ref])
        if notification.task_ref is not None
        else reverse("tasks:list")
    )
    context = {
        "title": notification.message,
        "due": notification.due_date,
        "timezone": user.timezone,
        "task_url": f"{settings.SITE_URL}{task_path}",
        "settings_url": f"{settings.SITE_URL}{reverse('account_settings')}",
    }
    with timezone.override(zone):  # the templates show times in the user's zone
        text = render_to_string("notifications/email/reminder.txt", context)
        html = render_to_string("notifications/email/reminder.html", context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[delivery.recipient],
        headers={"Message-ID": delivery.message_id, "Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(html, "text/html")
    return message


class EmailSender(threading.Thread):
    """Sends due reminder e-mails; sleeps until the next retry, or until a new delivery
    is committed in this process (the handler wakes it)."""

    def __init__(self, *, max_sleep: float = 60.0) -> None:
        super().__init__(name="email-sender", daemon=True)
        self.max_sleep = max_sleep
        self.stopping = threading.Event()

    def stop(self) -> None:
        self.stopping.set()
        email_wakeup.set()

    def run(self) -> None:
        while not self.stopping.is_set():
            email_wakeup.clear()
            upcoming = None
            try:
                send_due_emails()
                upcoming = next_email_attempt_at()
            except Exception:
                logger.exception("e-mail sender pass failed")
            finally:
                close_old_connections()
            sleep = self.max_sleep
            if upcoming is not None:
                sleep = min(sleep, max(0.0, (upcoming - timezone.now()).total_seconds()))
            email_wakeup.wait(sleep)
