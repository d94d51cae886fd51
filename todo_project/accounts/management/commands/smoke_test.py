"""`manage.py smoke_test --url http://todo.todo.svc`: is a deployed release serving?

Run by the chart's `helm test` pod (helm/todo/templates/tests/smoke-test.yaml), and usable
by hand against any deployment whose database this process reaches. Checks that
/healthz and /readyz answer 200, then makes one authenticated API call: it creates a
throw-away user with no usable password, lists that user's tasks with an access token,
and deletes the user again whatever happened.
"""

from __future__ import annotations

import json
import secrets
import urllib.error
import urllib.request
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from todo_project.accounts.models import User
from todo_project.accounts.tokens import issue_tokens

SMOKE_USER_PREFIX = "smoke-test-"


class Command(BaseCommand):
    help = "Check that a deployment serves: health routes and one authenticated API call."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", required=True, help="Base URL of the web Service.")
        parser.add_argument("--timeout", type=float, default=10.0, help="Seconds per request.")

    def handle(self, *args: Any, **options: Any) -> None:
        base = options["url"].rstrip("/")
        timeout = options["timeout"]
        for path in ("/healthz", "/readyz"):
            status, body = fetch(f"{base}{path}", timeout=timeout)
            self.require(status == 200, f"GET {path} answered {status}: {body[:200]!r}")
            self.stdout.write(f"ok  GET {path} -> {status} {body.strip()[:120]}")
        user = User.objects.create_user(username=SMOKE_USER_PREFIX + secrets.token_hex(6))
        try:
            token = issue_tokens(user).access
            status, body = fetch(
                f"{base}/api/todos", timeout=timeout, headers={"Authorization": f"Bearer {token}"}
            )
            self.require(
                status == 200, f"GET /api/todos with a token answered {status}: {body[:200]!r}"
            )
            listed = json.loads(body)
            self.require(
                isinstance(listed, dict) and listed.get("items") == [],
                f"GET /api/todos for a new user did not list no tasks: {body[:200]!r}",
            )
            self.stdout.write(f"ok  GET /api/todos as {user.username} -> {status}, no tasks")
        finally:
            user.delete()
        self.stdout.write(self.style.SUCCESS(f"smoke test passed against {base}"))

    @staticmethod
    def require(condition: bool, message: str) -> None:
        if not condition:
            raise CommandError(message)


def fetch(url: str, *, timeout: float, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Accept": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")
    except (urllib.error.URLError, TimeoutError) as exc:
        raise CommandError(f"GET {url} failed: {exc}") from exc
