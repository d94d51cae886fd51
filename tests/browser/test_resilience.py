"""Never a broken page (issue 14): an ended session, a server that stops and comes back,
keyboard focus across swaps, and the quick-add input after a rejected title."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from .conftest import PASSWORD, Server, run_server
from .test_ui import Session

pytestmark = pytest.mark.browser

RECONNECT_WITHIN_MS = 2000


@pytest.fixture
def expect() -> Any:
    from playwright.sync_api import expect

    return expect


def log_in(page: Any, username: str) -> None:
    """Through the form (each test's own session: some of them end it)."""
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def open_list(context: Any, username: str | None = None, *, deaf_socket: bool = False) -> Session:
    page = context.new_page()
    page.set_default_timeout(10_000)
    if deaf_socket:
        # A socket that never hears the server close it, as when a session simply expires
        # (or the close is lost): the page learns of the ended session from its next request.
        page.route_web_socket(re.compile(r"/ws/$"), lambda ws: None)
    page.goto("/tasks/")
    if username:
        log_in(page, username)
        page.wait_for_url("**/tasks/")
    session = Session(context, page)
    session.wait_live()
    return session


def test_an_ended_session_sends_complete_and_quick_add_to_the_login_page_and_back(
    browser, server, expect
):
    server.api("alice", "POST", "/todos", json={"title": "Pay the rent"})
    context = browser.new_context(base_url=server.url)
    first = open_list(context, "alice")
    for action in ("complete", "quick add"):
        other = open_list(context, deaf_socket=True)
        first.page.get_by_role("button", name="Log out").click()
        expect(first.page).to_have_url(re.compile(r"/accounts/login/$"))
        if action == "complete":
            other.row("Pay the rent").get_by_role("button", name=re.compile("as done")).click()
        else:
            other.page.get_by_label("Quick add a task").fill("Buy milk")
            other.page.get_by_label("Quick add a task").press("Enter")
        expect(other.page).to_have_url(re.compile(r"/accounts/login/\?next=/tasks/$"))
        expect(other.page.locator("#task-rows")).to_have_count(0)
        log_in(other.page, "alice")
        expect(other.page).to_have_url(re.compile(r"/tasks/$"))
        expect(other.row("Pay the rent")).not_to_have_class(re.compile(r"\bis-done\b"))
        expect(other.row("Buy milk")).to_have_count(0)
        other.assert_clean()
        first.page.goto("/tasks/")  # signed in again by the other tab
        first.wait_live()
        other.page.close()
    context.close()


def test_a_socket_closed_by_a_sign_out_sends_the_page_to_the_login_page(browser, server, expect):
    context = browser.new_context(base_url=server.url)
    first = open_list(context, "bob")
    first.page.goto("/notifications/?page=1")
    first.wait_live()
    second = open_list(context)
    second.page.get_by_role("button", name="Log out").click()
    # 4403 (SIGNED_OUT) on the first tab's socket: it leaves the inbox for the login page.
    expect(first.page).to_have_url(
        re.compile(r"/accounts/login/\?next=/notifications/%3Fpage%3D1$")
    )
    first.assert_clean()
    context.close()


def test_a_server_restart_shows_offline_errors_with_retry_and_reconnects(browser, tmp_path, expect):
    with run_server(tmp_path) as server:
        created = server.api("carol", "POST", "/todos", json={"title": "Call the bank"})
        context = browser.new_context(base_url=server.url)
        session = open_list(context, "carol")
        page = session.page
        banner = page.locator("#offline-banner")
        expect(banner).to_be_hidden()
        # The socket must be up before the server goes away (a slow machine may still be
        # connecting, and a socket that never opened is not "offline").
        expect(page.locator("html")).to_have_attribute("data-live", "open", timeout=15_000)

        server.stop_web()
        expect(banner).to_be_visible(timeout=15_000)
        expect(banner).to_contain_text("Offline")
        expect(page.locator("html")).to_have_attribute("data-live", "closed")

        row = session.row("Call the bank")
        row.get_by_role("button", name=re.compile("as done")).click()
        toast = page.locator("#toasts .toast-error")
        expect(toast).to_have_count(1)
        expect(toast).to_contain_text("Couldn't reach the server")
        expect(toast.get_by_role("button", name="Retry")).to_be_visible()
        expect(row).not_to_have_class(re.compile(r"\bis-done\b"))

        quick_add = page.get_by_label("Quick add a task")
        quick_add.fill("Written while offline")
        quick_add.press("Enter")
        expect(toast).to_have_count(1)  # the newest failure replaces the last
        expect(toast).to_contain_text("Couldn't reach the server")
        expect(quick_add).to_have_value("Written while offline")

        server.start_web()
        started = time.monotonic()
        expect(page.locator("html")).to_have_attribute(
            "data-live", "open", timeout=RECONNECT_WITHIN_MS
        )
        reconnect_ms = (time.monotonic() - started) * 1000
        print(f"socket back {reconnect_ms:.0f} ms after the server was healthy")
        expect(banner).to_be_hidden()

        toast.get_by_role("button", name="Retry").click()
        expect(session.row("Written while offline")).to_have_count(1)
        expect(quick_add).to_have_value("")
        expect(toast).to_have_count(0)
        row.get_by_role("button", name=re.compile("as done")).click()
        expect(page.locator(f"#task-{created['id']}")).to_have_class(re.compile(r"\bis-done\b"))
        # The only errors logged were the failed connections (by the browser, and by htmx).
        expected = re.compile(
            r"ERR_CONNECTION_REFUSED|^console: (\[object Event\]|htmx:sendError|htmx:afterRequest)"
        )
        assert all(expected.search(error) for error in session.errors), session.errors

        # A socket that reconnects without a session (4401, UNAUTHENTICATED) goes to login.
        context.clear_cookies()
        server.stop_web()
        expect(banner).to_be_visible()
        server.start_web()
        expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/tasks/$"))
        context.close()


def list_with_a_task(browser: Any, server: Server, username: str, title: str) -> Session:
    server.api(username, "POST", "/todos", json={"title": title})
    return open_list(browser.new_context(base_url=server.url), username)


def test_a_request_in_flight_shows_as_pending(browser, server, expect):
    session = list_with_a_task(browser, server, "dave", "Slow one")
    page = session.page
    held: list[Any] = []
    page.route(re.compile(r"/complete/$"), lambda route: held.append(route))
    row = session.row("Slow one")
    check = row.get_by_role("button", name=re.compile("as done"))
    check.click()
    expect(row.locator("form.task-toggle")).to_have_class(re.compile(r"\bhtmx-request\b"))
    expect(check).to_be_disabled()
    assert (
        page.evaluate("getComputedStyle(document.querySelector('.task .check')).cursor")
        == "progress"
    )
    held[0].continue_()
    expect(row).to_have_class(re.compile(r"\bis-done\b"))
    expect(row.locator("form.task-toggle")).not_to_have_class(re.compile(r"\bhtmx-request\b"))
    session.assert_clean()
    session.context.close()


def test_keyboard_focus_stays_on_the_row_after_complete_and_reopen(browser, server, expect):
    session = list_with_a_task(browser, server, "erin", "Focus me")
    page = session.page
    row = session.row("Focus me")
    row.get_by_role("button", name=re.compile("as done")).focus()
    page.keyboard.press("Space")
    expect(row).to_have_class(re.compile(r"\bis-done\b"))
    expect(row.get_by_role("button", name=re.compile("as not done"))).to_be_focused()
    page.keyboard.press("Enter")
    expect(row).not_to_have_class(re.compile(r"\bis-done\b"))
    expect(row.get_by_role("button", name=re.compile("as done"))).to_be_focused()
    session.assert_clean()
    session.context.close()


def test_a_push_during_the_request_leaves_one_row_and_the_focus_on_it(browser, server, expect):
    session = list_with_a_task(browser, server, "grace", "Raced")
    page = session.page
    held: list[Any] = []
    page.route(re.compile(r"/complete/$"), lambda route: held.append(route))
    row = session.row("Raced")
    task_id = int(row.get_attribute("id").removeprefix("task-"))
    row.get_by_role("button", name=re.compile("as done")).focus()
    page.keyboard.press("Space")
    expect(row.locator("form.task-toggle")).to_have_class(re.compile(r"\bhtmx-request\b"))
    server.api("grace", "POST", f"/todos/{task_id}/complete")  # another tab, say
    expect(row).to_have_class(re.compile(r"\bis-done\b"))  # the push replaced the row
    held[0].continue_()
    expect(row.locator("form.task-toggle")).not_to_have_class(re.compile(r"\bhtmx-request\b"))
    expect(session.row("Raced")).to_have_count(1)
    expect(row.get_by_role("button", name=re.compile("as not done"))).to_be_focused()
    session.assert_clean()
    session.context.close()


def test_a_valid_quick_add_after_a_rejected_one_empties_the_input(browser, server, expect):
    context = browser.new_context(base_url=server.url)
    session = open_list(context, "frank")
    page = session.page
    quick_add = page.get_by_label("Quick add a task")
    quick_add.fill("x" * 260)
    quick_add.press("Enter")
    expect(page.locator("#quick-add-error")).to_be_visible()
    quick_add.fill("A short title")
    quick_add.press("Enter")
    expect(session.row("A short title")).to_have_count(1)
    expect(quick_add).to_have_value("")
    expect(page.locator("#quick-add-error")).to_have_count(0)
    # The browser logs the rejected title's 422 itself; nothing else went wrong.
    assert [error for error in session.errors if "status of 422" not in error] == []
    context.close()
