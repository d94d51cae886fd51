"""Tag management in Chromium (issue 14): rename, merge, colour and delete on the tags
page, with an open list tab following live; the filter's tag search without JavaScript."""

from __future__ import annotations

import re

import pytest

from .test_ui import _states, sign_in

pytestmark = pytest.mark.browser


def test_rename_merge_colour_and_delete_reach_an_open_list_live(browser, server):
    from playwright.sync_api import expect

    server.api("carol", "POST", "/todos", json={"title": "Report", "tags": ["wrk", "q3"]})
    server.api("carol", "POST", "/todos", json={"title": "Invoice", "tags": ["work"]})
    lister = sign_in(browser, server, "carol")
    manager = sign_in(browser, server, "carol")
    page = manager.page
    page.goto("/tasks/tags/")

    def save(name: str, new_name: str | None = None, colour: str | None = None) -> None:
        item = page.locator(".tag-item", has=page.get_by_label(f"Name of “{name}”"))
        if new_name is not None:
            item.get_by_label(f"Name of “{name}”").fill(new_name)
        if colour is not None:
            item.get_by_label(f"Colour of “{name}”").select_option(colour)
        item.get_by_role("button", name=re.compile("^Save")).click()

    save("q3", new_name="Q3 goals", colour="purple")
    expect(page.locator("#toasts")).to_contain_text("Renamed “q3” to “Q3 goals” (1 task changed).")
    expect(lister.row("Report").locator(".chip", has_text="Q3 goals")).to_have_count(1)

    save("wrk", new_name="Work")  # "work" exists: a merge, asked first
    expect(page.get_by_role("heading", name="Merge “wrk” into “work”?")).to_be_visible()
    page.get_by_role("button", name="Merge").click()
    expect(page.locator("#toasts")).to_contain_text("Merged “wrk” into “work” (1 task changed).")
    expect(lister.row("Report").locator(".chip", has_text=re.compile("^Tag: work$"))).to_have_count(
        1
    )
    expect(page.get_by_label("Name of “wrk”")).to_have_count(0)

    save("work", colour="teal")
    lister.page.reload()
    chip = lister.row("Invoice").locator(".chip")
    expect(chip).to_have_class(re.compile(r"\btag-teal\b"))

    page.locator(".tag-item", has=page.get_by_label("Name of “work”")).get_by_role(
        "link", name=re.compile("^Delete")
    ).click()
    expect(page.get_by_role("heading", name="Delete the tag “work”?")).to_be_visible()
    page.get_by_role("button", name="Delete tag").click()
    expect(page.locator("#toasts")).to_contain_text("Deleted the tag “work” (2 tasks changed).")
    expect(lister.row("Invoice").locator(".chip")).to_have_count(0)
    lister.assert_clean()
    manager.assert_clean()
    lister.context.close()
    manager.context.close()


def test_the_filter_offers_top_tags_and_a_search_that_works_without_javascript(browser, server):
    from playwright.sync_api import expect

    for i in range(10):
        tags = [f"t{j}" for j in range(i + 1)]  # t0 is the most used, t9 the least
        server.api("dave", "POST", "/todos", json={"title": f"Task {i}", "tags": tags})
    sign_in(browser, server, "dave").context.close()
    context = browser.new_context(
        base_url=server.url, storage_state=_states[(server.url, "dave")], java_script_enabled=False
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto("/tasks/")
    page.get_by_text("More filters").click()
    chips = page.locator("#filter-tags label.chip-toggle")
    expect(chips).to_have_count(8)
    expect(chips.filter(has_text=re.compile(r"^\s*t9\b"))).to_have_count(0)
    page.get_by_label("Other tag").fill("t9")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#task-rows > li.task")).to_have_count(1)
    expect(page.locator("#task-rows .task-title")).to_have_text("Task 9")
    expect(chips.filter(has_text=re.compile(r"^\s*t9\b")).locator("input")).to_be_checked()
    context.close()
