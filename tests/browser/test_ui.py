"""The browser UI in Debian's Chromium against a real daphne (issue 5, item 6).

Each test signs in as its own user, so tests do not see each other's tasks. Waits are
expect-style; the only deliberate delay is the reminder, due a few seconds ahead.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from .conftest import PASSWORD, SCREENSHOTS, Server

pytestmark = pytest.mark.browser

LIVE_WITHIN_MS = 2000


class Session:
    """A signed-in browser context and page, failing the test on any script error."""

    def __init__(self, context: Any, page: Any) -> None:
        self.context = context
        self.page = page
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.on(
            "console",
            lambda msg: self.errors.append(f"console: {msg.text}") if msg.type == "error" else None,
        )

        def on_dialog(dialog: Any) -> None:
            self.dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)

    def wait_live(self) -> None:
        from playwright.sync_api import expect

        expect(self.page.locator("html")).to_have_attribute("data-live", "open")

    def row(self, title: str) -> Any:
        return self.page.locator(
            "#task-rows > li.task",
            has=self.page.locator(".task-title", has_text=re.compile(rf"^{re.escape(title)}$")),
        )

    def assert_clean(self) -> None:
        assert not self.errors, self.errors
        assert not self.dialogs, self.dialogs


_states: dict[tuple[str, str], Any] = {}


def sign_in(browser: Any, server: Server, username: str, **options: Any) -> Session:
    """A new context signed in as `username`; the first one goes through the login form."""
    key = (server.url, username)
    context = browser.new_context(base_url=server.url, storage_state=_states.get(key), **options)
    page = context.new_page()
    page.set_default_timeout(10_000)
    if key not in _states:
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/tasks/")
        _states[key] = context.storage_state()
    else:
        page.goto("/tasks/")
    session = Session(context, page)
    session.wait_live()  # htmx has processed the page and the WebSocket is open
    return session


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@pytest.fixture
def expect() -> Any:
    from playwright.sync_api import expect

    return expect


def test_sign_in_and_create_a_task_through_the_form(browser, server, expect):
    context = browser.new_context(base_url=server.url)
    page = context.new_page()
    page.goto("/")
    page.get_by_role("link", name="Log in").first.click()
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/tasks/$"))
    expect(page.get_by_role("heading", name="Tasks", exact=True)).to_be_visible()

    page.get_by_role("link", name="New task").click()
    page.get_by_label("Title").fill("Buy groceries")
    page.get_by_label("Priority").select_option("high")
    page.get_by_label("Tags").fill("home, errands")
    page.get_by_label("Date", exact=True).fill("2030-05-06")
    page.get_by_label("Time (optional)").fill("18:30")
    page.get_by_role("button", name="Create task").click()

    expect(page).to_have_url(re.compile(r"/tasks/$"))
    row = page.locator("#task-rows > li.task").filter(has_text="Buy groceries")
    expect(row).to_have_count(1)
    expect(row.locator(".badge-priority")).to_have_text(re.compile("High", re.I))
    expect(row.locator(".chip")).to_have_text(["Tag: errands", "Tag: home"])
    expect(row.locator(".due time")).to_have_text("6 May 2030, 18:30")
    expect(row.locator(".due time")).to_have_attribute("datetime", "2030-05-06T18:30:00+02:00")
    expect(page.locator("#toasts")).to_contain_text("Created “Buy groceries”.")
    context.close()


def test_sign_up_with_the_browsers_time_zone_and_log_out(browser, server, expect):
    context = browser.new_context(base_url=server.url, timezone_id="America/New_York")
    page = context.new_page()
    page.goto("/accounts/signup/")
    expect(page.get_by_label("Time zone")).to_have_value("America/New_York")
    page.get_by_label("Username").fill("kate")
    page.locator("#id_password1").fill(PASSWORD)
    page.get_by_label("Password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page).to_have_url(re.compile(r"/tasks/$"))
    expect(page.locator("#toasts")).to_contain_text("Welcome, kate!")
    page.get_by_role("link", name="Settings").click()
    expect(page.get_by_label("Time zone")).to_have_value("America/New_York")
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    page.goto("/tasks/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/tasks/$"))
    context.close()


def test_recurrence_editor_shows_summary_and_next_dates(browser, server, expect):
    session = sign_in(browser, server, "bob")
    page = session.page
    page.get_by_role("link", name="New task").click()
    page.get_by_label("Title").fill("Team sync")
    page.get_by_label("Date", exact=True).fill("2030-03-04")
    page.get_by_label("Time (optional)").fill("09:30")
    page.get_by_label("Repeats").select_option("weekly")
    page.get_by_role("checkbox", name="Wed").check()
    page.get_by_role("checkbox", name="Mon").check()
    preview = page.locator("#recurrence-preview")
    expect(preview).to_contain_text("Weekly on Monday and Wednesday")
    expect(preview.locator("li")).to_have_count(5)
    expect(preview.locator("li").nth(1)).to_have_text("Wed 6 Mar 2030, 09:30")

    page.get_by_label("Ends").select_option("count")
    page.get_by_label("Number of times").fill("6")
    expect(preview).to_contain_text("6 times")
    page.get_by_label("Before the due date").check()
    page.get_by_label("Remind me", exact=True).fill("15")
    page.screenshot(path=SCREENSHOTS / "task-form.png", full_page=True)

    page.get_by_label("Repeats").select_option("custom")
    page.get_by_label("Rule").fill("FREQ=HOURLY")
    expect(preview).to_contain_text("FREQ=HOURLY is not supported")
    page.get_by_label("Repeats").select_option("monthly_nth")
    expect(preview).to_contain_text("Monthly on the first Monday")

    page.get_by_role("button", name="Create task").click()
    row = session.row("Team sync")
    expect(row.locator(".repeat")).to_contain_text("Monthly on the first Monday")
    session.assert_clean()
    session.context.close()


def test_filter_search_and_sort_are_in_the_url_and_survive_reload(browser, server, expect):
    for title, priority, tags in [
        ("Quarterly report", "high", ["work"]),
        ("Buy milk", "low", ["home"]),
        ("Report bug", "urgent", ["work"]),
        ("Water plants", "medium", ["home", "garden"]),
    ]:
        server.api(
            "carol",
            "POST",
            "/todos",
            json={
                "title": title,
                "priority": priority,
                "tags": tags,
                "due_date": iso(datetime.now(UTC) + timedelta(days=len(title))),
            },
        )
    session = sign_in(browser, server, "carol", viewport={"width": 1100, "height": 900})
    page = session.page
    titles = page.locator("#task-rows .task-title")
    expect(titles).to_have_count(4)

    page.get_by_label("Search").press_sequentially("repo", delay=30)
    expect(page).to_have_url(re.compile(r"/tasks/\?search=repo$"))
    expect(titles).to_have_text(["Report bug", "Quarterly report"])  # by due date

    page.get_by_text("More filters").click()
    page.get_by_label("Urgent").check()
    expect(page).to_have_url(re.compile(r"search=repo&priority=urgent"))
    expect(titles).to_have_text(["Report bug"])
    page.get_by_label("Urgent").uncheck()
    expect(page).to_have_url(re.compile(r"/tasks/\?search=repo$"))
    page.get_by_label("Search").fill("")
    expect(page).to_have_url(re.compile(r"/tasks/$"))
    page.get_by_label("Sort by").select_option("priority")
    expect(page).to_have_url(re.compile(r"/tasks/\?sort_by=priority$"))
    # A priority sort is most urgent first (the default order) unless asked ascending.
    expect(page.get_by_label("Order")).to_have_value("")
    page.get_by_label("Order").select_option("asc")
    expect(page).to_have_url(re.compile(r"/tasks/\?sort_by=priority&order=asc$"))
    expect(titles).to_have_text(["Buy milk", "Water plants", "Quarterly report", "Report bug"])

    page.reload()
    expect(titles).to_have_text(["Buy milk", "Water plants", "Quarterly report", "Report bug"])
    expect(page.get_by_label("Sort by")).to_have_value("priority")
    expect(page.get_by_label("Order")).to_have_value("asc")

    page.go_back()
    expect(page).to_have_url(re.compile(r"/tasks/\?sort_by=priority$"))
    expect(page.get_by_label("Order")).to_have_value("")

    session.row("Water plants").get_by_role("link", name="Tag: garden").click()
    expect(page).to_have_url(re.compile(r"/tasks/\?tag=garden$"))
    expect(titles).to_have_text(["Water plants"])
    expect(page.locator("#filter-tags input[value=garden]")).to_be_checked()
    expect(page.locator("#results-heading")).to_be_focused()
    page.reload()
    expect(titles).to_have_text(["Water plants"])
    session.assert_clean()
    session.context.close()


def test_completing_a_recurring_task_shows_the_next_instance(browser, server, expect):
    due = (datetime.now(UTC) + timedelta(days=1)).replace(hour=7, minute=0, second=0, microsecond=0)
    created = server.api(
        "dave",
        "POST",
        "/todos",
        json={
            "title": "Water the plants",
            "due_date": iso(due),
            "recurrence": "FREQ=DAILY",
        },
    )
    session = sign_in(browser, server, "dave")
    session.wait_live()
    page = session.page
    rows = session.row("Water the plants")
    expect(rows).to_have_count(1)
    rows.get_by_role("button", name="Mark “Water the plants” as done").click()
    expect(page.locator(f"#task-{created['id']}")).to_have_class(re.compile(r"\bis-done\b"))
    # The worker creates the next instance; the push puts it on the list without a reload.
    expect(rows).to_have_count(2)
    following = page.locator("#task-rows > li.task:not(.is-done)").filter(
        has_text="Water the plants"
    )
    expect(following).to_have_count(1)
    next_due = (due + timedelta(days=1)).astimezone(ZoneInfo("Europe/Berlin"))
    expect(following.locator(".due time")).to_have_attribute("datetime", next_due.isoformat())
    session.assert_clean()
    session.context.close()


def test_two_tabs_of_one_account_stay_in_sync(browser, server, expect):
    first = sign_in(browser, server, "erin")
    second = sign_in(browser, server, "erin")
    # Both show every task, so a completed one stays in view (test_live_views: views).
    for tab in (first, second):
        tab.page.goto("/tasks/?status=all")
        tab.wait_live()

    first.page.get_by_label("Quick add a task").fill("Synced task #sync !urgent")
    first.page.get_by_label("Quick add a task").press("Enter")
    expect(first.row("Synced task")).to_have_count(1)
    other = second.row("Synced task")
    expect(other).to_have_count(1, timeout=LIVE_WITHIN_MS)
    expect(other.locator(".chip")).to_have_text(["Tag: sync"])
    expect(second.page.locator("#open-count")).to_contain_text("1")

    first.row("Synced task").get_by_role("button", name=re.compile("as done")).click()
    expect(other).to_have_class(re.compile(r"\bis-done\b"), timeout=LIVE_WITHIN_MS)
    expect(second.page.locator("#open-count")).to_contain_text("0")

    first.row("Synced task").get_by_role("button", name=re.compile("as not done")).click()
    expect(other).not_to_have_class(re.compile(r"\bis-done\b"), timeout=LIVE_WITHIN_MS)

    # Delete through the confirmation dialog, with the keyboard focus where it belongs.
    delete_link = first.row("Synced task").get_by_role("link", name=re.compile("^Delete"))
    delete_link.click()
    dialog = first.page.get_by_role("dialog", name="Delete this task?")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    first.page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(delete_link).to_be_focused()
    delete_link.click()
    dialog.get_by_role("button", name="Delete").click()
    expect(first.row("Synced task")).to_have_count(0)
    expect(other).to_have_count(0, timeout=LIVE_WITHIN_MS)
    first.assert_clean()
    second.assert_clean()
    first.context.close()
    second.context.close()


def test_fragments_older_than_the_page_are_ignored(browser, server, expect):
    session = sign_in(browser, server, "judy")
    page = session.page
    page.get_by_label("Quick add a task").fill("Versioned")
    page.get_by_label("Quick add a task").press("Enter")
    row = session.row("Versioned")
    expect(row).to_have_attribute("data-version", "1")
    row_id = row.get_attribute("id")

    def push(html: str) -> None:
        page.evaluate("html => htmx.swap(document.body, html, {swapStyle: 'none'})", html)

    def fragment(version: int, title: str, oob: str = "true") -> str:
        return (
            f'<li id="{row_id}" class="task" data-version="{version}" hx-swap-oob="{oob}">'
            f'<a class="task-title" href="#">{title}</a></li>'
        )

    push(fragment(1, "Same version"))
    push(fragment(0, "Older version"))
    expect(page.locator(f"#{row_id} .task-title")).to_have_text("Versioned")
    push(fragment(2, "Newer version"))
    expect(page.locator(f"#{row_id} .task-title")).to_have_text("Newer version")
    push(f'<div id="{row_id}" data-version="1" data-deleted hx-swap-oob="delete"></div>')
    expect(page.locator(f"#{row_id}")).to_have_count(1)
    push(f'<div id="{row_id}" data-version="3" data-deleted hx-swap-oob="delete"></div>')
    expect(page.locator(f"#{row_id}")).to_have_count(0)
    # A late "created" for a row deleted meanwhile does not bring it back.
    push(f'<div hx-swap-oob="afterbegin:#task-rows">{fragment(1, "Zombie", "")}</div>')
    expect(page.locator(f"#{row_id}")).to_have_count(0)
    session.assert_clean()
    session.context.close()


def test_reminder_arrives_as_a_toast_and_in_the_badge(browser, server, expect):
    session = sign_in(browser, server, "frank")
    session.wait_live()
    page = session.page
    expect(page.locator("#unread-badge")).to_be_hidden()
    server.api(
        "frank",
        "POST",
        "/todos",
        json={
            "title": "Stretch your legs",
            "reminder_at": iso(datetime.now(UTC) + timedelta(seconds=3)),
        },
    )
    toast = page.locator("#toasts .toast-reminder")
    expect(toast).to_contain_text("Reminder: Stretch your legs", timeout=15_000)
    expect(page.locator("#unread-badge")).to_be_visible()
    expect(page.locator("#unread-badge")).to_contain_text("1")

    toast.get_by_role("link", name="Open task").click()
    expect(page.get_by_label("Title")).to_have_value("Stretch your legs")
    page.get_by_role("link", name=re.compile("^Inbox")).click()
    item = page.locator("#notification-items > li")
    expect(item).to_have_count(1)
    expect(item).to_have_class(re.compile("is-unread"))
    page.screenshot(path=SCREENSHOTS / "inbox.png", full_page=True)
    page.get_by_role("button", name="Mark all read").click()
    expect(item).not_to_have_class(re.compile("is-unread"))
    expect(page.locator("#unread-badge")).to_be_hidden()
    session.assert_clean()
    session.context.close()


def test_script_in_a_title_is_shown_as_text(browser, server, expect):
    first = sign_in(browser, server, "grace")
    second = sign_in(browser, server, "grace")
    first.wait_live()
    second.wait_live()
    title = "<script>alert(1)</script>"
    first.page.get_by_label("Quick add a task").fill(title)
    first.page.get_by_label("Quick add a task").press("Enter")
    for session in (first, second):
        row = session.row(title)
        expect(row).to_have_count(1, timeout=LIVE_WITHIN_MS)
        expect(row.locator(".task-title")).to_have_text(title)
    first.page.reload()
    expect(first.row(title)).to_have_count(1)
    first.page.goto(first.row(title).locator(".task-title").get_attribute("href"))
    expect(first.page.get_by_label("Title")).to_have_value(title)
    for session in (first, second):
        session.assert_clean()
        session.context.close()


def test_list_on_a_laptop_and_at_375_pixels(browser, server, expect):
    for title, extra in [
        (
            "Renew passport before the summer trip",
            {
                "priority": "urgent",
                "tags": ["travel"],
                "due_date": iso(datetime.now(UTC) - timedelta(hours=5)),
            },
        ),
        (
            "Book dentist",
            {
                "priority": "high",
                "tags": ["health"],
                "reminder_offset_minutes": 60,
                "due_date": iso(datetime.now(UTC) + timedelta(days=2)),
            },
        ),
        (
            "Water plants",
            {
                "tags": ["home", "garden"],
                "recurrence": "FREQ=WEEKLY;BYDAY=SA",
                "due_date": iso(datetime.now(UTC) + timedelta(days=3)),
            },
        ),
        ("Read a book", {"priority": "low"}),
    ]:
        server.api("heidi", "POST", "/todos", json={"title": title, **extra})
    desktop = sign_in(browser, server, "heidi", viewport={"width": 1100, "height": 760})
    expect(desktop.page.locator("#task-rows > li")).to_have_count(4)
    expect(desktop.page.get_by_label("Search")).to_be_visible()  # no disclosure on a laptop
    desktop.page.screenshot(path=SCREENSHOTS / "task-list.png", full_page=True)
    desktop.assert_clean()
    desktop.context.close()
    dark = sign_in(
        browser, server, "heidi", viewport={"width": 1100, "height": 760}, color_scheme="dark"
    )
    expect(dark.page.locator("#task-rows > li")).to_have_count(4)
    dark.page.screenshot(path=SCREENSHOTS / "task-list-dark.png", full_page=True)
    dark.assert_clean()
    dark.context.close()

    session = sign_in(
        browser,
        server,
        "heidi",
        viewport={"width": 375, "height": 812},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    page = session.page
    expect(page.locator("#task-rows > li")).to_have_count(4)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    # The header keeps "Log out" on the row of the other links; the filters fold away, so
    # the first task shows without scrolling.
    tasks_link = page.get_by_role("link", name=re.compile("^Tasks")).bounding_box()
    log_out = page.get_by_role("button", name="Log out").bounding_box()
    assert abs(log_out["y"] - tasks_link["y"]) < tasks_link["height"], (tasks_link, log_out)
    assert log_out["height"] <= tasks_link["height"] + 2, (tasks_link, log_out)  # one line
    expect(page.get_by_label("Search")).to_be_hidden()
    first_row = page.locator("#task-rows > li").first.bounding_box()
    assert first_row["y"] + first_row["height"] <= 812, first_row
    page.screenshot(path=SCREENSHOTS / "mobile-list.png", full_page=True)
    page.get_by_text("Filters", exact=True).click()
    expect(page.get_by_label("Search")).to_be_visible()
    page.get_by_text("Filters", exact=True).click()
    page.get_by_label("Quick add a task").fill("Call the bank")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(session.row("Call the bank")).to_have_count(1)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    session.assert_clean()
    session.context.close()


@pytest.mark.redis
def test_live_update_with_web_and_worker_as_separate_processes(browser, tmp_path, expect):
    import redis

    from .conftest import run_server

    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        from tests.conftest import skip_or_fail

        skip_or_fail(f"Redis is not reachable on 127.0.0.1:6379: {exc}")
    import os

    db_index = 1 + os.getpid() % 15
    with run_server(tmp_path, redis_url=f"redis://127.0.0.1:6379/{db_index}") as server:
        first = sign_in(browser, server, "ivan")
        second = sign_in(browser, server, "ivan")
        first.wait_live()
        second.wait_live()
        first.page.get_by_label("Quick add a task").fill("Across processes")
        first.page.get_by_label("Quick add a task").press("Enter")
        expect(second.row("Across processes")).to_have_count(1, timeout=LIVE_WITHIN_MS)
        created = server.api("ivan", "POST", "/todos", json={"title": "From the API"})
        expect(first.row("From the API")).to_have_count(1, timeout=LIVE_WITHIN_MS)
        server.api("ivan", "POST", f"/todos/{created['id']}/complete")
        # Each tab's view is evaluated by its consumer in the web process: the completed
        # task leaves the open list.
        expect(second.row("From the API")).to_have_count(0, timeout=LIVE_WITHIN_MS)
        expect(second.page.locator("#results-heading")).to_have_text("1 task")
        for session in (first, second):
            session.assert_clean()
            session.context.close()
