"""Background loops of the web process.

- Embedded mode (RUN_EMBEDDED_WORKER): the relay feeding the local bus, whose handlers run
  here, and the loops the apps registered beside it (the reminder scheduler).
- Dapr mode: only the relay, publishing to Dapr. It wakes on this process's commits, so an
  event leaves as soon as its request committed instead of waiting for the worker's poll;
  the worker's relay runs beside it (rows are claimed with SKIP LOCKED).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)
_started = threading.Lock()
_loops: list[Any] = []


def background_loops() -> list[Any]:
    from .publishers import DaprPublisher, dapr_gateway
    from .relay import RelayLoop

    if settings.RUN_EMBEDDED_WORKER:
        return embedded_loops()
    if settings.EVENT_BACKEND == "dapr":
        return [*listener_loops(), RelayLoop(DaprPublisher(dapr_gateway()))]
    return []  # local bus with a separate `manage.py worker`: it relays and handles


def embedded_loops() -> list[Any]:
    """Relay feeding the in-process handlers, and the apps' loops (local bus)."""
    from .publishers import LocalBus
    from .registry import local_loops, worker_loops
    from .relay import RelayLoop

    return [*listener_loops(), RelayLoop(LocalBus()), *local_loops(), *worker_loops()]


def listener_loops() -> list[Any]:
    """A LISTEN thread where other processes' commits can wake this one (PostgreSQL)."""
    from .notify import OutboxListener

    return [OutboxListener()] if settings.IS_POSTGRES else []


def start_background() -> list[Any]:
    """Start this process's loops once (idempotent)."""
    if not _started.acquire(blocking=False):
        return _loops
    _loops.extend(background_loops())
    for loop in _loops:
        loop.start()
    if _loops:
        logger.info("background loops started: %s", ", ".join(loop.name for loop in _loops))
    return _loops


def stop_background() -> None:
    for loop in _loops:
        loop.stop()
    for loop in _loops:
        loop.join(timeout=10)
