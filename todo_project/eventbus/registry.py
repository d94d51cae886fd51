"""Which handler consumes which topic. Each app lists its handlers in `<app>/handlers.py`
as `HANDLERS` and registers them from its AppConfig.ready()."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .envelope import Event


@dataclass(frozen=True)
class Handler:
    name: str
    topic: str
    func: Callable[[Event], None]
    event_types: frozenset[str] = field(default_factory=frozenset)
    #: False for effects outside the database (pushing to WebSockets), which are idempotent
    #: by version on the client and need no deduplication row.
    dedupe: bool = True
    #: The same effect for several events at once, in order (e.g. one bulk INSERT); used
    #: when the relay delivers a batch in embedded mode. Default: func for each event.
    batch_func: Callable[[list[Event]], None] | None = None

    def accepts(self, event: Event) -> bool:
        return not self.event_types or event.event_type in self.event_types

    def run_batch(self, events: list[Event]) -> None:
        if self.batch_func is not None:
            self.batch_func(events)
            return
        for event in events:
            self.func(event)


_handlers: dict[str, Handler] = {}


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
