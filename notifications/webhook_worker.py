"""The webhook delivery loop: a thread wherever the handlers run (the embedded web
process, or `manage.py worker` in either mode) that sends the due deliveries."""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from . import webhook_selectors
from .webhooks import delivery_wakeup, webhook_deliver_due, webhook_log_prune

#: How often the loop deletes the log past its retention.
PRUNE_EVERY_SECONDS = 3600.0


class WebhookDeliveryLoop(threading.Thread):
    """Sends what is due, then sleeps until the next retry is due or a new delivery
    commits in this process; WEBHOOK_POLL_SECONDS at most, for deliveries that other
    processes wrote (a test event from the web process in Dapr mode)."""

    def __init__(self, *, poll_seconds: float | None = None) -> None:
        super().__init__(name="webhook-delivery", daemon=True)
        self.poll_seconds = poll_seconds or settings.WEBHOOK_POLL_SECONDS
        self.stopping = threading.Event()
        self._pruned_at: float | None = None

    def stop(self) -> None:
        self.stopping.set()
        delivery_wakeup.set()

    def run(self) -> None:
        while not self.stopping.is_set():
            delivery_wakeup.clear()
            sleep = self.poll_seconds
            try:
                while not self.stopping.is_set() and webhook_deliver_due(
                    workers=settings.WEBHOOK_CONCURRENCY
                ):
                    pass
                now = time.monotonic()
                if self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY_SECONDS:
                    self._pruned_at = now
                    webhook_log_prune()
                upcoming = webhook_selectors.next_delivery_at()
                if upcoming is not None:
                    wait = (upcoming - timezone.now()).total_seconds()
                    sleep = min(sleep, max(0.05, wait))
            except Exception:
                logging.getLogger(__name__).exception("webhook delivery pass failed")
            finally:
                close_old_connections()
            delivery_wakeup.wait(sleep)
