"""Types the API's schemas share."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import PlainSerializer, WithJsonSchema


def rfc3339_utc(value: datetime) -> str:
    """`2026-11-28T09:30:00.000000Z`: UTC, always with its six fractional digits, whatever
    zone the value was computed in (a recurrence's instants are in the task's zone)."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


#: Every date-time the API returns.
Instant = Annotated[
    datetime,
    PlainSerializer(rfc3339_utc, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
