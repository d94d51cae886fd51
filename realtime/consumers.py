"""WebSocket endpoint for live updates: one group per user, fed by the task-updates consumer."""

from __future__ import annotations

import json
import zoneinfo
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.utils import timezone

from tasks.events import TASK_DELETED
from tasks.live import ListView, render_view_update, view_update
from tasks.presenters import TaskRow
from todo_project.accounts.models import User
from todo_project.observability import WEBSOCKET_CONNECTIONS

#: Close code for an anonymous connection (4000-4999 are application codes).
UNAUTHENTICATED = 4401
#: Close code when the sign-in the socket was opened with has ended (logout, password
#: change, sign out everywhere).
SIGNED_OUT = 4403


#: The most row ids a tab may say it shows (a page holds 25).
MAX_SHOWN_ROWS = 200


def user_group(user_id: int) -> str:
    return f"user-{user_id}"


def read_view_message(text: str | None) -> tuple[ListView | None, list[int]] | None:
    """`{"view": "<list query>" or null, "rows": [task ids shown, in order]}` from the page
    (static/app/app.js: tellView), or None for anything else."""
    try:
        message = json.loads(text or "")
    except ValueError:
        return None
    if not isinstance(message, dict) or "view" not in message:
        return None
    query, rows = message["view"], message.get("rows") or []
    if query is not None and not isinstance(query, str):
        return None
    if not isinstance(rows, list) or len(rows) > MAX_SHOWN_ROWS:
        return None
    try:
        shown = [int(pk) for pk in rows]
    except (TypeError, ValueError):
        return None
    view = ListView.from_query(query) if query is not None else None
    return view, shown if view is not None else []


class LiveUpdatesConsumer(AsyncWebsocketConsumer):
    group: str | None = None
    session_key: str | None = None
    auth_epoch: int = 0
    user_id: int | None = None
    zone: zoneinfo.ZoneInfo = zoneinfo.ZoneInfo("UTC")
    #: The list this tab shows (None: no list, or not told yet) and the ids of its rows.
    view: ListView | None = None
    shown: list[int]
    shown_total: str = ""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            # Accepted, then closed: a close before the handshake is an HTTP 403 that the
            # browser sees as 1006 (and retries); after it, the page reads the code and
            # goes to the login page.
            await self.accept()
            await self.close(code=UNAUTHENTICATED)
            return
        self.group = user_group(user.pk)
        session = self.scope.get("session")
        self.session_key = getattr(session, "session_key", None)
        self.auth_epoch = user.auth_epoch
        self.user_id = user.pk
        self.shown = []
        try:
            self.zone = zoneinfo.ZoneInfo(user.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            self.zone = zoneinfo.ZoneInfo("UTC")
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        WEBSOCKET_CONNECTIONS.inc()

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            WEBSOCKET_CONNECTIONS.dec()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """The page says which list it shows (read_view_message); anything else (form data
        htmx's ws extension might send) is ignored."""
        told = read_view_message(text_data)
        if told is None or self.user_id is None:
            return
        self.view, self.shown = told
        self.shown_total = ""

    async def live_fragment(self, message: dict[str, Any]) -> None:
        """Group message {"type": "live.fragment", "html": "..."} from the push handler."""
        await self.send(text_data=message["html"])

    async def live_task(self, message: dict[str, Any]) -> None:
        """Group message {"type": "live.task", "event_type", "html", "payload"}: a task
        changed. Every tab gets `html` (the header's count); a tab showing a list also gets
        the row where its view has it, and its view's counts (tasks.live)."""
        html = message["html"]
        if self.view is not None:
            html += await self._place(
                message["payload"],
                message.get("event_type") == TASK_DELETED,
                message.get("tag_colours") or {},
            )
        if html:
            await self.send(text_data=html)

    @database_sync_to_async
    def _place(self, payload: dict[str, Any], deleted: bool, tag_colours: dict[str, str]) -> str:
        view = self.view
        assert view is not None and self.user_id is not None
        with timezone.override(self.zone):
            update = view_update(
                user=User(pk=self.user_id),
                view=view,
                row=TaskRow.from_snapshot(payload, tag_colours=tag_colours),
                shown=self.shown,
                deleted=deleted,
                tag_colours=tag_colours,
            )
            total = str(update.info.get("count", ""))
            if update.order == self.shown and not update.rows and total == self.shown_total:
                return ""  # nothing this tab shows changed
            self.shown, self.shown_total = update.order, total
            return render_view_update(update)

    async def session_ended(self, message: dict[str, Any]) -> None:
        """Group message {"type": "session.ended", "session_key": ...}: a logout."""
        if self.session_key is not None and message["session_key"] == self.session_key:
            await self.close(code=SIGNED_OUT)

    async def sign_ins_revoked(self, message: dict[str, Any]) -> None:
        """Group message {"type": "sign_ins.revoked", "auth_epoch": n}: sockets opened
        before the user's sign-ins were revoked close."""
        if self.auth_epoch < int(message["auth_epoch"]):
            await self.close(code=SIGNED_OUT)
