from __future__ import annotations

import threading

import pytest

from todo_project.eventbus.dapr_gateway import DaprUnavailable, check_state_key


class StateGateway:
    """The two gateway calls DaprStateDedup makes, over a dict. ``down = True`` makes
    both raise DaprUnavailable, as the real gateway does when the sidecar is gone."""

    def __init__(self) -> None:
        self.keys: dict[str, tuple[bytes, int]] = {}
        self.down = False
        self._lock = threading.Lock()

    def _check(self, key: str) -> None:
        check_state_key(key)
        if self.down:
            raise DaprUnavailable("injected: state store unreachable")

    def state_exists(self, key: str) -> bool:
        self._check(key)
        return key in self.keys

    def save_state_first_write(self, key: str, value: bytes, *, ttl_seconds: int) -> bool:
        self._check(key)
        with self._lock:
            if key in self.keys:
                return False
            self.keys[key] = (value, ttl_seconds)
            return True


@pytest.fixture
def state_gateway() -> StateGateway:
    return StateGateway()
