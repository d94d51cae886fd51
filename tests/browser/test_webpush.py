"""Web push in Debian's Chromium, as far as it goes here.

What runs for real: the service worker's registration with scope "/" (under the app's
CSP), the permission prompt answered by the context, the settings card, the server's
subscription views, the reminder's push from the embedded server to a push service on
127.0.0.1 that decrypts it with the subscription's keys, and the service worker showing
that decrypted message (handed to it through DevTools, as the push service would).

What cannot run here: Chromium's own push service. A Playwright context is incognito,
where Chromium refuses `pushManager.subscribe()` ("permission denied"; the first test
shows the card reporting it), and a persistent profile waits for Google's push
registration, which this machine cannot reach. So the second test stands in a
PushManager that returns a subscription at the local push service (with a real P-256
key pair and auth secret), and a click on the system notification, which no API can
make, is not exercised.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.notifications.push_service import PRIVATE_KEY, PUBLIC_KEY, SUBJECT, PushService

from .conftest import PASSWORD, Server, run_server

pytestmark = pytest.mark.browser

ENV = {
    "WEBPUSH_VAPID_PRIVATE_KEY": PRIVATE_KEY,
    "WEBPUSH_VAPID_SUBJECT": SUBJECT,
    "WEBPUSH_ALLOW_PRIVATE_TARGETS": "true",
}

#: A PushManager whose subscribe() returns the given subscription (Chromium's own
#: cannot subscribe here), recording the options the page passed.
FAKE_PUSH_MANAGER = """
(() => {
  const subscription = %s;
  let current = null;
  const make = () => ({
    endpoint: subscription.endpoint,
    toJSON: () => ({
      endpoint: subscription.endpoint, expirationTime: null, keys: subscription.keys,
    }),
    unsubscribe: async () => { current = null; window.__pushUnsubscribed = true; return true; },
  });
  PushManager.prototype.subscribe = async function (options) {
    const key = new Uint8Array(options.applicationServerKey);
    window.__pushSubscribeOptions = {
      userVisibleOnly: options.userVisibleOnly,
      key: btoa(String.fromCharCode(...key))
        .replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, ""),
    };
    current = make();
    return current;
  };
  PushManager.prototype.getSubscription = async function () { return current; };
})();
"""

REGISTRATION = """async () => {
  const registration = await navigator.serviceWorker.getRegistration("/");
  return registration && registration.active
    ? { scope: registration.scope, script: registration.active.scriptURL }
    : null;
}"""

NOTIFICATIONS = """async () => {
  const registration = await navigator.serviceWorker.getRegistration("/");
  const shown = await registration.getNotifications();
  return shown.map((n) => ({ title: n.title, body: n.body, tag: n.tag, url: n.data.url }));
}"""


@pytest.fixture(scope="module")
def server(chromium_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with run_server(tmp_path_factory.mktemp("webpush"), env_overrides=ENV) as running:
        yield running


@pytest.fixture
def expect() -> Any:
    from playwright.sync_api import expect

    return expect


def settings_page(browser: Any, server: Server, username: str, **options: Any) -> Any:
    context = browser.new_context(base_url=server.url, **options)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/tasks/")
    page.goto("/accounts/settings/")
    return page


def test_chromium_registers_the_worker_and_its_refusal_is_shown(browser, server, expect):
    page = settings_page(browser, server, "alice", permissions=["notifications"])
    status = page.locator("[data-push-status]")
    expect(status).to_have_text("Push reminders are off in this browser.")
    page.get_by_role("button", name="Enable push reminders").click()
    expect(status).to_have_text(
        "Could not enable push reminders: Registration failed - permission denied"
    )
    registration = page.evaluate(REGISTRATION)
    assert registration == {
        "scope": f"{server.url}/",
        "script": f"{server.url}/notifications/push/sw.js",
    }
    assert page.evaluate("Notification.permission") == "granted"
    assert server.api("alice", "GET", "/push/subscriptions") == []
    page.context.close()


def test_without_permission_nothing_is_subscribed(browser, server, expect):
    page = settings_page(browser, server, "bob")
    page.get_by_role("button", name="Enable push reminders").click()
    expect(page.locator("[data-push-status]")).to_have_text(
        "Notifications are blocked for this site: allow them in the browser's site settings."
    )
    expect(page.get_by_role("button", name="Enable push reminders")).to_be_disabled()
    assert page.evaluate("Notification.permission") == "denied"
    assert page.evaluate(REGISTRATION) is None
    assert server.api("bob", "GET", "/push/subscriptions") == []
    page.context.close()


def test_a_reminder_goes_from_the_settings_card_to_a_shown_notification(browser, server, expect):
    with PushService(vapid_public_key=PUBLIC_KEY, subject=SUBJECT) as push_service:
        endpoint, keys = push_service.subscribe("chromium")
        page = settings_page(browser, server, "carol", permissions=["notifications"])
        page.context.add_init_script(
            FAKE_PUSH_MANAGER
            % json.dumps({"endpoint": endpoint, "keys": {"p256dh": keys.p256dh, "auth": keys.auth}})
        )
        page.reload()
        page.get_by_role("button", name="Enable push reminders").click()
        expect(page.locator("[data-push-status]")).to_have_text(
            "Push reminders are on in this browser."
        )
        expect(page.get_by_role("button", name="Disable push reminders")).to_be_visible()
        assert page.evaluate("window.__pushSubscribeOptions") == {
            "userVisibleOnly": True,
            "key": PUBLIC_KEY,
        }
        [stored] = server.api("carol", "GET", "/push/subscriptions")
        assert stored["endpoint"] == endpoint

        soon = datetime.now(UTC) + timedelta(seconds=1)
        task = server.api(
            "carol",
            "POST",
            "/todos",
            json={"title": "Water the ferns 🌿", "reminder_at": soon.isoformat()},
        )
        deadline = time.monotonic() + 20
        while not push_service.received and time.monotonic() < deadline:
            time.sleep(0.1)
        assert push_service.rejected == []
        [message] = push_service.messages_for("chromium")
        assert message["title"] == "Water the ferns 🌿"
        assert message["url"] == f"/tasks/{task['id']}/edit/"

        # The decrypted message, handed to the service worker as the push service would.
        cdp = page.context.new_cdp_session(page)
        registrations: list[dict[str, Any]] = []
        cdp.on(
            "ServiceWorker.workerRegistrationUpdated",
            lambda event: registrations.extend(event["registrations"]),
        )
        cdp.send("ServiceWorker.enable")
        page.wait_for_function("navigator.serviceWorker.controller !== null")
        deadline = time.monotonic() + 5
        while not registrations and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        [registration] = [r for r in registrations if r["scopeURL"] == f"{server.url}/"]
        cdp.send(
            "ServiceWorker.deliverPushMessage",
            {
                "origin": server.url,
                "registrationId": registration["registrationId"],
                "data": json.dumps(message),
            },
        )
        deadline = time.monotonic() + 10
        while not (shown := page.evaluate(NOTIFICATIONS)) and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        assert shown == [
            {
                "title": "Water the ferns 🌿",
                "body": "Reminder",
                "tag": message["tag"],
                "url": f"{server.url}/tasks/{task['id']}/edit/",
            }
        ]

        page.get_by_role("button", name="Disable push reminders").click()
        expect(page.locator("[data-push-status]")).to_have_text(
            "Push reminders are off in this browser."
        )
        assert page.evaluate("window.__pushUnsubscribed") is True
        assert server.api("carol", "GET", "/push/subscriptions") == []
        page.context.close()
