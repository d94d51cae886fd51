"""The task-updates consumer: renders each change as HTML fragments and sends them to the
channel-layer group of the user it belongs to (every open tab of that user, on any web
replica when the layer is Redis). Nothing else ever reaches that group.

Registered with dedupe=False: a redelivered event re-sends fragments the page already
has, and the page drops them by version.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Sequence
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer

from tasks.events import TASK_COMPLETED, TASK_CREATED, TASK_DELETED, TASK_EVENT_TYPES, TASK_UPDATED
from tasks.selectors import tag_colours
from todo_project.accounts.models import User
from todo_project.eventbus.envelope import TASK_UPDATES, Event
from todo_project.eventbus.registry import Handler

from .consumers import user_group
from .rendering import NOTIFICATION_CREATED, NOTIFICATIONS_READ, render_event

logger = logging.getLogger(__name__)
SEND_TIMEOUT_SECONDS = 5.0


def push_update(events: Sequence[Event]) -> None:
    for event in events:
        user_id = event.user_id
        if user_id is None or nobody_listens(user_id):
            continue
        html = render_event(event)
        if event.event_type in TASK_EVENT_TYPES:
            # Each tab places the row in its own view (LiveUpdatesConsumer.live_task); the
            # snapshot travels with the message, as JSON, through any channel layer.
            group_send(
                user_group(user_id),
                {
                    "type": "live.task",
                    "event_type": event.event_type,
                    "html": html,
                    "payload": event.payload,
                    # A tag's colour is the tag's, not the task's: read once per event.
                    "tag_colours": tag_colours(user=User(pk=user_id)),
                },
            )
        elif html:
            send_to_user(user_id, html)


def nobody_listens(user_id: int) -> bool:
    """True when this process knows the user has no open tab, so rendering would be wasted.

    Only the in-memory layer (embedded mode: sockets and handlers share the process) can
    tell; with Redis the tabs may be on any web replica, so every event is rendered.
    """
    layer = get_channel_layer()
    if layer is None:
        return True
    if isinstance(layer, InMemoryChannelLayer):
        return not layer.groups.get(user_group(user_id))
    return False


def send_to_user(user_id: int, html: str) -> None:
    group_send(user_group(user_id), {"type": "live.fragment", "html": html})


def group_send(group: str, message: dict[str, Any]) -> None:
    """Send a channel-layer message to a group from synchronous code (handlers, views)."""
    layer = get_channel_layer()
    if layer is None:
        return
    loop = _daphne_loop() if isinstance(layer, InMemoryChannelLayer) else None
    if loop is not None:
        # Embedded mode: the in-memory layer's queues belong to daphne's event loop and are
        # not thread-safe. From the relay's thread, hand the send to that loop; otherwise the
        # waiting consumer is only woken by daphne's next timer tick (up to a second later).
        future = asyncio.run_coroutine_threadsafe(layer.group_send(group, message), loop)
        future.result(timeout=SEND_TIMEOUT_SECONDS)
        return
    async_to_sync(layer.group_send)(group, message)


def _daphne_loop() -> Any:
    """Daphne's running event loop when this process is daphne and we are off its thread."""
    server = sys.modules.get("daphne.server")
    loop = getattr(server, "twisted_loop", None)
    if loop is None or not loop.is_running():
        return None
    try:
        if asyncio.get_running_loop() is loop:
            return None  # pragma: no cover - handlers never run on the server's loop
    except RuntimeError:
        pass
    return loop


HANDLERS = [
    Handler(
        name="realtime.push",
        topic=TASK_UPDATES,
        func=push_update,
        event_types=frozenset(
            {
                TASK_CREATED,
                TASK_UPDATED,
                TASK_COMPLETED,
                TASK_DELETED,
                NOTIFICATION_CREATED,
                NOTIFICATIONS_READ,
            }
        ),
        dedupe=False,
    ),
]
