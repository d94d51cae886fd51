"""WebSocket endpoint for live updates: one group per user, fed by the task-updates consumer."""

from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer

from todo_project.observability import WEBSOCKET_CONNECTIONS

#: Close code for an anonymous connection (4000-4999 are application codes).
UNAUTHENTICATED = 4401


def user_group(user_id: int) -> str:
    return f"user-{user_id}"


class LiveUpdatesConsumer(AsyncWebsocketConsumer):
    group: str | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=UNAUTHENTICATED)
            return
        self.group = user_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        WEBSOCKET_CONNECTIONS.inc()

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            WEBSOCKET_CONNECTIONS.dec()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        # The page only listens; htmx's ws extension may send form data, which we ignore.
        return

    async def live_fragment(self, message: dict[str, Any]) -> None:
        """Group message {"type": "live.fragment", "html": "..."} from the push handler."""
        await self.send(text_data=message["html"])
