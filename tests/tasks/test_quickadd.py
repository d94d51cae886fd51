"""tasks/quickadd.py: the golden phrases, each with its title, due date and RRULE at a fixed
"now" (Wednesday 25 March 2026, 12:00 in Berlin, four days before the clocks go forward),
and the rules for what is applied, kept, offered and asked."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from tasks import quickadd, recurrence

NOW = datetime(2026, 3, 25, 12, 0, tzinfo=ZoneInfo("Europe/Berlin"))
BERLIN = "Europe/Berlin"


def read(text, tz=BERLIN, order="DMY", **options):
    return quickadd.parse(text, now=NOW, tz=tz, date_order=order, **options)


# (text, time zone, date order, title, due date in that zone, RRULE)
GOLDEN = [
    ("Call mom tomorrow 5pm", "Europe/Berlin", "DMY", "Call mom", "2026-03-26T17:00:00+01:00", ""),
    (
        "Dentist next Monday at 10",
        "Europe/Berlin",
        "DMY",
        "Dentist",
        "2026-03-30T10:00:00+02:00",
        "",
    ),
    (
        "Pay rent every month on the 1st",
        "Europe/Berlin",
        "DMY",
        "Pay rent",
        "2026-04-01T09:00:00+02:00",
        "FREQ=MONTHLY;BYMONTHDAY=1",
    ),
    (
        "Standup every weekday at 9:30",
        "Europe/Berlin",
        "DMY",
        "Standup",
        "2026-03-26T09:30:00+01:00",
        "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
    ),
    (
        "every weekday at 9:30 standup",
        "Europe/Berlin",
        "DMY",
        "standup",
        "2026-03-26T09:30:00+01:00",
        "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
    ),
    (
        "Water plants every 3 days",
        "Europe/Berlin",
        "DMY",
        "Water plants",
        "2026-03-25T09:00:00+01:00",
        "FREQ=DAILY;INTERVAL=3",
    ),
    (
        "Review every 3rd Friday",
        "Europe/Berlin",
        "DMY",
        "Review",
        "2026-04-17T09:00:00+02:00",
        "FREQ=MONTHLY;BYDAY=3FR",
    ),
    (
        "Gym every Monday and Wednesday at 7am",
        "Europe/Berlin",
        "DMY",
        "Gym",
        "2026-03-30T07:00:00+02:00",
        "FREQ=WEEKLY;BYDAY=MO,WE",
    ),
    (
        "Yoga every tue, thu and sat 18:00",
        "Europe/Berlin",
        "DMY",
        "Yoga",
        "2026-03-26T18:00:00+01:00",
        "FREQ=WEEKLY;BYDAY=TU,TH,SA",
    ),
    (
        "Team sync every other Monday at 11",
        "Europe/Berlin",
        "DMY",
        "Team sync",
        "2026-03-30T11:00:00+02:00",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO",
    ),
    (
        "Backups every 2 weeks on Friday",
        "Europe/Berlin",
        "DMY",
        "Backups",
        "2026-03-27T09:00:00+01:00",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=FR",
    ),
    (
        "Clean every weekend",
        "Europe/Berlin",
        "DMY",
        "Clean",
        "2026-03-28T09:00:00+01:00",
        "FREQ=WEEKLY;BYDAY=SA,SU",
    ),
    (
        "Vitamins daily at 8am",
        "Europe/Berlin",
        "DMY",
        "Vitamins",
        "2026-03-26T08:00:00+01:00",
        "FREQ=DAILY",
    ),
    (
        "Newsletter weekly",
        "Europe/Berlin",
        "DMY",
        "Newsletter",
        "2026-03-25T09:00:00+01:00",
        "FREQ=WEEKLY",
    ),
    (
        "Invoice monthly on the 15th",
        "Europe/Berlin",
        "DMY",
        "Invoice",
        "2026-04-15T09:00:00+02:00",
        "FREQ=MONTHLY;BYMONTHDAY=15",
    ),
    (
        "Bills on the last day of every month",
        "Europe/Berlin",
        "DMY",
        "Bills",
        "2026-03-31T09:00:00+02:00",
        "FREQ=MONTHLY;BYMONTHDAY=-1",
    ),
    (
        "Book club every last Thursday",
        "Europe/Berlin",
        "DMY",
        "Book club",
        "2026-03-26T09:00:00+01:00",
        "FREQ=MONTHLY;BYDAY=-1TH",
    ),
    (
        "Renew passport every year",
        "Europe/Berlin",
        "DMY",
        "Renew passport",
        "2026-03-25T09:00:00+01:00",
        "FREQ=YEARLY",
    ),
    (
        "Anniversary every year on June 5",
        "Europe/Berlin",
        "DMY",
        "Anniversary",
        "2026-06-05T09:00:00+02:00",
        "FREQ=YEARLY",
    ),
    (
        "Rent every 1st of the month",
        "Europe/Berlin",
        "DMY",
        "Rent",
        "2026-04-01T09:00:00+02:00",
        "FREQ=MONTHLY;BYMONTHDAY=1",
    ),
    (
        "Meds every day at 21:00",
        "Europe/Berlin",
        "DMY",
        "Meds",
        "2026-03-25T21:00:00+01:00",
        "FREQ=DAILY",
    ),
    (
        "Report every first Monday of the month at 9",
        "Europe/Berlin",
        "DMY",
        "Report",
        "2026-04-06T09:00:00+02:00",
        "FREQ=MONTHLY;BYDAY=1MO",
    ),
    (
        "Plan every 6 months",
        "Europe/Berlin",
        "DMY",
        "Plan",
        "2026-03-25T09:00:00+01:00",
        "FREQ=MONTHLY;INTERVAL=6",
    ),
    ("The 5th Wave", "Europe/Berlin", "DMY", "The 5th Wave", None, ""),
    ("Buy 2 tickets", "Europe/Berlin", "DMY", "Buy 2 tickets", None, ""),
    ("Read 1984", "Europe/Berlin", "DMY", "Read 1984", None, ""),
    ("Lunch friday at noon", "Europe/Berlin", "DMY", "Lunch", "2026-03-27T12:00:00+01:00", ""),
    ("Call at 10", "Europe/Berlin", "DMY", "Call", "2026-03-26T10:00:00+01:00", ""),
    ("Email Anna 9:30", "Europe/Berlin", "DMY", "Email Anna", "2026-03-26T09:30:00+01:00", ""),
    (
        "Submit form today 6pm",
        "Europe/Berlin",
        "DMY",
        "Submit form",
        "2026-03-25T18:00:00+01:00",
        "",
    ),
    (
        "Pick up parcel in 3 days",
        "Europe/Berlin",
        "DMY",
        "Pick up parcel",
        "2026-03-28T09:00:00+01:00",
        "",
    ),
    (
        "Trip planning next week",
        "Europe/Berlin",
        "DMY",
        "Trip planning",
        "2026-04-01T09:00:00+02:00",
        "",
    ),
    (
        "Conference June 5 at 9am",
        "Europe/Berlin",
        "DMY",
        "Conference",
        "2026-06-05T09:00:00+02:00",
        "",
    ),
    ("Birthday 5 June", "Europe/Berlin", "DMY", "Birthday", "2026-06-05T09:00:00+02:00", ""),
    (
        "Deadline 2026-04-30 17:00",
        "Europe/Berlin",
        "DMY",
        "Deadline",
        "2026-04-30T17:00:00+02:00",
        "",
    ),
    ("Taxes on 03/04", "Europe/Berlin", "DMY", "Taxes", "2026-04-03T09:00:00+02:00", ""),
    ("Taxes on 03/04", "America/New_York", "MDY", "Taxes", "2027-03-04T09:00:00-05:00", ""),
    (
        "Christmas dinner 24.12. 18:00",
        "Europe/Berlin",
        "DMY",
        "Christmas dinner",
        "2026-12-24T18:00:00+01:00",
        "",
    ),
    ("Budget on the 1st", "Europe/Berlin", "DMY", "Budget", "2026-04-01T09:00:00+02:00", ""),
    ("Flight Sunday 9am", "Europe/Berlin", "DMY", "Flight", "2026-03-29T09:00:00+02:00", ""),
    ("Night train 29 March at 2:30", "Europe/Berlin", "DMY", "Night train", None, ""),
    ("Night shift 31 Oct 2027 at 2:30", "Europe/Berlin", "DMY", "Night shift", None, ""),
    (
        "Sleep every day at 2:30",
        "Europe/Berlin",
        "DMY",
        "Sleep",
        "2026-03-26T02:30:00+01:00",
        "FREQ=DAILY",
    ),
    (
        "Taxes #work/finance !high tomorrow",
        "Europe/Berlin",
        "DMY",
        "Taxes",
        "2026-03-26T09:00:00+01:00",
        "",
    ),
    ("!urgent", "Europe/Berlin", "DMY", "", None, ""),
    (
        "Call Tokyo office tomorrow 9am",
        "Asia/Tokyo",
        "DMY",
        "Call Tokyo office",
        "2026-03-26T09:00:00+09:00",
        "",
    ),
    (
        "Standup every weekday at 9:30",
        "America/New_York",
        "MDY",
        "Standup",
        "2026-03-25T09:30:00-04:00",
        "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
    ),
    ("Party midnight", "Europe/Berlin", "DMY", "Party", "2026-03-26T00:00:00+01:00", ""),
]


@pytest.mark.parametrize(("text", "tz", "order", "title", "due", "rule"), GOLDEN)
def test_golden_phrase(text, tz, order, title, due, rule):
    result = read(text, tz, order)
    assert result.title == title
    assert (result.due.isoformat() if result.due else None) == due
    assert result.recurrence == rule
    if result.due is not None:
        assert str(result.due.tzinfo) == tz
    if rule:
        # The service runs the same check: whatever quick add writes, it accepts.
        assert recurrence.validate_rule(rule, first_due=result.due, tz=tz) == rule


def test_the_golden_table_is_large_enough():
    assert len(GOLDEN) >= 40


def test_the_date_order_decides_a_numeric_date():
    assert read("Call 03/04 at 10", order="DMY").due == datetime(
        2026, 4, 3, 10, 0, tzinfo=ZoneInfo(BERLIN)
    )
    assert read("Call 03/04 at 10", order="MDY").due == datetime(
        2027, 3, 4, 10, 0, tzinfo=ZoneInfo(BERLIN)
    )


class TestWallTimes:
    def test_a_time_the_clocks_skip_is_a_problem_not_a_shifted_time(self):
        result = read("Night train 29 March at 2:30")
        assert result.due is None
        assert result.problem == (
            "02:30 does not exist on 29 March 2026 in Europe/Berlin (the clocks skip it): "
            "choose another time."
        )

    def test_a_time_that_happens_twice_is_a_question(self):
        result = read("Night shift 31 Oct 2027 at 2:30")
        assert result.due is None and result.problem is None
        first, second = result.ambiguous
        assert first.astimezone(UTC) == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)
        assert second.astimezone(UTC) == datetime(2027, 10, 31, 1, 30, tzinfo=UTC)

    @pytest.mark.parametrize(("fold", "utc_hour"), [(0, 0), (1, 1)])
    def test_fold_answers_the_question(self, fold, utc_hour):
        result = read("Night shift 31 Oct 2027 at 2:30", fold=fold)
        assert result.ambiguous is None
        assert result.due.astimezone(UTC) == datetime(2027, 10, 31, utc_hour, 30, tzinfo=UTC)

    def test_a_time_alone_that_has_passed_is_tomorrow(self):
        assert read("Call 11:00").due == datetime(2026, 3, 26, 11, 0, tzinfo=ZoneInfo(BERLIN))
        assert read("Call 13:00").due == datetime(2026, 3, 25, 13, 0, tzinfo=ZoneInfo(BERLIN))

    def test_a_date_alone_is_due_at_the_date_only_time(self):
        result = read("Call tomorrow")
        assert (result.due.time(), result.has_time) == (quickadd.DATE_ONLY_TIME, False)
        assert read("Call tomorrow at 8").has_time

    def test_now_must_be_aware(self):
        with pytest.raises(ValueError, match="aware"):
            quickadd.parse("x", now=datetime(2026, 1, 1), tz=BERLIN)


class TestChoices:
    def test_keep_leaves_a_phrase_in_the_title(self):
        result = read("Call mom tomorrow 5pm", keep=["Tomorrow"])
        assert result.title == "Call mom tomorrow"
        assert result.due == datetime(2026, 3, 25, 17, 0, tzinfo=ZoneInfo(BERLIN))
        assert [(s.text, s.applied) for s in result.spans] == [("tomorrow", False), ("5pm", True)]

    def test_literal_keeps_every_date_but_not_tags(self):
        result = read("Dentist next Monday at 10 #health", literal=True)
        assert (result.title, result.due, result.tags) == (
            "Dentist next Monday at 10",
            None,
            ("health",),
        )

    def test_an_uncertain_phrase_is_offered_not_applied(self):
        result = read("The 5th Wave")
        [span] = result.spans
        assert (span.text, span.kind, span.confident, span.applied) == (
            "The 5th",
            "date",
            False,
            False,
        )
        assert result.due is None

    def test_accept_applies_an_uncertain_phrase(self):
        result = read("The 5th Wave", accept=["the 5th"])
        assert result.title == "Wave"
        assert result.due == datetime(2026, 4, 5, 9, 0, tzinfo=ZoneInfo(BERLIN))

    def test_only_the_first_date_is_applied(self):
        result = read("Move Monday to Friday")
        assert result.title == "Move to Friday"
        assert [(s.text, s.applied) for s in result.spans] == [("Monday", True), ("Friday", False)]


class TestShorthand:
    def test_tags_priority_and_spans(self):
        result = read("Taxes #work/finance !high tomorrow")
        assert (result.tags, result.priority) == (("work/finance",), "high")
        assert [(s.start, s.end, s.kind) for s in result.spans] == [
            (6, 19, "tag"),
            (20, 25, "priority"),
            (26, 34, "date"),
        ]

    def test_a_lone_priority_leaves_no_title(self):
        result = read("!urgent")
        assert (result.title, result.priority) == ("", "urgent")

    def test_a_date_inside_a_tag_is_part_of_the_tag(self):
        result = read("Plan #tomorrow")
        assert (result.title, result.tags, result.due) == ("Plan", ("tomorrow",), None)

    def test_words_that_only_look_like_dates_stay(self):
        for text in ("Email bob#work re: !important", "Buy 3 sat dishes", "May I help"):
            result = read(text)
            assert (result.title, result.due) == (text, None)
