"""The WebSocket endpoint and the push handler behind it, end to end in one event loop."""

from __future__ import annotations

from datetime import timedelta

import pytest
import pytest_asyncio
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import timezone

from notifications.services import DueReminder, notifications_create_for_reminders
from realtime.consumers import SIGNED_OUT, UNAUTHENTICATED
from tasks import services
from todo_project.asgi import application
from todo_project.eventbus.publishers import LocalBus
from todo_project.eventbus.relay import drain

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]
ORIGIN = (b"origin", b"http://127.0.0.1")
HOST = (b"host", b"127.0.0.1")


@pytest_asyncio.fixture(autouse=True)
async def _fresh_layer():
    await get_channel_layer().flush()
    yield
    await get_channel_layer().flush()


@database_sync_to_async
def session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def connect(user=None) -> tuple[WebsocketCommunicator, bool, object]:
    headers = [ORIGIN, HOST]
    if user is not None:
        headers.append((b"cookie", await session_cookie(user)))
    communicator = WebsocketCommunicator(application, "/ws/", headers=headers)
    connected, detail = await communicator.connect(timeout=3)
    return communicator, connected, detail


deliver = database_sync_to_async(lambda: drain(LocalBus()))


async def test_anonymous_connection_is_closed_with_a_code_the_page_can_read(db):
    communicator, connected, _ = await connect()
    assert connected  # a refused handshake would reach the page as 1006, not 4401
    assert await closed_with(communicator) == UNAUTHENTICATED


async def test_foreign_origin_is_rejected(user):
    headers = [(b"origin", b"https://evil.example"), HOST, (b"cookie", await session_cookie(user))]
    communicator = WebsocketCommunicator(application, "/ws/", headers=headers)
    connected, _ = await communicator.connect(timeout=3)
    assert not connected


async def test_session_user_receives_only_their_own_fragments(user, other_user):
    alice, connected, _ = await connect(user)
    assert connected
    bob, connected, _ = await connect(other_user)
    assert connected
    task = await database_sync_to_async(services.task_create)(
        user=user, data={"title": "Alice's plan", "tags": ["home"]}
    )
    await deliver()
    html = await alice.receive_from(timeout=3)
    assert f'id="task-{task.pk}"' in html
    assert 'data-version="1"' in html
    assert 'hx-swap-oob="afterbegin:#task-rows"' in html
    assert 'id="open-count" class="count" hx-swap-oob="true">1<' in html
    assert await bob.receive_nothing(timeout=0.3)
    await alice.disconnect()
    await bob.disconnect()


async def test_update_complete_and_delete_fragments(user):
    alice, _, _ = await connect(user)
    task = await database_sync_to_async(services.task_create)(user=user, data={"title": "x"})
    await database_sync_to_async(services.task_update)(task=task, data={"title": "y"})
    await database_sync_to_async(services.task_complete)(task=task)
    await database_sync_to_async(services.task_delete)(task=task)
    await deliver()
    created, updated, completed, deleted = [await alice.receive_from(timeout=3) for _ in range(4)]
    assert "afterbegin:#task-rows" in created
    assert f'<li id="task-{task.pk}"' in updated and 'data-version="2"' in updated
    assert 'hx-swap-oob="true"' in updated and ">y<" in updated
    assert "is-done" in completed and 'data-version="3"' in completed
    assert (
        f'<div id="task-{task.pk}" data-version="4" data-deleted hx-swap-oob="delete">' in deleted
    )
    await alice.disconnect()


async def test_pushed_html_escapes_user_text(user):
    alice, _, _ = await connect(user)
    await database_sync_to_async(services.task_create)(
        user=user, data={"title": "<script>alert(1)</script>", "tags": ['"><img src=x>']}
    )
    await deliver()
    html = await alice.receive_from(timeout=3)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img" not in html
    await alice.disconnect()


async def test_reminder_pushes_badge_toast_and_inbox_item(user, other_user):
    alice, _, _ = await connect(user)
    bob, _, _ = await connect(other_user)
    task = await database_sync_to_async(services.task_create)(
        user=user, data={"title": "Call <mom>"}
    )
    await deliver()
    await alice.receive_from(timeout=3)  # the TaskCreated row
    (notification,) = await database_sync_to_async(notifications_create_for_reminders)(
        [
            DueReminder(
                user_id=user.pk,
                task_id=task.pk,
                message=task.title,
                reminder_at=timezone.now() - timedelta(seconds=1),
                due_date=None,
            )
        ]
    )
    await deliver()
    html = await alice.receive_from(timeout=3)
    assert 'id="unread-badge" class="badge" hx-swap-oob="true">1<' in html
    assert 'hx-swap-oob="beforeend:#toasts"' in html and "Reminder:" in html
    assert f'id="notification-{notification.pk}"' in html
    assert "Call &lt;mom&gt;" in html and "<mom>" not in html
    assert await bob.receive_nothing(timeout=0.3)
    await alice.disconnect()
    await bob.disconnect()


async def test_every_open_tab_of_the_user_gets_the_fragment(user):
    tabs = [(await connect(user))[0] for _ in range(3)]
    await database_sync_to_async(services.task_create)(user=user, data={"title": "x"})
    await deliver()
    for tab in tabs:
        assert "task-" in await tab.receive_from(timeout=3)
        await tab.disconnect()


async def test_messages_from_the_browser_are_ignored(user):
    alice, _, _ = await connect(user)
    await alice.send_to(text_data='{"HEADERS": {}, "title": "x"}')
    assert await alice.receive_nothing(timeout=0.2)
    await alice.disconnect()


# ------------------------------------------------------------- sockets end with sign-ins


@database_sync_to_async
def signed_in_browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


async def connect_as(browser: Client, origin: bytes = b"http://127.0.0.1"):
    cookie = f"sessionid={browser.cookies['sessionid'].value}".encode()
    headers = [(b"origin", origin), HOST, (b"cookie", cookie)]
    communicator = WebsocketCommunicator(application, "/ws/", headers=headers)
    connected, _ = await communicator.connect(timeout=3)
    assert connected
    return communicator


async def closed_with(communicator: WebsocketCommunicator) -> int | None:
    output = await communicator.receive_output(timeout=3)
    assert output["type"] == "websocket.close"
    return output.get("code")


async def test_logout_closes_that_sessions_sockets_only(user):
    laptop, phone = await signed_in_browser(user), await signed_in_browser(user)
    laptop_socket, phone_socket = await connect_as(laptop), await connect_as(phone)

    await database_sync_to_async(laptop.post)("/accounts/logout/")

    assert await closed_with(laptop_socket) == SIGNED_OUT
    assert await phone_socket.receive_nothing(timeout=0.3)
    await phone_socket.disconnect()


@pytest.mark.parametrize("how", ["sign out everywhere", "password change"])
async def test_revoking_sign_ins_closes_every_socket_of_the_user(user, other_user, how):
    laptop, phone = await signed_in_browser(user), await signed_in_browser(user)
    sockets = [await connect_as(laptop), await connect_as(phone)]
    bob = await connect_as(await signed_in_browser(other_user))

    if how == "password change":
        form = {
            "old_password": "pw-alice",
            "new_password1": "a new long password 1",
            "new_password2": "a new long password 1",
        }
        await database_sync_to_async(phone.post)("/accounts/password/", form)
    else:
        await database_sync_to_async(phone.post)("/accounts/sign-out-everywhere/")

    for socket in sockets:
        assert await closed_with(socket) == SIGNED_OUT
    assert await bob.receive_nothing(timeout=0.3)
    await bob.disconnect()
    # A socket opened with a session that has ended is refused.
    cookie = f"sessionid={laptop.cookies['sessionid'].value}".encode()
    late = WebsocketCommunicator(application, "/ws/", headers=[ORIGIN, HOST, (b"cookie", cookie)])
    await late.connect(timeout=3)
    assert await closed_with(late) == UNAUTHENTICATED


@pytest.mark.parametrize(
    "origin",
    [
        b"https://127.0.0.1",  # another scheme
        b"http://127.0.0.1:8080",  # another port on the same host
        b"http://127.0.0.1.evil.example",
        b"null",
    ],
)
async def test_only_the_sites_own_origin_may_open_a_socket(user, origin):
    browser = await signed_in_browser(user)
    cookie = f"sessionid={browser.cookies['sessionid'].value}".encode()
    communicator = WebsocketCommunicator(
        application, "/ws/", headers=[(b"origin", origin), HOST, (b"cookie", cookie)]
    )
    connected, _ = await communicator.connect(timeout=3)
    assert not connected


async def test_behind_a_tls_proxy_the_https_origin_is_the_sites_own(user, settings):
    settings.ALLOWED_HOSTS = ["todo.example.com"]
    browser = await signed_in_browser(user)
    cookie = f"sessionid={browser.cookies['sessionid'].value}".encode()
    headers = [
        (b"origin", b"https://todo.example.com"),
        (b"host", b"todo.example.com"),
        (b"x-forwarded-proto", b"https"),
        (b"cookie", cookie),
    ]
    communicator = WebsocketCommunicator(application, "/ws/", headers=headers)
    connected, _ = await communicator.connect(timeout=3)
    assert connected
    await communicator.disconnect()
