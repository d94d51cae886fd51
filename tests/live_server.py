"""A real server for tests that need one: daphne in a subprocess on its own database.

Embedded mode: one daphne process runs the web, the outbox relay, the handlers and the
reminder scheduler (RUN_EMBEDDED_WORKER=true, the in-memory channel layer).
Distributed mode: daphne with RUN_EMBEDDED_WORKER=false plus `manage.py worker`, sharing
the database and a Redis channel layer.

The database is an SQLite file in a temporary directory, or, when DATABASE_URL points at
PostgreSQL, a database of its own created here and dropped afterwards. Used by the
browser tests and the sign-in flood test (tests/accounts/test_flood.py).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

import httpx

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PASSWORD = "a long browser password"
USERS = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy")
TIMEZONE = "Europe/Berlin"

SETUP_SCRIPT = """
import sys, django
django.setup()
from django.core.management import call_command
from django.contrib.auth.hashers import make_password
from todo_project.accounts.models import User
call_command("migrate", verbosity=0, interactive=False)
hashed = make_password(sys.argv[1])  # hashed once: the slow part
User.objects.bulk_create(
    [User(username=name, password=hashed, timezone=sys.argv[2]) for name in sys.argv[3:]]
)
"""


_databases = itertools.count(1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    url: str
    env: dict[str, str]
    workdir: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    web_command: list[str] = field(default_factory=list)
    web_log: Path | None = None
    root: Path = ROOT
    _tokens: dict[str, str] = field(default_factory=dict)

    def stop_web(self) -> None:
        """Stop daphne (SIGTERM, as a deployment does) and leave it stopped."""
        _stop(self.processes[0])

    def start_web(self) -> None:
        """Start daphne again on the same port and database; returns once it is healthy."""
        assert self.web_log is not None and self.processes[0].poll() is not None
        self.processes[0] = _spawn(self.web_command, self.env, self.web_log, self.root, append=True)
        _wait_healthy(self)

    def logs(self) -> str:
        parts = []
        for path in sorted(self.workdir.glob("*.log")):
            parts.append(f"--- {path.name} ---\n{path.read_text(errors='replace')[-6000:]}")
        return "\n".join(parts)

    def token(self, username: str) -> str:
        if username not in self._tokens:
            response = httpx.post(
                f"{self.url}/api/auth/token",
                json={"username": username, "password": PASSWORD},
                timeout=10,
            )
            response.raise_for_status()
            self._tokens[username] = response.json()["access"]
        return self._tokens[username]

    def api(self, username: str, method: str, path: str, **kwargs: Any) -> Any:
        """Call the JSON API as `username`: a quick way to set up data the test is not about."""
        response = httpx.request(
            method,
            f"{self.url}/api{path}",
            headers={"Authorization": f"Bearer {self.token(username)}"},
            timeout=10,
            **kwargs,
        )
        response.raise_for_status()
        return response.json() if response.content else None


@contextlib.contextmanager
def database_url(workdir: Path, label: str) -> Iterator[str]:
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql://")):
        yield f"sqlite:///{workdir / 'db.sqlite3'}"
        return
    import psycopg

    # One per server, also when a test starts a second one beside its module's.
    name = f"todo_browser_{os.getpid()}_{label}_{next(_databases)}"
    parsed = urlparse(base)
    admin_url = urlunparse(parsed._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunparse(parsed._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _spawn(
    args: list[str], env: dict[str, str], log: Path, root: Path = ROOT, *, append: bool = False
) -> subprocess.Popen[bytes]:
    handle = log.open("ab" if append else "wb")
    return subprocess.Popen(
        args, cwd=root, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def _wait_healthy(server: Server, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for process in server.processes:
            if process.poll() is not None:
                raise RuntimeError(f"server process exited early\n{server.logs()}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server did not become healthy\n{server.logs()}")


@contextlib.contextmanager
def run_server(
    workdir: Path,
    *,
    redis_url: str = "",
    env_overrides: Mapping[str, str] | None = None,
    daphne_args: tuple[str, ...] = (),
    root: Path = ROOT,
) -> Iterator[Server]:
    """The app of the source tree `root` (this one, or an older checkout for a benchmark's
    before-and-after), served on a free port until the block ends."""
    label = "redis" if redis_url else "embedded"
    with database_url(workdir, label) as db_url:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "todo_project.settings",
            "DATABASE_URL": db_url,
            "DATA_DIR": str(workdir),
            "DEBUG": "true",
            "EVENT_BACKEND": "local",
            "REDIS_URL": redis_url,
            "RUN_EMBEDDED_WORKER": "false" if redis_url else "true",
            # The web's commit wakes only a relay in its own process; a separate worker
            # finds new outbox rows by polling.
            "OUTBOX_POLL_SECONDS": "0.2",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            # Every context of the session signs in from 127.0.0.1: a budget for the suite,
            # not for one person (the limits have tests of their own in tests/accounts).
            "RATE_LIMIT_CREDENTIALS": "1000/minute",
            "RATE_LIMIT_SIGNUPS": "1000/hour",
            # The tree to serve comes first on the path, before the editable install.
            "PYTHONPATH": str(root),
            **(env_overrides or {}),
        }
        python = str(BIN / "python")
        subprocess.run(
            [python, "-c", SETUP_SCRIPT, PASSWORD, TIMEZONE, *USERS],
            cwd=root,
            env=env,
            check=True,
            capture_output=True,
        )
        port = free_port()
        daphne = [
            str(BIN / "daphne"),
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            *daphne_args,
            "todo_project.asgi:application",
        ]
        web_log = workdir / f"{label}-web.log"
        server = Server(
            url=f"http://127.0.0.1:{port}",
            env=env,
            workdir=workdir,
            web_command=daphne,
            web_log=web_log,
            root=root,
        )
        server.processes.append(_spawn(daphne, env, web_log, root))
        if redis_url:
            worker = [python, "manage.py", "worker"]
            server.processes.append(_spawn(worker, env, workdir / f"{label}-worker.log", root))
        try:
            _wait_healthy(server)
            yield server
        finally:
            for process in server.processes:
                _stop(process)
