"""Undo from the toast in Chromium (issue 14): a completion and a deletion are undone in
this tab, the other tab follows by the usual pushes, and without JavaScript the Undo form
is on the page the form returned to."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from .test_ui import _states, sign_in

pytestmark = pytest.mark.browser


def test_undo_a_completion_and_a_deletion_with_a_second_tab_following(browser, server):
    from playwright.sync_api import expect

    due = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    server.api("alice", "POST", "/todos", json={"title": "Pay rent", "tags": ["home"]})
    server.api(
        "alice",
        "POST",
        "/todos",
        json={"title": "Water plants", "due_date": due, "recurrence": "FREQ=DAILY"},
    )
    first = sign_in(browser, server, "alice")
    second = sign_in(browser, server, "alice")

    # Completing a repeating task spawns its next instance; Undo reopens it and removes
    # the untouched instance again, in both tabs.
    first.row("Water plants").get_by_role("button", name=re.compile("as done")).click()
    expect(first.row("Water plants")).to_have_count(2)  # the done one and its next repeat
    # The other tab shows the open list: the done one leaves it (tasks.live), its next
    # repeat comes in.
    expect(second.row("Water plants")).to_have_count(1)
    expect(second.row("Water plants")).not_to_have_class(re.compile("is-done"))
    toast = first.page.locator("[data-undo-toast]", has_text="Completed “Water plants”.")
    toast.get_by_role("button", name=re.compile("^Undo")).click()
    expect(toast).to_have_count(0)
    expect(first.page.locator("#toasts")).to_contain_text("Reopened “Water plants”.")
    for tab in (first, second):
        expect(tab.row("Water plants")).to_have_count(1)
        expect(tab.row("Water plants")).not_to_have_class(re.compile("is-done"))

    # Delete through the dialog, then Undo: the row comes back with its tag in both tabs.
    first.row("Pay rent").get_by_role("link", name=re.compile("^Delete")).click()
    dialog = first.page.get_by_role("dialog", name="Delete this task?")
    expect(dialog).to_contain_text("You can undo this")
    dialog.get_by_role("button", name="Delete").click()
    for tab in (first, second):
        expect(tab.row("Pay rent")).to_have_count(0)
    toast = first.page.locator("[data-undo-toast]", has_text="Deleted “Pay rent”.")
    toast.get_by_role("button", name=re.compile("^Undo")).click()
    for tab in (first, second):
        expect(tab.row("Pay rent")).to_have_count(1)
        expect(tab.row("Pay rent").locator(".chip")).to_have_text("Tag: home")
    expect(first.page.locator("#toasts")).to_contain_text("Restored “Pay rent”.")

    # A second Undo of the same completion is refused with the reason, not a bare status.
    first.row("Pay rent").get_by_role("button", name=re.compile("as done")).click()
    toast = first.page.locator("[data-undo-toast]", has_text="Completed “Pay rent”.")
    expect(toast).to_have_count(1)
    server.api("alice", "POST", f"/todos/{_id(first.row('Pay rent'))}/reopen")
    toast.get_by_role("button", name=re.compile("^Undo")).click()
    expect(first.page.locator(".toast-error")).to_contain_text("can no longer be undone")
    # The browser logs the refused request itself; nothing else may have gone wrong.
    assert [e for e in first.errors if "409" not in e] == []
    second.assert_clean()
    first.context.close()
    second.context.close()


def _id(row) -> int:
    return int(row.get_attribute("id").removeprefix("task-"))


def test_without_javascript_undo_is_a_form_on_the_returned_page(browser, server):
    from playwright.sync_api import expect

    server.api("bob", "POST", "/todos", json={"title": "Plain page"})
    sign_in(browser, server, "bob").context.close()  # signs in (with JavaScript) once
    context = browser.new_context(
        base_url=server.url, storage_state=_states[(server.url, "bob")], java_script_enabled=False
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto("/tasks/")
    row = _row(page, "Plain page")
    row.get_by_role("link", name=re.compile("^Delete")).click()
    page.get_by_role("button", name="Delete").click()
    expect(page).to_have_url(re.compile(r"/tasks/$"))
    expect(_row(page, "Plain page")).to_have_count(0)
    page.locator("[data-undo-toast]").get_by_role("button", name=re.compile("^Undo")).click()
    expect(_row(page, "Plain page")).to_have_count(1)
    expect(page.locator("#toasts")).to_contain_text("Restored “Plain page”.")

    _row(page, "Plain page").get_by_role("button", name=re.compile("as done")).click()
    toast = page.locator("[data-undo-toast]", has_text="Completed “Plain page”.")
    toast.get_by_role("button", name=re.compile("^Undo")).click()
    expect(page.locator("#toasts")).to_contain_text("Reopened “Plain page”.")
    expect(_row(page, "Plain page")).not_to_have_class(re.compile("is-done"))
    page.reload()
    expect(page.locator("[data-undo-toast]")).to_have_count(0)  # an offer is shown once
    context.close()


def _row(page, title: str):
    return page.locator("#task-rows > li.task", has=page.locator(".task-title", has_text=title))
