"""A wall-clock time in a time zone as one instant, without shifting it: a time the clocks
skip (spring forward) is an error, a time that happens twice (fall back) is a question
until the person says which (`fold`: 0 = the earlier instant, 1 = the later). Quick add
and the task form ask the same question in the same words."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo


class WallTimeError(ValueError):
    """The wall time does not exist in the zone: the clocks skip it."""


class AmbiguousWallTime(ValueError):
    """The wall time happens twice in the zone; `instants` holds both, earlier first."""

    def __init__(self, first: datetime, second: datetime) -> None:
        super().__init__(ambiguous_message(first))
        self.instants = (first, second)


def resolve(naive: datetime, zone: ZoneInfo, fold: int | None = None) -> datetime:
    """`naive` read in `zone`. Raises WallTimeError for a skipped time, and
    AmbiguousWallTime for a repeated one unless `fold` (0 or 1) says which."""
    first, second = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        raise WallTimeError(
            f"{naive:%H:%M} does not exist on {naive.day} {naive:%B %Y} in {zone.key}"
            " (the clocks skip it): choose another time."
        )
    if fold in (0, 1):
        return first if fold == 0 else second
    raise AmbiguousWallTime(first, second)


def ambiguous_message(first: datetime) -> str:
    return (
        f"{first:%H:%M} happens twice on {first.day} {first:%B %Y} in {first.tzinfo}: choose which."
    )


def fold_labels(first: datetime, second: datetime) -> list[tuple[int, str]]:
    """The two answers to the question, as (fold, label)."""
    return [
        (0, f"{first:%H:%M} {first.tzname()} (the first)"),
        (1, f"{second:%H:%M} {second.tzname()} (the second)"),
    ]
