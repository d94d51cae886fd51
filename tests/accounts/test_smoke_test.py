"""`manage.py smoke_test`, the command the chart's `helm test` pod runs."""

from __future__ import annotations

import socket
from io import StringIO
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from todo_project.accounts.management.commands.smoke_test import SMOKE_USER_PREFIX
from todo_project.accounts.models import User

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_passes_against_a_serving_app_and_leaves_no_user(live_server: Any) -> None:
    out = StringIO()

    call_command("smoke_test", "--url", live_server.url, stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0].startswith("ok  GET /healthz -> 200")
    assert lines[1].startswith("ok  GET /readyz -> 200")
    assert lines[2].startswith(f"ok  GET /api/todos as {SMOKE_USER_PREFIX}")
    assert "smoke test passed" in lines[-1]
    assert not User.objects.filter(username__startswith=SMOKE_USER_PREFIX).exists()


def test_it_fails_when_nothing_serves() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(CommandError, match=r"GET http://127\.0\.0\.1:\d+/healthz failed"):
        call_command("smoke_test", "--url", f"http://127.0.0.1:{port}", "--timeout", "2")


def test_it_fails_when_the_api_refuses_the_token(
    live_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As when the web tier verifies tokens with another key than the smoke test signs with.
    from todo_project.accounts.management.commands import smoke_test

    monkeypatch.setattr(
        smoke_test, "issue_tokens", lambda user: SimpleNamespace(access="signed.elsewhere.x")
    )

    with pytest.raises(CommandError, match="GET /api/todos with a token answered 401"):
        call_command("smoke_test", "--url", live_server.url)
    assert not User.objects.filter(username__startswith=SMOKE_USER_PREFIX).exists()
