"""Cross-process wake-ups on PostgreSQL: NOTIFY on commit, LISTEN in every relay process.

An in-process commit wakes the relay through a threading event. With separate processes
(web and worker, or several replicas) that event cannot cross, so each transaction that
writes outbox rows also sends NOTIFY, which PostgreSQL delivers at commit (and never for
a rollback), and a listener thread in each relaying process turns it into the same wake-up.
SQLite has no such channel: there the relay's poll is what reaches other processes.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import psycopg
from django.db import connection

from .signals import wake_relay

logger = logging.getLogger(__name__)
CHANNEL = "todo_outbox"


def notify_on_commit() -> None:
    """Within the caller's transaction: wake listening relays once it commits."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"NOTIFY {CHANNEL}")


def listener_params() -> dict[str, Any]:
    """The default database's connection parameters, for a dedicated autocommit session."""
    params = dict(connection.get_connection_params())
    for key in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(key, None)
    return params


class OutboxListener(threading.Thread):
    """LISTENs on its own connection and wakes the relay on every notification."""

    def __init__(self, params: dict[str, Any] | None = None, *, timeout: float = 1.0) -> None:
        super().__init__(name="outbox-listener", daemon=True)
        self.params = params
        self.timeout = timeout
        self.stopping = threading.Event()
        self.listening = threading.Event()

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> None:
        params = self.params if self.params is not None else listener_params()
        while not self.stopping.is_set():
            try:
                with psycopg.connect(**params, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    while not self.stopping.is_set():
                        for _ in conn.notifies(timeout=self.timeout):
                            wake_relay()
            except psycopg.Error as exc:
                self.listening.clear()
                logger.warning("outbox listener lost its connection (%s); retrying", exc)
                self.stopping.wait(2.0)
