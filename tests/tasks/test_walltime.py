from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from tasks import walltime

BERLIN = ZoneInfo("Europe/Berlin")


def test_an_ordinary_time_is_that_instant():
    assert walltime.resolve(datetime(2027, 10, 30, 2, 30), BERLIN) == datetime(
        2027, 10, 30, 0, 30, tzinfo=UTC
    )


def test_a_skipped_time_is_an_error():
    with pytest.raises(walltime.WallTimeError, match="02:30 does not exist on 28 March 2027"):
        walltime.resolve(datetime(2027, 3, 28, 2, 30), BERLIN, fold=0)


def test_a_repeated_time_is_a_question_until_answered():
    with pytest.raises(walltime.AmbiguousWallTime) as question:
        walltime.resolve(datetime(2027, 10, 31, 2, 30), BERLIN)
    first, second = question.value.instants
    assert str(question.value) == (
        "02:30 happens twice on 31 October 2027 in Europe/Berlin: choose which."
    )
    assert walltime.fold_labels(first, second) == [
        (0, "02:30 CEST (the first)"),
        (1, "02:30 CET (the second)"),
    ]
    assert walltime.resolve(datetime(2027, 10, 31, 2, 30), BERLIN, fold=0) == first
    assert walltime.resolve(datetime(2027, 10, 31, 2, 30), BERLIN, fold=1) == second
    assert (second.astimezone(UTC) - first.astimezone(UTC)).total_seconds() == 3600
