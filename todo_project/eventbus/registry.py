"""Which handler consumes which topic. Each app lists its handlers in `<app>/handlers.py`
as `HANDLERS` and registers them from its AppConfig.ready()."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

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
