"""Template context every page gets from the tasks app."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

#: Where a view leaves the undo offer for the next page (tasks.undo_views.offer_undo).
UNDO_SESSION_KEY = "tasks.undo_offer"


def undo_offer(request: HttpRequest) -> dict[str, Any]:
    """The Undo a form without JavaScript left for the page it returned to (shown once)."""
    session = getattr(request, "session", None)
    if session is None or UNDO_SESSION_KEY not in session:
        return {}
    return {"undo_offer": session.pop(UNDO_SESSION_KEY)}
