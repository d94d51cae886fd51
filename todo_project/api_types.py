"""Types the API's schemas share."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AwareDatetime, BeforeValidator, PlainSerializer, WithJsonSchema

#: JSON Schema pattern: text may hold anything but NUL (PostgreSQL cannot store it).
NO_NUL = r"^[^\x00]*$"


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


# Request bodies arrive as parsed JSON and are validated in pydantic's lax Python mode,
# which would take `0` as 1970-01-01, `false` as 0 and `"5"` as 5. The API takes what its
# document says, in JSON's own types: a date-time is a string, an integer a number.


def _text_only(value: object) -> object:
    if isinstance(value, str):
        return value
    raise ValueError("Give a date or date-time as a string, e.g. 2027-01-31T09:30:00Z.")


def _integer_only(value: object) -> object:
    # JSON Schema counts 5.0 as an integer; a boolean or a string is not one.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("Input should be an integer.")
    return value


#: Makes a date or date-time one that a client sends as a string (after the constraints).
JSON_TEXT = BeforeValidator(_text_only)
#: A date-time a client sends: an RFC 3339 string with an offset or Z.
AwareInstant = Annotated[AwareDatetime, JSON_TEXT]
#: Makes an `int` one that a client sends as a JSON number without a fraction. Put it after
#: the field's constraints (ge, le), or pydantic leaves them out of the JSON Schema.
JSON_INTEGER = BeforeValidator(_integer_only)
