"""WebSocket endpoint for live updates: one group per user, fed by the task-updates consumer."""

from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer

from todo_project.observability import WEBSOCKET_CONNECTIONS

#: Close code for an anonymous connection (4000-4999 are application codes).
UNAUTHENTICATED = 4401
#: Close code when the sign-in the socket was opened with has ended (logout, password
#: change, sign out everywhere).
SIGNED_OUT = 4403


def user_group(user_id: int) -> str:
    return f"user-{user_id}"


class LiveUpdatesConsumer(AsyncWebsocketConsumer):
    group: str | None = None
    session_key: str | None = None
    auth_epoch: int = 0

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

    async def session_ended(self, message: dict[str, Any]) -> None:
        """Group message {"type": "session.ended", "session_key": ...}: a logout."""
        if self.session_key is not None and message["session_key"] == self.session_key:
            await self.close(code=SIGNED_OUT)

    async def sign_ins_revoked(self, message: dict[str, Any]) -> None:
        """Group message {"type": "sign_ins.revoked", "auth_epoch": n}: sockets opened
        before the user's sign-ins were revoked close."""
        if self.auth_epoch < int(message["auth_epoch"]):
            await self.close(code=SIGNED_OUT)
