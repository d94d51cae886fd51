"""Open WebSockets end with the sign-in they were opened by: a logout closes that
session's sockets, a password change or "sign out everywhere" closes all of the user's
sockets of an older auth epoch. Messages go to the user's channel-layer group, so they
reach every web replica; each consumer decides whether it is concerned."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_out
from django.http import HttpRequest

from todo_project.accounts.models import sign_ins_revoked

from .consumers import user_group
from .handlers import group_send


def close_session_sockets(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if user is None or not session_key:
        return
    group_send(user_group(user.pk), {"type": "session.ended", "session_key": session_key})


def close_older_sockets(sender: Any, user_id: int, auth_epoch: int, **kwargs: Any) -> None:
    group_send(user_group(user_id), {"type": "sign_ins.revoked", "auth_epoch": auth_epoch})


def connect() -> None:
    user_logged_out.connect(close_session_sockets, dispatch_uid="realtime.close_session_sockets")
    sign_ins_revoked.connect(close_older_sockets, dispatch_uid="realtime.close_older_sockets")
