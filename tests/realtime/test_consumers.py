"""The WebSocket endpoint and the push handler behind it, end to end in one event loop."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

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


async def tell(tab: WebsocketCommunicator, view: str | None, rows=()) -> None:
    """What app.js sends on open and after each change of view."""
    await tab.send_to(text_data=json.dumps({"view": view, "rows": list(rows)}))
    assert await tab.receive_nothing(timeout=0.05)  # handled before what follows


def order_of(html: str) -> list[int]:
    found = re.search(r'data-order="([\d,]*)"', html)
    assert found, html
    return [int(pk) for pk in found.group(1).split(",") if pk]


create = database_sync_to_async(services.task_create)
update = database_sync_to_async(services.task_update)


async def test_session_user_receives_only_their_own_fragments(user, other_user):
    alice, connected, _ = await connect(user)
    assert connected
    bob, connected, _ = await connect(other_user)
    assert connected
    await tell(alice, "")
    await tell(bob, "")
    task = await create(user=user, data={"title": "Alice's plan", "tags": ["home"]})
    await deliver()
    html = await alice.receive_from(timeout=3)
    assert 'id="open-count" class="count" hx-swap-oob="true">1<' in html
    assert '<div id="live-view" hidden hx-swap-oob="true" data-live-view=""' in html
    assert order_of(html) == [task.pk]
    assert f'<li id="task-{task.pk}"' in html and 'data-version="1"' in html
    assert "1 task" in html  # the view's heading
    assert await bob.receive_nothing(timeout=0.3)
    await alice.disconnect()
    await bob.disconnect()


async def test_a_tab_without_a_list_gets_only_the_header_count(user):
    inbox, _, _ = await connect(user)  # never tells a view (the inbox, a task's form)
    second, _, _ = await connect(user)
    await tell(second, "status=completed")
    await tell(second, None)  # went to a page without a list
    await create(user=user, data={"title": "x"})
    await deliver()
    for tab in (inbox, second):
        html = await tab.receive_from(timeout=3)
        assert 'id="open-count"' in html and "task-" not in html and "live-view" not in html
        await tab.disconnect()


async def test_the_open_list_takes_in_updates_and_lets_go_of_a_completed_task(user):
    alice, _, _ = await connect(user)
    await tell(alice, "")

    async def push(change, **kwargs):
        await database_sync_to_async(change)(**kwargs)
        await deliver()
        return await alice.receive_from(timeout=3)

    task = await create(user=user, data={"title": "x"})
    await deliver()
    created = await alice.receive_from(timeout=3)
    updated = await push(services.task_update, task=task, data={"title": "y"})
    completed = await push(services.task_complete, task=task)
    deleted = await push(services.task_delete, task=task)
    assert order_of(created) == [task.pk]
    assert order_of(updated) == [task.pk] and 'data-version="2"' in updated and ">y<" in updated
    # Completed: no longer in this view, so the order lets it go (the row, done, comes
    # along for the tab that completed it and keeps it) and the heading says so.
    assert order_of(completed) == [] and "No tasks" in completed
    assert f'<li id="task-{task.pk}" class="task priority-medium is-done"' in completed
    # Deleted: this view already lets it go; only the header count changes.
    assert "live-view" not in deleted and 'id="open-count"' in deleted
    await alice.disconnect()


async def test_the_view_is_evaluated_when_the_push_arrives(user):
    # Pushes queued behind later changes: each tab's view is asked as it is now, and the
    # row, when shown, is the event's version (the page keeps the newest).
    alice, _, _ = await connect(user)
    await tell(alice, "")
    task = await create(user=user, data={"title": "x"})
    await database_sync_to_async(services.task_complete)(task=task)
    await deliver()
    created, completed = [await alice.receive_from(timeout=3) for _ in range(2)]
    assert order_of(created) == [] and "<li " not in created
    assert "live-view" not in completed  # nothing changed in the view since
    await alice.disconnect()


async def test_the_completed_view_shows_a_task_only_once_it_is_completed(user):
    done, _, _ = await connect(user)
    await tell(done, "status=completed")
    task = await create(user=user, data={"title": "Later done"})
    await deliver()
    assert f'id="task-{task.pk}"' not in await done.receive_from(timeout=3)
    await database_sync_to_async(services.task_complete)(task=task)
    await deliver()
    html = await done.receive_from(timeout=3)
    assert order_of(html) == [task.pk] and "is-done" in html and "1 task" in html
    await done.disconnect()


async def test_a_search_that_does_not_match_gets_no_row(user):
    searching, _, _ = await connect(user)
    await tell(searching, "search=milk")
    await create(user=user, data={"title": "Bread"})
    await deliver()
    html = await searching.receive_from(timeout=3)
    assert "<li " not in html and "No tasks" in html
    milk = await create(user=user, data={"title": "Buy milk"})
    await deliver()
    html = await searching.receive_from(timeout=3)
    assert order_of(html) == [milk.pk] and ">Buy milk<" in html
    await searching.disconnect()


async def test_a_sorted_view_moves_a_renamed_task_to_its_place(user):
    b = await create(user=user, data={"title": "b"})
    c = await create(user=user, data={"title": "c"})
    await deliver()
    tab, _, _ = await connect(user)
    await tell(tab, "sort_by=title", [b.pk, c.pk])
    await update(task=c, data={"title": "a"})
    await deliver()
    html = await tab.receive_from(timeout=3)
    assert order_of(html) == [c.pk, b.pk] and ">a<" in html
    await tab.disconnect()


async def test_a_later_page_takes_the_row_pushed_down_from_the_page_before(user):
    tasks = [await create(user=user, data={"title": f"T{i:02d}"}) for i in range(27)]
    second_page = [task.pk for task in tasks[25:]]
    await deliver()
    tab, _, _ = await connect(user)
    await tell(tab, "page=2", second_page)
    # Due soonest: first on page 1, which pushes T24 down onto page 2.
    urgent = await create(
        user=user, data={"title": "Urgent", "due_date": timezone.now() + timedelta(hours=1)}
    )
    await deliver()
    html = await tab.receive_from(timeout=3)
    assert order_of(html) == [tasks[24].pk, *second_page]
    assert f'id="task-{tasks[24].pk}"' in html and ">T24<" in html  # read from the database
    assert f'id="task-{urgent.pk}"' not in html
    assert "28 tasks" in html and "showing 26\u201328" in html and "Page 2 of 2" in html
    await tab.disconnect()


async def test_a_later_page_that_empties_asks_the_tab_to_reload(user):
    tasks = [await create(user=user, data={"title": f"T{i:02d}"}) for i in range(26)]
    await deliver()
    tab, _, _ = await connect(user)
    await tell(tab, "page=2", [tasks[25].pk])
    await database_sync_to_async(services.task_complete)(task=tasks[0])
    await deliver()
    html = await tab.receive_from(timeout=3)
    assert "data-refresh" in html and order_of(html) == []
    await tab.disconnect()


async def test_a_view_with_bad_parameters_takes_no_rows(user):
    tab, _, _ = await connect(user)  # the page shows the parameters' errors and no task
    await tell(tab, "due_after=soon")
    await create(user=user, data={"title": "x"})
    await deliver()
    assert "live-view" not in await tab.receive_from(timeout=3)
    await tab.disconnect()


async def test_the_row_shows_the_users_time_zone(user):
    tab, _, _ = await connect(user)  # alice is in Berlin
    await tell(tab, "")
    due = datetime(2030, 3, 4, 8, 30, tzinfo=UTC)
    await create(user=user, data={"title": "x", "due_date": due})
    await deliver()
    html = await tab.receive_from(timeout=3)
    assert "09:30" in html and "2030-03-04T09:30:00+01:00" in html
    await tab.disconnect()


async def test_pushed_html_escapes_user_text(user):
    alice, _, _ = await connect(user)
    await tell(alice, "")
    await create(user=user, data={"title": "<script>alert(1)</script>", "tags": ['"><img src=x>']})
    await deliver()
    html = await alice.receive_from(timeout=3)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img" not in html
    await alice.disconnect()


async def test_a_tab_that_tells_no_change_gets_no_view_update(user):
    task = await create(user=user, data={"title": "Shown"})
    await deliver()
    tab, _, _ = await connect(user)
    await tell(tab, "status=completed")
    await create(user=user, data={"title": "Open one"})
    await deliver()
    first = await tab.receive_from(timeout=3)
    assert "No tasks" in first  # the view's count, once
    await update(task=task, data={"title": "Still open"})
    await deliver()
    assert "live-view" not in await tab.receive_from(timeout=3)  # nothing there changed
    await tab.disconnect()


async def test_reminder_pushes_badge_toast_and_inbox_item(user, other_user):
    alice, _, _ = await connect(user)
    bob, _, _ = await connect(other_user)
    task = await database_sync_to_async(services.task_create)(
        user=user, data={"title": "Call <mom>"}
    )
    await deliver()
    await alice.receive_from(timeout=3)  # the TaskCreated count
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


async def test_every_open_tab_of_the_user_gets_the_fragment_of_its_view(user):
    tabs = [(await connect(user))[0] for _ in range(3)]
    for tab, view in zip(tabs, ["", "status=all", "status=completed"], strict=True):
        await tell(tab, view)
    task = await create(user=user, data={"title": "x"})
    await deliver()
    shown = [f'id="task-{task.pk}"' in await tab.receive_from(timeout=3) for tab in tabs]
    assert shown == [True, True, False]
    for tab in tabs:
        await tab.disconnect()


@pytest.mark.parametrize(
    "text",
    [
        '{"HEADERS": {}, "title": "x"}',  # form data htmx's ws extension might send
        "not json",
        '{"view": 5}',
        '{"view": "", "rows": ["a"]}',
        '{"view": "", "rows": 7}',
        '{"view": "' + "x" * 5000 + '"}',
    ],
)
async def test_other_messages_from_the_browser_are_ignored(user, text):
    alice, _, _ = await connect(user)
    await alice.send_to(text_data=text)
    assert await alice.receive_nothing(timeout=0.2)
    await create(user=user, data={"title": "x"})
    await deliver()
    assert "live-view" not in await alice.receive_from(timeout=3)  # still no view
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
