"""Background loops of embedded mode, run inside the web process."""

from __future__ import annotations

import logging
import threading

from .publishers import LocalBus
from .relay import RelayLoop

logger = logging.getLogger(__name__)
_started = threading.Lock()
_loops: list[threading.Thread] = []


def start_embedded() -> list[threading.Thread]:
    """Start the relay (feeding the local bus) and the reminder scheduler once per process."""
    if not _started.acquire(blocking=False):
        return _loops
    from tasks.reminders import ReminderScheduler

    _loops.extend([RelayLoop(LocalBus()), ReminderScheduler()])
    for loop in _loops:
        loop.start()
    logger.info("embedded worker started: %s", ", ".join(loop.name for loop in _loops))
    return _loops


def stop_embedded() -> None:
    for loop in _loops:
        loop.stop()  # type: ignore[attr-defined]
    for loop in _loops:
        loop.join(timeout=10)
