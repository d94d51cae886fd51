"""The settings page's integrations in Chromium (issue 16): reminders by e-mail, turned on
and then received by a real SMTP server, and the calendar feed's address: created,
copied, fetched like a calendar app does, and reset."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from icalendar import Calendar

from tests.smtp_server import SmtpServer

from .conftest import Server, run_server
from .test_ui import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def server(
    chromium_path: Path, tmp_path_factory: pytest.TempPathFactory, smtp: SmtpServer
) -> Iterator[Server]:
    overrides = {
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp.port),
        "SITE_URL": "https://todo.example.org",
    }
    with run_server(tmp_path_factory.mktemp("integrations"), env_overrides=overrides) as running:
        yield running


@pytest.fixture
def expect() -> Any:
    from playwright.sync_api import expect

    return expect


def test_turning_on_reminders_by_email_and_receiving_one(browser, server, smtp, expect):
    session = sign_in(browser, server, "ivan")
    page = session.page
    page.goto("/accounts/settings/")
    opt_in = page.get_by_label("Send reminders by e-mail")
    expect(opt_in).not_to_be_checked()  # off until the user turns it on

    opt_in.check()
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Reminders by e-mail need an e-mail address.")).to_be_visible()

    page.get_by_label("Email").fill("ivan@example.org")
    page.get_by_label("Send reminders by e-mail").check()
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Settings saved.")).to_be_visible()
    expect(page.get_by_label("Send reminders by e-mail")).to_be_checked()

    now = datetime.now(UTC)
    server.api(
        "ivan",
        "POST",
        "/todos",
        json={
            "title": "Ring the plumber\nBcc: nobody@example.org",
            "due_date": (now + timedelta(hours=1)).isoformat(),
            "reminder_at": (now + timedelta(seconds=1)).isoformat(),
        },
    )
    deadline = time.monotonic() + 20
    while not smtp.inbox.received and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [recipients for _, recipients, _ in smtp.inbox.received] == [["ivan@example.org"]]
    assert smtp.inbox.headers("Subject") == ["Reminder: Ring the plumber Bcc: nobody@example.org"]
    # The refused save answered 422 (the form error), which Chromium logs; nothing else.
    assert [e for e in session.errors if "status of 422" not in e] == []
    session.context.close()


def test_the_calendar_address_is_created_copied_and_reset(browser, server, expect):
    server.api(
        "judy",
        "POST",
        "/todos",
        json={"title": "Water the ferns", "due_date": "2027-01-04T09:00:00+01:00"},
    )
    session = sign_in(browser, server, "judy", permissions=["clipboard-read", "clipboard-write"])
    page = session.page
    page.goto("/accounts/settings/")
    page.get_by_role("button", name="Create a calendar address").click()
    address = page.get_by_label("Calendar address")
    expect(address).to_have_value(
        re.compile(r"^https://todo\.example\.org/tasks/calendar/[\w-]{40,}\.ics$")
    )
    first = address.input_value()

    page.get_by_role("button", name="Copy address").click()
    expect(page.get_by_text("Copied to the clipboard.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == first

    feed = httpx.get(server.url + urlsplit(first).path, timeout=10)  # no session
    assert feed.status_code == 200
    assert feed.headers["content-type"] == "text/calendar; charset=utf-8"
    (event,) = Calendar.from_ical(feed.content).walk("VEVENT")
    assert event["SUMMARY"] == "Water the ferns"

    page.get_by_role("button", name="Reset address").click()
    expect(page.get_by_text("New calendar address: any old one no longer works.")).to_be_visible()
    second = page.get_by_label("Calendar address").input_value()
    assert second != first
    assert httpx.get(server.url + urlsplit(first).path, timeout=10).status_code == 404
    assert httpx.get(server.url + urlsplit(second).path, timeout=10).status_code == 200
    session.assert_clean()
    session.context.close()
