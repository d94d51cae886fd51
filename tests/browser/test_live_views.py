"""Live pushes follow each tab's view (tasks/live.py): several contexts on one account,
each showing another list, in Debian's Chromium against a real daphne."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from .test_resilience import log_in
from .test_ui import LIVE_WITHIN_MS, Session, iso, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def expect() -> Any:
    from playwright.sync_api import expect

    return expect


def show(session: Session, view: str) -> Session:
    session.page.goto(f"/tasks/{view}")
    session.wait_live()
    return session


def heading(session: Session) -> Any:
    return session.page.locator("#results-heading")


def quick_add(session: Session, text: str) -> None:
    field = session.page.get_by_label("Quick add a task")
    field.fill(text)
    field.press("Enter")


def test_each_tab_shows_a_change_only_where_its_view_has_it(browser, server, expect):
    adder = show(sign_in(browser, server, "alice"), "")
    same = show(sign_in(browser, server, "alice"), "")
    done = show(sign_in(browser, server, "alice"), "?status=completed")
    search = show(sign_in(browser, server, "alice"), "?search=milk")
    tabs = (adder, same, done, search)

    # Added in one tab: the other open list takes it, the other views do not.
    quick_add(adder, "Bread")
    expect(adder.row("Bread")).to_have_count(1)
    expect(same.row("Bread")).to_have_count(1, timeout=LIVE_WITHIN_MS)
    expect(heading(same)).to_have_text("1 task")
    for tab in (done, search):
        expect(heading(tab)).to_have_text("No tasks")
        expect(tab.row("Bread")).to_have_count(0)
        expect(tab.page.locator("#open-count")).to_contain_text("1")  # the header still moves
    quick_add(adder, "Buy milk")
    expect(search.row("Buy milk")).to_have_count(1, timeout=LIVE_WITHIN_MS)
    expect(heading(search)).to_have_text("1 task")
    expect(heading(same)).to_have_text("2 tasks")
    expect(done.row("Buy milk")).to_have_count(0)

    # Completed in one tab: it leaves the other open list, and arrives in Completed. The
    # tab that completed it keeps its row, done, where the click can be undone.
    same.row("Bread").get_by_role("button", name=re.compile("as done")).click()
    expect(done.row("Bread")).to_have_count(1, timeout=LIVE_WITHIN_MS)
    expect(done.row("Bread")).to_have_class(re.compile(r"\bis-done\b"))
    expect(heading(done)).to_have_text("1 task")
    expect(adder.row("Bread")).to_have_count(0, timeout=LIVE_WITHIN_MS)
    expect(heading(adder)).to_have_text("1 task")
    expect(same.row("Bread")).to_have_class(re.compile(r"\bis-done\b"))
    expect(heading(same)).to_have_text("1 task")

    # Renamed elsewhere so that the search no longer finds it: it moves out of that view.
    milk = search.row("Buy milk").get_attribute("id").removeprefix("task-")
    server.api("alice", "PATCH", f"/todos/{milk}", json={"title": "Buy oat drink"})
    expect(search.row("Buy milk")).to_have_count(0, timeout=LIVE_WITHIN_MS)
    expect(heading(search)).to_have_text("No tasks")
    expect(search.page.locator(".empty-state")).to_contain_text("No task matches these filters")
    expect(adder.row("Buy oat drink")).to_have_count(1, timeout=LIVE_WITHIN_MS)

    # Added while viewing Completed: a toast with a link, no row; the open lists take it.
    quick_add(done, "Eggs")
    toast = done.page.locator("#toasts .toast", has_text="Added: Eggs")
    expect(toast).to_be_visible()
    expect(toast.get_by_role("link", name="Open task")).to_have_attribute(
        "href", re.compile(r"^/tasks/\d+/edit/$")
    )
    expect(done.row("Eggs")).to_have_count(0)
    expect(heading(done)).to_have_text("1 task")
    expect(adder.row("Eggs")).to_have_count(1, timeout=LIVE_WITHIN_MS)
    expect(heading(adder)).to_have_text("2 tasks")
    for tab in tabs:
        tab.assert_clean()
        tab.context.close()


def test_a_sorted_list_puts_a_pushed_task_in_its_place_and_pages_keep_their_counts(
    browser, server, expect
):
    for index in range(26):
        server.api("bob", "POST", "/todos", json={"title": f"Task {index:02d}"})
    first = show(sign_in(browser, server, "bob"), "?sort_by=title")
    second_page = show(sign_in(browser, server, "bob"), "?sort_by=title&page=2")
    expect(heading(first)).to_contain_text("26 tasks")
    expect(second_page.page.locator("#task-rows > li.task")).to_have_count(1)

    # "A first" sorts first: it goes to the top of page 1, and page 1's last row moves on
    # to page 2, whose counts follow.
    server.api("bob", "POST", "/todos", json={"title": "A first"})
    titles = first.page.locator("#task-rows > li.task .task-title")
    expect(titles.first).to_have_text("A first", timeout=LIVE_WITHIN_MS)
    expect(titles).to_have_count(25)
    expect(heading(first)).to_contain_text("27 tasks")
    expect(heading(first)).to_contain_text("showing 1\u201325")
    page_two = second_page.page.locator("#task-rows > li.task .task-title")
    expect(page_two).to_have_text(["Task 24", "Task 25"], timeout=LIVE_WITHIN_MS)
    expect(heading(second_page)).to_contain_text("showing 26\u201327")
    expect(second_page.page.locator(".pagination")).to_contain_text("Page 2 of 2")
    for tab in (first, second_page):
        tab.assert_clean()
        tab.context.close()


def test_marking_a_notification_read_updates_the_inbox_row_in_another_tab(browser, server, expect):
    for seconds in (2, 3):
        server.api(
            "carol",
            "POST",
            "/todos",
            json={
                "title": f"Reminder in {seconds}s",
                "reminder_at": iso(datetime.now(UTC) + timedelta(seconds=seconds)),
            },
        )
    # Both reminders fired before the inbox pages load: a notification created between a
    # page's render and its socket's opening would reach that tab only on reload.
    deadline = datetime.now(UTC) + timedelta(seconds=20)
    while server.api("carol", "GET", "/notifications")["count"] < 2:
        assert datetime.now(UTC) < deadline, "the two reminders did not fire"
        time.sleep(0.2)
    reader, watcher = (show(sign_in(browser, server, "carol"), "") for _ in range(2))
    for tab in (reader, watcher):
        tab.page.goto("/notifications/")
        tab.wait_live()
        expect(tab.page.locator("#notification-items > li")).to_have_count(2, timeout=15_000)
    rows = watcher.page.locator("#notification-items > li.is-unread")
    expect(rows).to_have_count(2)

    reader.page.locator("#notification-items > li").first.get_by_role(
        "button", name=re.compile("^Mark read")
    ).click()
    expect(rows).to_have_count(1, timeout=LIVE_WITHIN_MS)
    expect(watcher.page.locator("#unread-badge")).to_contain_text("1")
    reader.page.get_by_role("button", name="Mark all read").click()
    expect(rows).to_have_count(0, timeout=LIVE_WITHIN_MS)
    expect(watcher.page.get_by_role("button", name=re.compile("^Mark read"))).to_have_count(0)
    expect(watcher.page.locator("#unread-badge")).to_be_hidden()
    for tab in (reader, watcher):
        tab.assert_clean()
        tab.context.close()


def test_a_time_that_happens_twice_is_asked_without_javascript(browser, server, expect):
    context = browser.new_context(base_url=server.url, java_script_enabled=False)
    page = context.new_page()
    page.goto("/accounts/login/")
    log_in(page, "dave")
    page.goto("/tasks/new/")
    page.get_by_label("Title").fill("Night shift")
    page.get_by_label("Date", exact=True).fill("2027-10-31")
    page.get_by_label("Time (optional)").fill("02:30")  # Berlin falls back at 03:00
    page.get_by_role("button", name=re.compile("^(Create|Save)")).click()
    expect(
        page.locator(".field-error", has_text="02:30 happens twice on 31 October 2027")
    ).to_be_visible()
    page.get_by_label("02:30 CET (the second)").check()
    page.get_by_role("button", name=re.compile("^(Create|Save)")).click()
    expect(page).to_have_url(re.compile(r"/tasks/$"))
    (task,) = server.api("dave", "GET", "/todos?search=night")["items"]
    assert task["due_date"].startswith("2027-10-31T01:30:00")  # 02:30 CET is 01:30 UTC

    page.goto("/tasks/?page=999")  # past the end: the last page, not an empty one
    expect(page).to_have_url(re.compile(r"/tasks/$"))
    expect(page.locator("#results-heading")).to_have_text("1 task")
    expect(page.get_by_text("Add your first task above")).to_be_hidden()
    context.close()
