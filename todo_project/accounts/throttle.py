"""Limits on every endpoint that takes a credential, kept in the cache's Redis (or in
memory in embedded mode) by the `limits` library, and a cap on password checks at once.

- Each client address may POST to the credential endpoints (API token and refresh, web
  and admin login, signup, password change) RATE_LIMITS["credentials-per-address"] times;
  signups have a tighter limit of their own.
- Each username, normalised (NFKC, case-folded: a fullwidth `eve` and `EVE` are `eve`), may fail its
  password check RATE_LIMITS["failures-per-username"] times, from any address.
- At most PASSWORD_CHECKS_AT_ONCE password checks run at once in a process, so a flood of
  sign-ins cannot take every worker thread and CPU from other users' requests; one that
  finds no free slot is answered 429 at once instead of queueing.

Over a limit the answer is 429 with Retry-After (ThrottleMiddleware), before any database
or password work. REMOTE_ADDR is the client address: behind a proxy, daphne's
--proxy-headers sets it from X-Forwarded-For.
"""

from __future__ import annotations

import contextlib
import functools
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from limits import RateLimitItem, parse, storage, strategies

from .models import login_key


class RateLimited(Exception):
    """Refused for now; `retry_after` seconds until the next attempt may pass."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = max(1, retry_after)


@dataclass(frozen=True)
class Limit:
    name: str
    item: RateLimitItem
    message: str


def limiter() -> strategies.MovingWindowRateLimiter:
    return _limiter(settings.RATE_LIMIT_STORAGE)


@functools.cache
def _limiter(url: str) -> strategies.MovingWindowRateLimiter:
    return strategies.MovingWindowRateLimiter(storage.storage_from_string(url))


MESSAGES = {
    "credentials-per-address": "Too many sign-in attempts from your network.",
    "signups-per-address": "Too many sign-ups from your network.",
    "failures-per-username": "Too many failed sign-ins for this account.",
    "calendar-feeds-per-address": "Too many calendar feed requests from your network.",
    "calendar-feed-per-url": "Too many requests for this calendar feed.",
}


def limit(name: str) -> Limit:
    return Limit(name, _parsed(settings.RATE_LIMITS[name]), MESSAGES[name])


@functools.cache
def _parsed(text: str) -> RateLimitItem:
    return parse(text)


def _refused(rule: Limit, *key: str) -> RateLimited:
    reset = limiter().get_window_stats(rule.item, rule.name, *key).reset_time
    return RateLimited(f"{rule.message} Try again later.", math.ceil(reset - time.time()))


def hit(name: str, *key: str) -> None:
    """Count one attempt; RateLimited if it is one too many."""
    rule = limit(name)
    if not limiter().hit(rule.item, rule.name, *key):
        raise _refused(rule, *key)


def check(name: str, *key: str) -> None:
    """RateLimited if the limit is reached, without counting an attempt."""
    rule = limit(name)
    if not limiter().test(rule.item, rule.name, *key):
        raise _refused(rule, *key)


def clear(name: str, *key: str) -> None:
    limiter().clear(limit(name).item, name, *key)


def check_username(username: str) -> None:
    check("failures-per-username", login_key(username))


def record_failure(username: str) -> None:
    limiter().hit(limit("failures-per-username").item, "failures-per-username", login_key(username))


def record_success(username: str) -> None:
    clear("failures-per-username", login_key(username))


@functools.cache
def _password_slots(size: int) -> threading.BoundedSemaphore:
    return threading.BoundedSemaphore(size)


@contextlib.contextmanager
def password_check_slot() -> Iterator[None]:
    """One of the PASSWORD_CHECKS_AT_ONCE slots, or RateLimited at once (never a queue)."""
    slots = _password_slots(settings.PASSWORD_CHECKS_AT_ONCE)
    if not slots.acquire(blocking=False):
        raise RateLimited("The server is busy checking passwords. Try again in a moment.", 1)
    try:
        yield
    finally:
        slots.release()
