"""The keyboard shortcuts in Chromium (issue 14): the list worked with the keyboard alone,
the help dialog, and nothing fires while typing."""

from __future__ import annotations

import re

import pytest

from .test_ui import sign_in

pytestmark = pytest.mark.browser


def focused_row_title(page) -> str:
    return page.evaluate(
        "(() => { const row = document.activeElement.closest('li.task');"
        " return row ? row.querySelector('.task-title').textContent : null; })()"
    )


def test_the_list_with_the_keyboard_alone(browser, server):
    from playwright.sync_api import expect

    for title in ("First", "Second", "Third"):  # listed in this order (by id)
        server.api("erin", "POST", "/todos", json={"title": title})
    session = sign_in(browser, server, "erin")
    page = session.page
    keyboard = page.keyboard
    expect(page.get_by_role("button", name=re.compile("Keyboard shortcuts"))).to_have_attribute(
        "aria-keyshortcuts", "Shift+?"
    )

    # "?" opens the help: a modal dialog that keeps the focus and closes on Escape.
    keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Close")).to_be_focused()
    expect(dialog.get_by_role("row")).to_have_count(11)  # a heading row and ten shortcuts
    keyboard.press("Tab")
    expect(dialog.get_by_role("button", name="Close")).to_be_focused()  # the only control
    keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    # "q" goes to quick add, where letters are text, not shortcuts.
    keyboard.press("q")
    quick_add = page.get_by_label("Quick add a task")
    expect(quick_add).to_be_focused()
    keyboard.type("Call Jo x/ejk")
    expect(quick_add).to_have_value("Call Jo x/ejk")
    keyboard.press("Enter")
    expect(session.row("Call Jo x/ejk")).to_have_count(1)
    page.evaluate("document.activeElement.blur()")

    # j/k and the arrows move between tasks, in the list's order (undated ones by id: the
    # quick-added task comes in where the view has it, last).
    keyboard.press("j")
    assert focused_row_title(page) == "First"
    keyboard.press("j")
    keyboard.press("j")
    assert focused_row_title(page) == "Third"
    keyboard.press("k")
    assert focused_row_title(page) == "Second"
    keyboard.press("ArrowDown")
    keyboard.press("ArrowUp")
    assert focused_row_title(page) == "Second"

    # x completes the focused task, the focus stays in its row, z undoes it.
    keyboard.press("x")
    expect(session.row("Second")).to_have_class(re.compile(r"\bis-done\b"))
    # (the push may show it done before this tab's own answer brings the Undo offer)
    expect(page.locator("[data-undo-toast]", has_text="Completed “Second”.")).to_have_count(1)
    assert focused_row_title(page) == "Second"
    keyboard.press("z")
    expect(session.row("Second")).not_to_have_class(re.compile(r"\bis-done\b"))
    # Space on the focused title completes too.
    focus_title = session.row("Second").locator(".task-title")
    focus_title.focus()
    keyboard.press(" ")
    expect(session.row("Second")).to_have_class(re.compile(r"\bis-done\b"))

    # "#" asks before deleting; Escape keeps the task, Delete then confirming removes it.
    session.row("Third").locator(".task-title").focus()
    keyboard.press("#")
    confirm = page.get_by_role("dialog", name="Delete this task?")
    expect(confirm).to_be_visible()
    keyboard.press("j")  # a dialog is open: no shortcut behind it
    keyboard.press("Escape")
    expect(confirm).to_be_hidden()
    expect(session.row("Third")).to_have_count(1)
    keyboard.press("Delete")
    expect(confirm).to_be_visible()
    confirm.get_by_role("button", name="Delete").focus()
    keyboard.press("Enter")
    expect(session.row("Third")).to_have_count(0)

    # "/" goes to the search; e (on a row) opens the task's form.
    keyboard.press("/")
    expect(page.get_by_label("Search")).to_be_focused()
    page.evaluate("document.activeElement.blur()")
    keyboard.press("j")
    keyboard.press("e")
    expect(page).to_have_url(re.compile(r"/tasks/\d+/edit/$"))
    session.assert_clean()
    session.context.close()
