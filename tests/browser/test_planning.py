"""Planning in Debian's Chromium (issue 14): all-day tasks, Today and Upcoming with their
header counts, and snoozing a reminder from the toast and from the inbox (also without
JavaScript)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.live_server import TIMEZONE

from .conftest import SCREENSHOTS
from .test_ui import iso, sign_in

pytestmark = pytest.mark.browser
ZONE = ZoneInfo(TIMEZONE)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@pytest.fixture
def expect():
    from playwright.sync_api import expect

    return expect


def local_today():
    return datetime.now(ZONE).date()


def test_a_date_without_a_time_is_an_all_day_task(browser, server, expect):
    session = sign_in(browser, server, "carol")
    page = session.page
    page.get_by_role("link", name="New task").click()
    page.get_by_label("Title").fill("Pay rent")
    tomorrow = local_today() + timedelta(days=1)
    page.get_by_label("Date", exact=True).fill(tomorrow.isoformat())
    page.get_by_role("button", name="Create task").click()
    row = session.row("Pay rent")
    expect(row.locator(".due time")).to_have_text("Tomorrow")
    expect(row.locator(".due time")).to_have_attribute("datetime", tomorrow.isoformat())
    expect(row.locator(".due")).to_contain_text("all day")

    session.wait_live()
    box = page.get_by_label("Quick add a task")
    box.fill("buy milk tomorrow")
    expect(page.locator("#quick-add-preview")).to_contain_text("Tomorrow")
    box.press("Enter")
    milk = session.row("buy milk")
    expect(milk.locator(".due time")).to_have_text("Tomorrow")
    expect(milk.locator(".due time")).to_have_attribute("datetime", tomorrow.isoformat())

    milk.locator(".task-title").click()
    expect(page.get_by_label("Date", exact=True)).to_have_value(tomorrow.isoformat())
    expect(page.get_by_label("Time (optional)")).to_have_value("")
    session.assert_clean()
    session.context.close()


def test_today_and_upcoming_with_counts_that_follow_changes(browser, server, expect):
    today = local_today()
    server.api(
        "dave",
        "POST",
        "/todos",
        json={"title": "Late report", "due_date": iso(datetime.now(UTC) - timedelta(days=2))},
    )
    server.api("dave", "POST", "/todos", json={"title": "Rent", "due_date": today.isoformat()})
    in_three = today + timedelta(days=3)
    server.api(
        "dave", "POST", "/todos", json={"title": "Dentist", "due_date": in_three.isoformat()}
    )
    server.api("dave", "POST", "/todos", json={"title": "Someday"})
    session = sign_in(browser, server, "dave")
    page = session.page
    expect(page.locator("#today-count")).to_have_text(re.compile(r"^2\b"))
    expect(page.locator("#upcoming-count")).to_have_text(re.compile(r"^2\b"))

    page.get_by_role("link", name=re.compile(r"^Today")).click()
    expect(page.get_by_role("heading", name="Today", level=1)).to_be_visible()
    expect(page.locator("#task-rows > li.task .task-title")).to_have_text(["Late report", "Rent"])
    session.wait_live()
    session.row("Rent").get_by_role("button", name="Mark “Rent” as done").click()
    expect(page.locator("#today-count")).to_have_text(re.compile(r"^1\b"))
    expect(page.locator("#upcoming-count")).to_have_text(re.compile(r"^1\b"))
    # A change made elsewhere reaches the counts through the push.
    server.api("dave", "POST", "/todos", json={"title": "Call back", "due_date": today.isoformat()})
    expect(page.locator("#today-count")).to_have_text(re.compile(r"^2\b"))

    page.get_by_role("link", name=re.compile(r"^Upcoming")).click()
    expect(page.get_by_role("heading", name="Upcoming", level=1)).to_be_visible()
    headings = page.locator(".day-heading")
    expect(headings).to_have_count(7)
    expect(headings.nth(0)).to_contain_text("Today")
    expect(headings.nth(1)).to_contain_text("Tomorrow")
    expect(headings.nth(3)).to_contain_text(WEEKDAYS[in_three.weekday()])
    group = page.locator(".day-group", has=page.locator(f"#day-{in_three.isoformat()}"))
    expect(group.locator(".task-title")).to_have_text(["Dentist"])
    expect(page.locator(".day-group").nth(1).locator(".day-empty")).to_be_visible()
    session.assert_clean()
    session.context.close()


def test_the_header_fits_a_phone(browser, server, expect):
    session = sign_in(browser, server, "grace", viewport={"width": 375, "height": 812})
    page = session.page
    page.goto("/tasks/?view=upcoming")
    expect(page.locator("#upcoming-count")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    tops = page.evaluate(
        "[...document.querySelectorAll('.site-nav > *')].filter(e => e.getClientRects().length)"
        ".map(e => e.getBoundingClientRect().top)"
    )
    assert max(tops) - min(tops) < 8, tops  # one row
    session.context.close()


def test_snooze_from_the_toast_and_from_the_inbox(browser, server, expect):
    session = sign_in(browser, server, "heidi")
    page = session.page
    soon = datetime.now(UTC) + timedelta(seconds=2)
    task = server.api(
        "heidi", "POST", "/todos", json={"title": "Stretch", "reminder_at": iso(soon)}
    )
    toast = page.locator("#toasts .toast-reminder")
    expect(toast).to_contain_text("Stretch", timeout=15_000)
    toast.get_by_role("button", name="10 min").click()
    expect(page.locator("#toasts")).to_contain_text("Snoozed “Stretch” until Today")
    expect(toast).to_have_count(0)
    moved = server.api("heidi", "GET", f"/todos/{task['id']}")
    delta = datetime.fromisoformat(moved["reminder_at"]) - datetime.now(UTC)
    assert timedelta(minutes=9) < delta <= timedelta(minutes=10)

    page.goto("/notifications/")
    item = page.locator("#notification-items > li").first
    expect(item).not_to_have_class(re.compile("is-unread"))  # snoozing read it
    session.wait_live()
    item.get_by_role("button", name="Tomorrow morning").click()
    expect(page.locator("#toasts")).to_contain_text("until Tomorrow 09:00")
    moved = server.api("heidi", "GET", f"/todos/{task['id']}")
    local = datetime.fromisoformat(moved["reminder_at"]).astimezone(ZONE)
    assert (local.date(), local.hour, local.minute) == (local_today() + timedelta(days=1), 9, 0)
    session.assert_clean()
    session.context.close()


def test_snooze_posts_without_javascript(browser, server, expect):
    soon = datetime.now(UTC) + timedelta(seconds=1)
    task = server.api(
        "ivan", "POST", "/todos", json={"title": "Water plants", "reminder_at": iso(soon)}
    )
    session = sign_in(browser, server, "ivan")  # signs in with JavaScript, then without
    state = session.context.storage_state()
    session.context.close()
    context = browser.new_context(
        base_url=server.url, storage_state=state, java_script_enabled=False
    )
    page = context.new_page()
    page.goto("/notifications/")
    for _ in range(20):  # the reminder fires within a few seconds
        if page.locator("#notification-items > li").count():
            break
        page.wait_for_timeout(500)
        page.reload()
    page.locator("#notification-items > li").first.get_by_role("button", name="1 hour").click()
    expect(page).to_have_url(re.compile(r"/notifications/$"))
    expect(page.locator("#toasts")).to_contain_text("Snoozed “Water plants” until")
    moved = server.api("ivan", "GET", f"/todos/{task['id']}")
    delta = datetime.fromisoformat(moved["reminder_at"]) - datetime.now(UTC)
    assert timedelta(minutes=58) < delta <= timedelta(hours=1)
    context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_upcoming_screenshot(browser, server, expect, scheme):
    today = local_today()
    user = "erin" if scheme == "dark" else "judy"
    for days, title in ((0, "Pay rent"), (1, "Dentist at 10"), (3, "Team review")):
        due = (today + timedelta(days=days)).isoformat()
        if days == 1:
            due = datetime.combine(today + timedelta(days=1), datetime.min.time(), ZONE)
            due = iso(due.replace(hour=10))
        server.api(user, "POST", "/todos", json={"title": title, "due_date": due})
    session = sign_in(browser, server, user, color_scheme=scheme)
    session.page.goto("/tasks/?view=upcoming")
    expect(session.page.locator(".day-heading")).to_have_count(7)
    suffix = "-dark" if scheme == "dark" else ""
    session.page.screenshot(path=SCREENSHOTS / f"upcoming{suffix}.png", full_page=True)
    session.context.close()
