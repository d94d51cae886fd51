"""Reminders by e-mail, through Django's SMTP backend to a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import threading
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from notifications.email import (
    EmailSender,
    email_deliveries_create,
    header_text,
    next_email_attempt_at,
    retry_delay,
    send_due_emails,
)
from notifications.models import EmailDelivery, Notification
from tasks import reminders, services
from tests.smtp_server import SmtpServer
from todo_project.eventbus.envelope import TASK_UPDATES
from todo_project.eventbus.models import OutboxMessage
from todo_project.eventbus.publishers import LocalBus
from todo_project.eventbus.relay import drain

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def smtp(settings):
    server = SmtpServer()
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_TIMEOUT = 5
    settings.SITE_URL = "https://todo.example.org"
    settings.DEFAULT_FROM_EMAIL = "Todo <todo@example.org>"
    yield server
    server.stop()


@pytest.fixture
def reader(make_user):
    return make_user(
        "reader", email="reader@example.org", email_reminders=True, timezone="Europe/Berlin"
    )


def fire(user, title: str = "Call mum"):
    """A task whose reminder is due, fired and relayed until its e-mail is pending."""
    now = timezone.now()
    task = services.task_create(
        user=user,
        data={
            "title": title,
            "due_date": now + timedelta(hours=1),
            "reminder_at": now - timedelta(seconds=1),
        },
    )
    assert reminders.fire_due_reminders() == 1
    # ReminderDue -> Notification and NotificationCreated -> (next pass) the delivery
    while drain(LocalBus()):
        pass
    return task


def test_a_reminder_is_mailed_with_a_text_and_an_html_body_and_a_link(smtp, reader):
    task = fire(reader)

    assert send_due_emails().sent == 1

    ((sender, recipients, _),) = smtp.inbox.received
    assert (sender, recipients) == ("todo@example.org", ["reader@example.org"])
    (message,) = smtp.inbox.messages()
    assert smtp.inbox.headers("Subject") == ["Reminder: Call mum"]
    assert smtp.inbox.headers("To") == ["reader@example.org"]
    assert smtp.inbox.headers("From") == ["Todo <todo@example.org>"]
    assert smtp.inbox.headers("Message-ID") == [EmailDelivery.objects.get().message_id]
    assert smtp.inbox.headers("Message-ID")[0].endswith("@todo.example.org>")
    assert smtp.inbox.headers("Auto-Submitted") == ["auto-generated"]
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    link = f"https://todo.example.org/tasks/{task.pk}/edit/"
    assert text is not None and html is not None
    assert "Call mum" in text.get_content()
    assert f"Open the task: {link}" in text.get_content()
    assert task.due_date is not None
    due = task.due_date.astimezone(ZoneInfo("Europe/Berlin"))
    assert f"{due:%H:%M} (Europe/Berlin)" in text.get_content()  # the user's wall clock
    assert f"{due:%H:%M}</strong> (Europe/Berlin)" in html.get_content()
    assert f'<a href="{link}"' in html.get_content()
    assert "<h1" in html.get_content() and "Call mum" in html.get_content()
    delivery = EmailDelivery.objects.get()
    assert delivery.status == EmailDelivery.Status.SENT and delivery.attempts == 1


@pytest.mark.parametrize(
    ("title", "subject"),
    [
        ("Pay rent\nBcc: victim@example.org", "Reminder: Pay rent Bcc: victim@example.org"),
        ("Grüße an Zoë\r\n» 日本語 ✓", "Reminder: Grüße an Zoë » 日本語 ✓"),
        ("x" * 200, "Reminder: " + "x" * 139 + "…"),
    ],
    ids=["newline", "non-ascii", "long"],
)
def test_a_title_with_a_newline_or_non_ascii_makes_a_valid_message(smtp, reader, title, subject):
    fire(reader, title=title)

    assert send_due_emails().sent == 1

    ((_, recipients, raw),) = smtp.inbox.received
    assert recipients == ["reader@example.org"]  # no header smuggled a recipient in
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    assert head.isascii()  # non-ASCII is RFC 2047 encoded
    assert all(len(line) <= 998 for line in raw.splitlines())
    assert b"\nBcc:" not in head and not head.startswith(b"Bcc:")
    (message,) = smtp.inbox.messages()
    assert smtp.inbox.headers("Subject") == [subject]
    assert message.defects == []
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    assert title.split()[0] in body.get_content()


def test_a_redelivered_event_mails_once(smtp, reader):
    fire(reader)
    created = OutboxMessage.objects.get(topic=TASK_UPDATES, event_type="NotificationCreated")
    assert send_due_emails().sent == 1

    LocalBus().publish([created])  # the broker delivers it again
    email_deliveries_create(notification_ids=[Notification.objects.get().pk])  # twice, even
    assert send_due_emails().sent == 0

    assert len(smtp.inbox.received) == 1
    assert EmailDelivery.objects.count() == 1


def test_an_smtp_outage_is_retried_with_backoff_and_mails_once_recovered(smtp, reader, caplog):
    fire(reader)
    smtp.stop()
    now = timezone.now()

    report = send_due_emails(now=now)

    assert (report.sent, report.retrying) == (0, 1)
    delivery = EmailDelivery.objects.get()
    assert delivery.status == EmailDelivery.Status.PENDING
    assert delivery.attempts == 1
    assert "Connection" in delivery.last_error or "refused" in delivery.last_error.lower()
    assert delivery.next_attempt_at == now + timedelta(seconds=30)
    assert next_email_attempt_at() == delivery.next_attempt_at
    assert "retrying" in caplog.text
    assert send_due_emails(now=now + timedelta(seconds=29)).retrying == 0  # not yet due
    assert send_due_emails(now=now + timedelta(seconds=30)).retrying == 1
    assert EmailDelivery.objects.get().next_attempt_at == now + timedelta(seconds=90)

    smtp.start()
    assert send_due_emails(now=now + timedelta(seconds=90)).sent == 1
    assert send_due_emails(now=now + timedelta(hours=1)).sent == 0

    assert len(smtp.inbox.received) == 1
    delivery = EmailDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (EmailDelivery.Status.SENT, 3)


def test_retries_are_bounded(smtp, reader, settings):
    settings.EMAIL_MAX_ATTEMPTS = 3
    fire(reader)
    smtp.stop()
    now = timezone.now()
    for step in range(3):
        send_due_emails(now=now + timedelta(hours=step))

    delivery = EmailDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (EmailDelivery.Status.FAILED, 3)
    assert next_email_attempt_at() is None
    smtp.start()
    assert send_due_emails(now=now + timedelta(days=1)).sent == 0


def test_a_refusal_by_the_server_is_not_retried(smtp, reader):
    smtp.inbox.refuse_with = "554 5.7.1 Message rejected"
    fire(reader)

    assert send_due_emails().failed == 1

    delivery = EmailDelivery.objects.get()
    assert delivery.status == EmailDelivery.Status.FAILED
    assert "554" in delivery.last_error


def test_a_claimed_delivery_is_not_sent_by_a_second_sender(smtp, reader):
    """Two senders that read the same due row: only the one whose claim lands sends it."""
    fire(reader)
    now = timezone.now()
    delivery = EmailDelivery.objects.get()
    EmailDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=now - timedelta(seconds=1))

    assert send_due_emails(now=now).sent == 1
    # A sender that had read the row before the claim finds it moved on and sends nothing.
    assert send_due_emails(now=now).sent == 0
    assert len(smtp.inbox.received) == 1


def test_users_who_did_not_opt_in_get_no_delivery(smtp, make_user):
    quiet = make_user("quiet", email="quiet@example.org")
    fire(quiet)

    assert not EmailDelivery.objects.exists()
    assert send_due_emails().sent == 0
    assert smtp.inbox.received == []


def test_the_sender_thread_mails_a_reminder_soon_after_it_fires(smtp, reader):
    sender = EmailSender(max_sleep=5.0)
    sender.start()
    try:
        fire(reader)
        deadline = timezone.now() + timedelta(seconds=10)
        while not smtp.inbox.received and timezone.now() < deadline:
            threading.Event().wait(0.05)
    finally:
        sender.stop()
        sender.join(timeout=5)
    assert len(smtp.inbox.received) == 1


def test_retry_delay_doubles_up_to_the_cap(settings):
    settings.EMAIL_RETRY_BASE_SECONDS = 30
    settings.EMAIL_RETRY_MAX_SECONDS = 3600
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 7, 8, 50)] == [
        30,
        60,
        120,
        1920,
        3600,
        3600,
    ]


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("family 👨\u200d👩\u200d👧", "family 👨\u200d👩\u200d👧"),
        ("a\nb", "a b"),
        ("a\r\n\tb", "a b"),
        ("a\u2028b\x85c", "a b c"),
        ("  x\x00y  ", "x y"),
        ("Zoë ✓", "Zoë ✓"),
    ],
)
def test_header_text_is_one_clean_line(raw, clean):
    assert header_text(raw) == clean
