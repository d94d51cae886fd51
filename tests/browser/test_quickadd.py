"""Natural-language quick add in Debian's Chromium (issue 14): the highlight as you type,
"keep as text" and "use as date", and the task that lands in the list with its due date
and "Repeats" summary; the same line without JavaScript."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.live_server import PASSWORD, TIMEZONE

from .test_ui import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def expect():
    from playwright.sync_api import expect

    return expect


def type_line(session, text):
    box = session.page.get_by_label("Quick add a task")
    box.fill("")
    box.press_sequentially(text, delay=10)
    return box


def test_a_repeat_is_highlighted_and_lands_with_its_summary(browser, server, expect):
    session = sign_in(browser, server, "alice")
    page = session.page
    type_line(session, "every weekday at 9:30 standup")
    preview = page.locator("#quick-add-preview")
    expect(preview.locator("mark.qa-applied")).to_have_text(["every weekday", "at 9:30"])
    expect(preview.locator(".quick-add-summary")).to_contain_text("Repeats Every weekday")
    page.get_by_label("Quick add a task").press("Enter")

    row = session.row("standup")
    expect(row).to_have_count(1)
    expect(row.locator(".repeat")).to_have_text("Every weekday")
    expect(row.locator(".due time")).to_have_attribute(
        "datetime", re.compile(r"T09:30:00\+0[12]:00$")
    )
    expect(page.get_by_label("Quick add a task")).to_have_value("")
    expect(preview).to_be_hidden()
    session.assert_clean()
    session.context.close()


@pytest.mark.parametrize(
    ("line", "title", "highlighted", "summary"),
    [
        (
            "Pay rent every month on the 1st",
            "Pay rent",
            ["every month on the 1st"],
            "Monthly on day 1",
        ),
        ("Water plants every 3 days", "Water plants", ["every 3 days"], "Every 3 days"),
        (
            "Gym every Monday and Wednesday at 7am !high",
            "Gym",
            ["every Monday and Wednesday", "at 7am", "!high"],
            "Weekly on Monday and Wednesday",
        ),
    ],
)
def test_golden_phrases_through_the_ui(browser, server, expect, line, title, highlighted, summary):
    session = sign_in(browser, server, "frank")
    type_line(session, line)
    expect(session.page.locator("#quick-add-preview mark.qa-applied")).to_have_text(highlighted)
    session.page.get_by_label("Quick add a task").press("Enter")
    row = session.row(title)
    expect(row.locator(".repeat")).to_have_text(summary)
    expect(row.locator(".due time")).to_have_count(1)
    session.assert_clean()
    session.context.close()


def test_tomorrow_at_a_time(browser, server, expect):
    session = sign_in(browser, server, "bob")
    type_line(session, "Call mom tomorrow 5pm #family")
    expect(session.page.locator("#quick-add-preview .quick-add-summary")).to_contain_text(
        "Due Tomorrow 17:00"
    )
    session.page.get_by_label("Quick add a task").press("Enter")
    row = session.row("Call mom")
    expect(row.locator(".due time")).to_have_text("Tomorrow 17:00")
    expect(row.locator(".chip")).to_have_text(["Tag: family"])
    session.assert_clean()
    session.context.close()


def test_keep_as_text_and_use_as_date(browser, server, expect):
    session = sign_in(browser, server, "carol")
    page = session.page
    type_line(session, "The 5th Wave")
    offered = page.locator("#quick-add-preview mark.qa-offered")
    expect(offered).to_have_text("The 5th")
    expect(page.get_by_role("button", name="Use “The 5th” as the date")).to_be_visible()
    page.get_by_label("Quick add a task").press("Enter")
    expect(session.row("The 5th Wave")).to_have_count(1)
    expect(session.row("The 5th Wave").locator(".due")).to_have_count(0)

    type_line(session, "Dentist tomorrow at 10")
    page.get_by_role("button", name="Keep “tomorrow” as text").click()
    expect(page.locator("#quick-add-preview mark.qa-applied")).to_have_text(["at 10"])
    page.get_by_label("Quick add a task").press("Enter")
    row = session.row("Dentist tomorrow")
    expect(row.locator(".due time")).to_have_text(re.compile(r"^(Today|Tomorrow) 10:00$"))

    # The choice went with that line: the next one reads "tomorrow" again.
    type_line(session, "Pay rent tomorrow")
    expect(page.locator("#quick-add-preview mark.qa-applied")).to_have_text(["tomorrow"])
    session.assert_clean()
    session.context.close()


def test_a_time_that_happens_twice_asks_which(browser, server, expect):
    session = sign_in(browser, server, "erin")
    page = session.page
    type_line(session, "Night shift 31 Oct 2027 at 2:30")
    expect(page.locator("#quick-add-preview .quick-add-problem")).to_have_text(
        "02:30 happens twice on 31 October 2027 in Europe/Berlin: choose which."
    )
    expect(page.locator("#quick-add-preview mark.qa-applied")).to_have_text(
        ["31 Oct 2027", "at 2:30"]
    )
    page.get_by_label("Quick add a task").press("Enter")
    expect(page.locator("#quick-add-error")).to_contain_text("happens twice")
    expect(page.locator("#quick-add-preview .quick-add-problem")).to_have_count(0)
    page.get_by_role("button", name="02:30 CET (the second)").click()
    row = session.row("Night shift")
    expect(row.locator(".due time")).to_have_attribute("datetime", "2027-10-31T02:30:00+01:00")
    # The refused submit is the one failed request the console reports.
    assert session.errors == [
        "console: Failed to load resource: the server responded with a status of 422"
        " (Unknown Status)"
    ]
    session.context.close()


def test_without_javascript_the_server_reads_the_line(browser, server, expect):
    context = browser.new_context(base_url=server.url, java_script_enabled=False)
    page = context.new_page()
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("dave")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_label("Quick add a task").fill("Review every 3rd Friday at 14:00")
    page.get_by_role("button", name="Add", exact=True).click()
    row = page.locator("#task-rows > li.task").filter(has_text="Review")
    expect(row.locator(".task-title")).to_have_text("Review")
    expect(row.locator(".repeat")).to_have_text("Monthly on the third Friday")
    due = datetime.fromisoformat(row.locator(".due time").get_attribute("datetime"))
    local = due.astimezone(ZoneInfo(TIMEZONE))
    assert (local.weekday(), (local.day - 1) // 7, local.hour) == (4, 2, 14)
    assert local - datetime.now(ZoneInfo(TIMEZONE)) < timedelta(days=36)

    page.get_by_label("Quick add a task").fill("Dinner tomorrow at 8pm")
    page.get_by_label("Keep dates as text").check()
    page.get_by_role("button", name="Add", exact=True).click()
    row = page.locator("#task-rows > li.task").filter(has_text="Dinner")
    expect(row.locator(".task-title")).to_have_text("Dinner tomorrow at 8pm")
    expect(row.locator(".due")).to_have_count(0)
    context.close()
