from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from todo_project.eventbus.envelope import build_event, parse_envelope, parse_instant

BERLIN = ZoneInfo("Europe/Berlin")


def test_payload_date_times_keep_their_microseconds() -> None:
    """A consumer compares the instant with the database (a reminder trigger): Django's
    encoder would cut it to milliseconds."""
    at = datetime(2026, 12, 4, 8, 30, 1, 123456, tzinfo=UTC)
    local = datetime(2026, 12, 4, 9, 30, 1, 654321, tzinfo=BERLIN)

    payload = build_event("ReminderDue", {"utc": at, "local": local}).payload

    assert payload == {
        "utc": "2026-12-04T08:30:01.123456Z",
        "local": "2026-12-04T09:30:01.654321+01:00",
    }
    assert parse_instant(payload["utc"]) == at
    assert parse_instant(payload["local"]) == local


def test_other_payload_values_are_encoded_as_django_does() -> None:
    payload = build_event("X", {"day": date(2026, 12, 4), "amount": Decimal("1.50")}).payload
    assert payload == {"day": "2026-12-04", "amount": "1.50"}


def test_an_envelope_survives_the_round_trip_to_the_microsecond() -> None:
    event = build_event("TaskCreated", {"task_id": 1})
    parsed = parse_envelope(event.to_envelope())
    assert (parsed.event_id, parsed.timestamp, parsed.payload) == (
        event.event_id,
        event.timestamp,
        event.payload,
    )
