"""axe-core over every page, in light and dark (issue 14): no violations, no missing file,
every page compressed.

axe-core is a pinned devDependency in static/package.json (installed by `make setup`),
injected by the test; the app never serves it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.notifications.push_service import PRIVATE_KEY
from tests.notifications.receiver import Receiver

from .conftest import PASSWORD, Server, run_server

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[2] / "static" / "node_modules" / "axe-core" / "axe.min.js"
USER = "alice"
DARK_BACKGROUND = "rgb(15, 19, 26)"


@pytest.fixture(scope="module")
def server(chromium_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # One sign-up an hour from an address: the second attempt is answered by the 429 page.
    # Web push on, so the settings page shows its Push reminders card; webhooks may reach
    # the receiver on 127.0.0.1.
    overrides = {
        "RATE_LIMIT_SIGNUPS": "1/hour",
        "WEBPUSH_VAPID_PRIVATE_KEY": PRIVATE_KEY,
        "WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true",
    }
    with run_server(tmp_path_factory.mktemp("axe"), env_overrides=overrides) as running:
        yield running


def axe_violations(page: Any) -> list[str]:
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} -> "
        + "; ".join(node["html"][:160] for node in violation["nodes"][:3])
        for violation in found
    ]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_has_no_axe_violations(browser, server, scheme):
    from playwright.sync_api import expect

    task = server.api(
        USER,
        "POST",
        "/todos",
        json={
            "title": f"Check the {scheme} theme",
            "priority": "low",
            "tags": ["tag10", "tag2"],
            "due_date": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
            "reminder_at": (datetime.now(UTC) + timedelta(seconds=1)).isoformat(),
        },
    )
    # A tag in every palette colour (and more tags than the filter shows as chips).
    palette = ["red", "orange", "yellow", "green", "teal", "blue", "purple", "pink", "gray"]
    server.api(
        USER,
        "POST",
        "/todos",
        json={"title": f"Palette {scheme}", "tags": [f"c-{c}" for c in palette]},
    )
    for tag in server.api(USER, "GET", "/tags"):
        if tag["name"].startswith("c-"):
            server.api(USER, "PATCH", f"/tags/{tag['id']}", json={"colour": tag["name"][2:]})
    server.api(
        USER,
        "POST",
        "/todos",
        json={"title": "All day", "due_date": datetime.now(UTC).date().isoformat()},
    )
    server.api(USER, "POST", "/todos", json={"title": "Medium one", "priority": "medium"})
    server.api(USER, "POST", "/todos", json={"title": "High one", "priority": "high"})
    server.api(USER, "POST", "/todos", json={"title": "Urgent one", "priority": "urgent"})
    # The page's own script is held to the app's CSP; axe arrives as an injected script.
    context = browser.new_context(base_url=server.url, color_scheme=scheme, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    report: dict[str, list[str]] = {}
    encodings: dict[str, str | None] = {}

    def check(name: str) -> None:
        page.wait_for_load_state("networkidle")
        if name != "api docs":  # Swagger UI keeps its own colours
            background = page.evaluate("getComputedStyle(document.body).backgroundColor")
            assert (background == DARK_BACKGROUND) == (scheme == "dark"), (name, background)
        report[name] = axe_violations(page)

    def visit(name: str, path: str) -> None:
        response = page.goto(path)
        encodings[name] = response.header_value("content-encoding")
        check(name)

    visit("login", "/accounts/login/")
    page.get_by_label("Username").focus()
    ring = page.evaluate(
        "(() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, s.outlineWidth]; })()"
    )
    assert ring == ["solid", "3px"], ring  # a focus ring that shows, on text inputs too
    visit("signup", "/accounts/signup/")
    for _ in range(3):  # the sign-up limit is 1 an hour here: the second try is refused
        page.get_by_role("button", name="Sign up").click()
        if page.get_by_role("heading", name="Too many attempts").count():
            break
    expect(page.get_by_role("heading", name="Too many attempts")).to_be_visible()
    check("429")

    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(USER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/tasks/")
    expect(page.locator("html")).to_have_attribute("data-live", "open")
    visit("list", "/tasks/")
    page.keyboard.press("?")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    check("list, keyboard shortcuts")
    page.keyboard.press("Escape")
    visit("list, filtered", "/tasks/?status=all&priority=low&tag=tag2")
    visit("today", "/tasks/?view=today")
    visit("upcoming", "/tasks/?view=upcoming")
    visit("task form", "/tasks/new/")
    visit("edit form", f"/tasks/{task['id']}/edit/")
    visit("history", f"/tasks/{task['id']}/history/")
    visit("tags", "/tasks/tags/")
    expect(page.locator(".tag-item .chip.tag-red")).to_be_visible()
    page.get_by_label("Name of “c-red”").fill("c-blue")  # another tag's name: a merge
    name_field = page.get_by_label("Name of “c-red”")
    page.locator(".tag-item", has=name_field).get_by_role(
        "button", name=re.compile("^Save")
    ).click()
    expect(page.get_by_role("button", name="Merge")).to_be_visible()
    check("tags, merge question")
    tag_id = server.api(USER, "GET", "/tags")[0]["id"]
    visit("tag delete", f"/tasks/tags/{tag_id}/delete/")
    page.goto("/notifications/")
    expect(page.locator("#notification-items > li").first).to_be_visible()
    visit("inbox", "/notifications/")
    visit("settings", "/accounts/settings/")
    expect(page.get_by_role("button", name="Enable push reminders")).to_be_visible()
    check("settings, push reminders card")
    create_feed = page.get_by_role("button", name="Create a calendar address")
    if create_feed.count():  # the first scheme's run created it: the second sees it on
        create_feed.click()
    expect(page.get_by_label("Calendar address")).to_be_visible()
    check("settings, calendar feed on")
    with Receiver() as receiver:
        hook = server.api(
            USER, "POST", "/webhooks", json={"url": receiver.url, "events": ["task.created"]}
        )
        server.api(USER, "POST", f"/webhooks/{hook['id']}/test")
        visit("webhooks", "/notifications/webhooks/")
        page.goto(f"/notifications/webhooks/{hook['id']}/")
        expect(page.locator("#delivery-log tbody tr").first).to_contain_text("Succeeded")
        visit("webhook", f"/notifications/webhooks/{hook['id']}/")
    visit("password change", "/accounts/password/")
    visit("api docs", "/api/docs")
    expect(page.locator(".swagger-ui")).to_be_visible()
    check("api docs")

    failing = {name: found for name, found in report.items() if found}
    assert not failing, "\n".join(
        f"{name}: {line}" for name, lines in failing.items() for line in lines
    )
    assert missing == []
    assert {name: encoding for name, encoding in encodings.items() if encoding != "gzip"} == {}
    context.close()


def test_tags_read_in_natural_order(browser, server):
    server.api("bob", "POST", "/todos", json={"title": "Sorted", "tags": ["tag10", "tag2", "tag1"]})
    context = browser.new_context(base_url=server.url)
    page = context.new_page()
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("bob")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/tasks/")
    from playwright.sync_api import expect

    row = page.locator("#task-rows > li.task")
    expect(row.locator(".chip")).to_have_text(["Tag: tag1", "Tag: tag2", "Tag: tag10"])
    page.get_by_text("More filters").click()
    expect(page.locator("#filter-tags label")).to_have_text(
        [re.compile(r"^\s*tag1\b"), re.compile(r"^\s*tag2\b"), re.compile(r"^\s*tag10\b")]
    )
    context.close()
