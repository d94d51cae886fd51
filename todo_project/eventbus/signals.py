"""Wake-ups between the writers and the in-process loops (relay, reminder scheduler).

Plain threading events: a commit in this process wakes the loop at once; loops in other
processes rely on their poll interval (or LISTEN/NOTIFY on PostgreSQL).
"""

from __future__ import annotations

import threading

relay_wakeup = threading.Event()
scheduler_wakeup = threading.Event()


def wake_relay() -> None:
    relay_wakeup.set()


def wake_scheduler() -> None:
    scheduler_wakeup.set()
