"""The event envelope of DESIGN.md section 6, built and parsed in one place."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

TASK_EVENTS = "task-events"
TASK_UPDATES = "task-updates"
REMINDERS = "reminders"
TOPICS = (TASK_EVENTS, REMINDERS, TASK_UPDATES)


def dead_letter_topic(topic: str) -> str:
    return f"{topic}-dlq"


class PoisonMessage(ValueError):
    """The message can never be handled: not JSON, or not an envelope."""


@dataclass(frozen=True)
class Event:
    event_id: uuid.UUID
    event_type: str
    timestamp: datetime
    payload: dict[str, Any]

    @property
    def user_id(self) -> int | None:
        value = self.payload.get("user_id")
        return int(value) if value is not None else None

    def to_envelope(self) -> dict[str, Any]:
        return {
            "event_id": str(self.event_id),
            "event_type": self.event_type,
            "timestamp": self.timestamp.isoformat().replace("+00:00", "Z"),
            "payload": self.payload,
        }


class PayloadEncoder(DjangoJSONEncoder):
    """Django's encoder, except that date-times keep their microseconds: Django cuts them
    to milliseconds, and a consumer comparing an instant with the database (a reminder
    trigger) would then see a different time."""

    def default(self, o: Any) -> Any:
        if isinstance(o, datetime):
            text = o.isoformat()
            return text[:-6] + "Z" if text.endswith("+00:00") else text
        return super().default(o)


def build_event(event_type: str, payload: dict[str, Any]) -> Event:
    # Round-trip through JSON so the payload holds exactly what consumers will receive.
    clean = json.loads(json.dumps(payload, cls=PayloadEncoder))
    return Event(
        event_id=uuid.uuid4(), event_type=event_type, timestamp=timezone.now(), payload=clean
    )


def encode(event: Event) -> bytes:
    return json.dumps(event.to_envelope(), separators=(",", ":")).encode()


def parse_envelope(raw: bytes | str | dict[str, Any]) -> Event:
    """Parse an envelope, unwrapping a CloudEvent if Dapr left one around it."""
    try:
        data: Any = raw if isinstance(raw, dict) else json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PoisonMessage(f"not JSON: {exc}") from exc
    if isinstance(data, dict) and "specversion" in data and "data" in data:
        data = data["data"]
        if isinstance(data, (str, bytes)):
            return parse_envelope(data)
    if not isinstance(data, dict):
        raise PoisonMessage("envelope is not a JSON object")
    missing = [key for key in ("event_id", "event_type", "timestamp", "payload") if key not in data]
    if missing:
        raise PoisonMessage(f"envelope lacks {', '.join(missing)}")
    try:
        event_id = uuid.UUID(str(data["event_id"]))
    except ValueError as exc:
        raise PoisonMessage("event_id is not a UUID") from exc
    timestamp = _parse_timestamp(data["timestamp"])
    if not isinstance(data["payload"], dict) or not isinstance(data["event_type"], str):
        raise PoisonMessage("payload must be an object and event_type a string")
    return Event(event_id, data["event_type"], timestamp, data["payload"])


def parse_instant(value: Any) -> datetime | None:
    """A date-time from a payload (ISO 8601 with an offset, as build_event writes it)."""
    if value is None or value == "":
        return None
    parsed = (
        value
        if isinstance(value, datetime)
        else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    )
    if parsed.tzinfo is None:
        raise ValueError(f"{value!r} has no UTC offset")
    return parsed


def _parse_timestamp(value: Any) -> datetime:
    if not isinstance(value, str):
        raise PoisonMessage("timestamp is not a string")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise PoisonMessage(f"timestamp {value!r} is not ISO 8601") from exc
    if parsed.tzinfo is None:
        raise PoisonMessage("timestamp has no UTC offset")
    return parsed
