"""The webhook settings page in Chromium against a real daphne in embedded mode: add an
endpoint, keep the secret shown once, send a test event and watch it land in the log,
then a task created through the API reaches the same receiver, signed."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.notifications.receiver import Receiver, readme_verify

from .conftest import PASSWORD, Server, run_server

pytestmark = pytest.mark.browser
USER = "carol"


@pytest.fixture(scope="module")
def server(chromium_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    overrides = {"WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true"}
    with run_server(tmp_path_factory.mktemp("webhooks"), env_overrides=overrides) as running:
        yield running


def test_add_an_endpoint_send_a_test_event_and_read_the_log(browser, server):
    from playwright.sync_api import expect

    errors: list[str] = []
    context = browser.new_context(base_url=server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    with Receiver() as receiver:
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill(USER)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/tasks/")
        page.goto("/accounts/settings/")
        page.get_by_role("link", name="Webhooks").click()
        expect(page.get_by_role("heading", name="Webhooks", level=1)).to_be_visible()

        page.get_by_label("URL").fill(receiver.url)
        page.get_by_label("Description").fill("My receiver")
        page.get_by_label("Task created").check()
        page.get_by_role("button", name="Add endpoint").click()
        secret = page.locator("#webhook-secret").inner_text()
        assert re.fullmatch(r"whsec_[\w-]{40,}", secret)

        page.get_by_role("button", name="Send test event").click()
        log = page.locator("#delivery-log")
        test_row = log.locator("tbody tr", has_text="webhook.test")
        expect(test_row).to_contain_text("Succeeded")  # the log refreshes itself
        expect(test_row).to_contain_text(re.compile(r"200 · \d+ ms"))

        server.api(USER, "POST", "/todos", json={"title": "Seen by the receiver"})
        deadline = time.monotonic() + 15
        while len(receiver.requests) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        page.reload()
        created_row = log.locator("tbody tr", has_text="task.created")
        expect(created_row).to_contain_text("Succeeded")

        bodies = [json.loads(request.body) for request in receiver.requests]
        assert [body["type"] for body in bodies] == ["webhook.test", "task.created"]
        assert bodies[1]["payload"]["title"] == "Seen by the receiver"
        for request in receiver.requests:
            assert readme_verify()(secret, request.body, request.headers["x-todo-signature"])

        page.goto("/notifications/webhooks/")
        expect(page.get_by_role("link", name=receiver.url)).to_be_visible()
        assert secret not in page.content()
    assert errors == []
    context.close()
