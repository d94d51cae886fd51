"""What the apps plug into the bus: the handlers of each topic, the background loops that
run beside the local bus, and the routes of Dapr job triggers.

The bus knows no app. Each app registers its parts from its AppConfig.ready(): handlers
listed in `<app>/handlers.py` as `HANDLERS`, loops and job routes next to them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from .envelope import Event


@dataclass(frozen=True)
class Handler:
    name: str
    topic: str
    #: The effect, for one or more events of `topic` in order: a single event is a batch
    #: of one (the Dapr worker), the relay hands over all the ready rows (embedded mode).
    func: Callable[[Sequence[Event]], None]
    event_types: frozenset[str] = field(default_factory=frozenset)
    #: False for effects outside the database (pushing to WebSockets), which are idempotent
    #: by version on the client and need no deduplication row.
    dedupe: bool = True

    def accepts(self, event: Event) -> bool:
        return not self.event_types or event.event_type in self.event_types


class Loop(Protocol):
    """A background thread started and stopped with the process (a reminder scheduler)."""

    name: str

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def join(self, timeout: float | None = None) -> None: ...


@dataclass(frozen=True)
class JobRoute:
    """Dapr job triggers (`POST /job/<name>`) whose name starts with `prefix`.

    `trigger(name, body)` answers (HTTP status, reason). `catch_up()` runs once after the
    worker's subscriptions are open, for the jobs that came due while it was down (their
    triggers may have been missed); it returns how many it handled.
    """

    prefix: str
    trigger: Callable[[str, bytes], tuple[int, str]]
    catch_up: Callable[[], int] | None = None


_handlers: dict[str, Handler] = {}
_local_loops: dict[str, Callable[[], Loop]] = {}
_worker_loops: dict[str, Callable[[], Loop]] = {}
_job_routes: dict[str, JobRoute] = {}


def register_handlers(handlers: Iterable[Handler]) -> None:
    for handler in handlers:
        existing = _handlers.get(handler.name)
        if existing is not None and existing != handler:
            raise ValueError(f"handler name {handler.name!r} registered twice")
        _handlers[handler.name] = handler


def handlers_for(topic: str) -> list[Handler]:
    return [handler for handler in _handlers.values() if handler.topic == topic]


def all_handlers() -> list[Handler]:
    return list(_handlers.values())


def register_local_loop(name: str, factory: Callable[[], Loop]) -> None:
    """A loop that runs wherever the local bus runs (the embedded web process, or
    `manage.py worker` with EVENT_BACKEND=local), started after its relay."""
    _register_loop(_local_loops, name, factory)


def local_loops() -> list[Loop]:
    """A new instance of every registered local loop, in registration order."""
    return [factory() for factory in _local_loops.values()]


def register_worker_loop(name: str, factory: Callable[[], Loop]) -> None:
    """A loop that runs wherever the handlers run: beside the local bus, and in
    `manage.py worker` with EVENT_BACKEND=dapr too (an e-mail sender)."""
    _register_loop(_worker_loops, name, factory)


def _register_loop(
    loops: dict[str, Callable[[], Loop]], name: str, factory: Callable[[], Loop]
) -> None:
    existing = loops.get(name)
    if existing is not None and existing != factory:
        raise ValueError(f"loop {name!r} registered twice")
    loops[name] = factory


def worker_loops() -> list[Loop]:
    """A new instance of every registered worker loop, in registration order."""
    return [factory() for factory in _worker_loops.values()]


def register_job_route(route: JobRoute) -> None:
    existing = _job_routes.get(route.prefix)
    if existing is not None and existing != route:
        raise ValueError(f"job prefix {route.prefix!r} registered twice")
    _job_routes[route.prefix] = route


def job_route_for(name: str) -> JobRoute | None:
    """The route whose prefix the job name starts with (the longest if several do)."""
    matching = [route for prefix, route in _job_routes.items() if name.startswith(prefix)]
    return max(matching, key=lambda route: len(route.prefix), default=None)


def job_routes() -> list[JobRoute]:
    return list(_job_routes.values())
