"""The browser forms: what a person types becomes the data the services take."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from tasks.forms import QuickAddForm, RecurrenceForm, TaskForm, editor_initial, split_tags

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def form_data(**overrides):
    data = {
        "title": "Pay rent",
        "description": "",
        "priority": "medium",
        "tags": "",
        "due_date": "",
        "recurrence_preset": "none",
        "recurrence_interval": "1",
        "recurrence_end": "never",
        "reminder": "none",
        "reminder_unit": "minutes",
    }
    data.update(overrides)
    return data


def built_rule(**fields):
    """The rule the recurrence editor builds for these fields, due Mon 4 Mar 2030 09:30."""
    form = RecurrenceForm({"due_date": "2030-03-04T09:30", **fields})
    assert form.is_valid(), form.errors
    return form.cleaned_data["recurrence"]


class TestRecurrenceForm:
    def test_no_repeat_is_an_empty_rule(self):
        assert built_rule(recurrence_preset="none") == ""

    def test_interval_is_left_out_when_it_is_one(self):
        assert built_rule(recurrence_preset="daily", recurrence_interval="1") == "FREQ=DAILY"
        assert built_rule(recurrence_preset="yearly", recurrence_interval="2") == (
            "FREQ=YEARLY;INTERVAL=2"
        )

    def test_weekdays_ignore_the_interval(self):
        assert built_rule(recurrence_preset="weekdays", recurrence_interval="3") == (
            "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"
        )

    def test_chosen_weekdays_are_written_in_calendar_order(self):
        rule = built_rule(recurrence_preset="weekly", recurrence_weekdays=["FR", "MO"])
        assert rule == "FREQ=WEEKLY;BYDAY=MO,FR"

    def test_defaults_come_from_the_due_date_in_the_users_zone(self):
        # 01:30 on Monday 1 April in Berlin is still Sunday 31 March in UTC.
        with timezone.override(BERLIN):
            fields = {"due_date": "2030-04-01T01:30"}
            weekly = RecurrenceForm({**fields, "recurrence_preset": "weekly"})
            monthly = RecurrenceForm({**fields, "recurrence_preset": "monthly_day"})
            nth = RecurrenceForm({**fields, "recurrence_preset": "monthly_nth"})
            assert weekly.is_valid() and monthly.is_valid() and nth.is_valid()
        assert weekly.cleaned_data["recurrence"] == "FREQ=WEEKLY;BYDAY=MO"
        assert monthly.cleaned_data["recurrence"] == "FREQ=MONTHLY;BYMONTHDAY=1"
        assert nth.cleaned_data["recurrence"] == "FREQ=MONTHLY;BYDAY=1MO"

    def test_monthly_on_day_n_posted_untouched_repeats_on_the_due_dates_day(self):
        # The select's first option is what a browser sends when nobody chose a day.
        first_option = RecurrenceForm().fields["recurrence_monthday"].choices[0][0]
        form = RecurrenceForm(
            {
                "due_date": "2030-01-31T09:00",
                "recurrence_preset": "monthly_day",
                "recurrence_monthday": first_option,
            }
        )
        assert form.is_valid()
        assert form.cleaned_data["recurrence"] == "FREQ=MONTHLY;BYMONTHDAY=31"

    def test_the_last_day_of_the_month_is_offered(self):
        choices = dict(RecurrenceForm().fields["recurrence_monthday"].choices)
        assert choices["-1"] == "Last day of the month"
        assert built_rule(recurrence_preset="monthly_day", recurrence_monthday="-1") == (
            "FREQ=MONTHLY;BYMONTHDAY=-1"
        )

    def test_a_fifth_weekday_means_the_last_one(self):
        form = RecurrenceForm({"due_date": "2030-03-29T09:00", "recurrence_preset": "monthly_nth"})
        assert form.is_valid()
        assert form.cleaned_data["recurrence"] == "FREQ=MONTHLY;BYDAY=-1FR"

    def test_nth_weekday_without_a_due_date_must_be_chosen(self):
        form = RecurrenceForm({"recurrence_preset": "monthly_nth"})
        assert not form.is_valid()
        assert form.errors["recurrence_preset"] == ["Choose which weekday of the month."]

    def test_ends_after_a_count_or_on_a_date(self):
        assert built_rule(
            recurrence_preset="daily", recurrence_end="count", recurrence_count="3"
        ) == ("FREQ=DAILY;COUNT=3")
        assert built_rule(
            recurrence_preset="daily", recurrence_end="until", recurrence_until="2030-12-31"
        ) == ("FREQ=DAILY;UNTIL=20301231")

    @pytest.mark.parametrize(
        ("end", "message"),
        [("count", "Say how many times it repeats."), ("until", "Choose the last date.")],
    )
    def test_an_end_needs_its_value(self, end, message):
        form = RecurrenceForm(
            {"due_date": "2030-03-04T09:30", "recurrence_preset": "daily", "recurrence_end": end}
        )
        assert not form.is_valid()
        assert form.errors["recurrence_preset"] == [message]

    def test_custom_text_is_passed_on_as_typed(self):
        # The service normalises and checks it; its errors land on the custom field.
        assert built_rule(recurrence_preset="custom", recurrence_custom=" freq=daily ") == (
            "freq=daily"
        )

    def test_custom_without_text_is_an_error_on_the_custom_field(self):
        form = RecurrenceForm({"recurrence_preset": "custom", "recurrence_custom": ""})
        assert not form.is_valid()
        assert "Type a rule" in form.errors["recurrence_custom"][0]


class TestEditorInitial:
    due = datetime(2030, 3, 4, 9, 30, tzinfo=UTC)

    @pytest.mark.parametrize(
        ("rule", "expected"),
        [
            ("", {"recurrence_preset": "none"}),
            ("FREQ=DAILY;INTERVAL=2", {"recurrence_preset": "daily", "recurrence_interval": 2}),
            ("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", {"recurrence_preset": "weekdays"}),
            (
                "FREQ=WEEKLY;BYDAY=TU,TH",
                {"recurrence_preset": "weekly", "recurrence_weekdays": ["TU", "TH"]},
            ),
            ("FREQ=WEEKLY", {"recurrence_preset": "weekly", "recurrence_weekdays": ["MO"]}),
            (
                "FREQ=MONTHLY;BYMONTHDAY=15",
                {"recurrence_preset": "monthly_day", "recurrence_monthday": "15"},
            ),
            ("FREQ=MONTHLY", {"recurrence_preset": "monthly_day", "recurrence_monthday": "4"}),
            (
                "FREQ=MONTHLY;BYDAY=-1FR;COUNT=4",
                {
                    "recurrence_preset": "monthly_nth",
                    "recurrence_nth": "-1",
                    "recurrence_nth_weekday": "FR",
                    "recurrence_end": "count",
                    "recurrence_count": 4,
                },
            ),
            (
                "FREQ=YEARLY;UNTIL=20400101",
                {
                    "recurrence_preset": "yearly",
                    "recurrence_end": "until",
                    "recurrence_until": date(2040, 1, 1),
                },
            ),
            ("rrule:freq=daily", {"recurrence_preset": "daily", "recurrence_end": "never"}),
        ],
    )
    def test_maps_rules_to_presets(self, rule, expected):
        initial = editor_initial(rule, self.due)
        for key, value in expected.items():
            assert initial[key] == value

    @pytest.mark.parametrize(
        "rule",
        [
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
            "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
            "FREQ=WEEKLY;WKST=SU;BYDAY=MO",
            "FREQ=DAILY;UNTIL=20400101T000000Z",  # an instant, not a date
            "FREQ=MONTHLY;BYMONTHDAY=1,15",
            "FREQ=MONTHLY;BYDAY=5MO",
            "FREQ=DAILY;BYDAY=MO",
            "FREQ=HOURLY",  # not a rule this app runs: shown as typed
        ],
    )
    def test_anything_a_preset_cannot_show_stays_custom_and_unchanged(self, rule):
        assert editor_initial(rule, self.due) == {
            "recurrence_preset": "custom",
            "recurrence_custom": rule,
        }

    @pytest.mark.parametrize(
        "rule",
        [
            "FREQ=DAILY;INTERVAL=2",
            "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH",
            "FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=5",
            "FREQ=MONTHLY;BYDAY=2WE",
            "FREQ=YEARLY;UNTIL=20400101",
            "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
        ],
    )
    def test_round_trips(self, rule):
        initial = editor_initial(rule, self.due)
        data = form_data()
        for key, value in initial.items():
            if isinstance(value, list):
                data[key] = value
            elif isinstance(value, date):
                data[key] = value.isoformat()
            else:
                data[key] = str(value)
        form = TaskForm({**data, "due_date": "2030-03-04T09:30"})
        assert form.is_valid(), form.errors
        assert form.cleaned_data["recurrence"] == rule


def stored_task(**fields):
    defaults = {
        "title": "Standup",
        "description": "",
        "priority_name": "high",
        "tag_names": ["work", "daily"],
        "due_date": datetime(2030, 3, 4, 9, 30, tzinfo=UTC),
        "all_day": False,
        "due_day": None,
        "recurrence": "",
        "reminder_offset_minutes": None,
        "reminder_at": None,
    }
    return SimpleNamespace(**{**defaults, **fields})


class TestTaskForm:
    @pytest.mark.parametrize(
        ("offset", "amount", "unit"),
        [(15, 15, "minutes"), (120, 2, "hours"), (2880, 2, "days"), (0, 0, "minutes")],
    )
    def test_a_reminder_before_is_shown_in_the_largest_whole_unit(self, offset, amount, unit):
        initial = TaskForm.initial_for(stored_task(reminder_offset_minutes=offset))
        assert initial["reminder"] == "before"
        assert (initial["reminder_amount"], initial["reminder_unit"]) == (amount, unit)

    def test_initial_shows_the_stored_task(self):
        at = datetime(2030, 3, 4, 8, 0, tzinfo=UTC)
        initial = TaskForm.initial_for(
            stored_task(recurrence="FREQ=WEEKLY;BYDAY=MO,WE", reminder_at=at)
        )
        assert initial["tags"] == "work, daily"
        assert initial["priority"] == "high"
        assert initial["recurrence_preset"] == "weekly"
        assert initial["recurrence_weekdays"] == ["MO", "WE"]
        assert (initial["reminder"], initial["reminder_at"]) == ("at", at)

    def test_service_data_for_a_new_task(self):
        with timezone.override(BERLIN):
            form = TaskForm(
                form_data(
                    tags="home, errands,,  ",
                    due_date="2030-03-04T09:30",
                    reminder="before",
                    reminder_amount="2",
                    reminder_unit="hours",
                )
            )
            assert form.is_valid(), form.errors
        data = form.service_data(for_update=False)
        assert data["tags"] == ["home", "errands"]
        assert data["due_date"] == datetime(2030, 3, 4, 9, 30, tzinfo=BERLIN)
        assert data["reminder_offset_minutes"] == 120
        assert "reminder_at" not in data

    def test_an_update_without_a_reminder_clears_both_kinds(self):
        form = TaskForm(form_data())
        assert form.is_valid()
        data = form.service_data(for_update=True)
        assert data["reminder_at"] is None and data["reminder_offset_minutes"] is None

    def test_a_reminder_at_a_time_clears_the_offset_on_update(self):
        form = TaskForm(form_data(reminder="at", reminder_at="2030-03-03T20:00"))
        assert form.is_valid()
        data = form.service_data(for_update=True)
        assert data["reminder_offset_minutes"] is None and data["reminder_at"] is not None

    @pytest.mark.parametrize(
        ("fields", "field"),
        [({"reminder": "at"}, "reminder_at"), ({"reminder": "before"}, "reminder_amount")],
    )
    def test_a_chosen_reminder_needs_its_value(self, fields, field):
        form = TaskForm(form_data(**fields))
        assert not form.is_valid()
        assert field in form.errors

    def test_service_errors_land_on_the_matching_inputs(self):
        form = TaskForm(form_data(recurrence_preset="custom", recurrence_custom="FREQ=HOURLY"))
        assert form.is_valid()
        form.add_service_errors(
            ValidationError(
                {
                    "recurrence": "FREQ=HOURLY is not supported",
                    "reminder_offset_minutes": "Needs a due date.",
                    "timezone": "Unknown zone.",
                }
            )
        )
        assert form.errors["recurrence_custom"] == ["FREQ=HOURLY is not supported"]
        assert form.errors["reminder_amount"] == ["Needs a due date."]
        assert form.non_field_errors() == ["Unknown zone."]

    def test_a_service_error_without_a_field_goes_on_top(self):
        form = TaskForm(form_data())
        assert form.is_valid()
        form.add_service_errors(ValidationError("Something is off."))
        assert form.non_field_errors() == ["Something is off."]


def test_split_tags_drops_empty_items():
    assert split_tags("home, errands,,  ") == ["home", "errands"]


class TestQuickAddForm:
    def data(self, text):
        form = QuickAddForm({"title": text})
        assert form.is_valid(), form.errors
        return form.service_data()

    def test_tags_and_priority_shorthand(self):
        assert self.data("Buy milk #errands !high #home") == {
            "title": "Buy milk",
            "tags": ["errands", "home"],
            "priority": "high",
        }

    def test_shorthand_inside_a_word_is_text(self):
        assert self.data("Email bob#work re: !important") == {
            "title": "Email bob#work re: !important"
        }

    def test_nested_tags(self):
        assert self.data("File taxes #work/finance") == {
            "title": "File taxes",
            "tags": ["work/finance"],
        }

    def test_shorthand_only_is_not_a_title(self):
        for text in ("!urgent", "#errands !high", "tomorrow 5pm"):
            form = QuickAddForm({"title": text})
            assert not form.is_valid()
            assert form.errors["title"] == ["Type a title as well as the tags, priority or date."]

    def test_reads_dates_in_the_users_zone_and_date_order(self):
        now = datetime(2026, 3, 25, 12, 0, tzinfo=UTC)
        user = SimpleNamespace(timezone="America/New_York", date_order="MDY")
        form = QuickAddForm({"title": "Taxes on 03/04 at 10am !high"}, user=user, now=now)
        assert form.is_valid(), form.errors
        assert form.service_data() == {
            "title": "Taxes",
            "priority": "high",
            "due_date": datetime(2027, 3, 4, 10, 0, tzinfo=zoneinfo.ZoneInfo("America/New_York")),
            "all_day": False,
        }

    def test_a_wall_time_that_happens_twice_offers_both(self):
        now = datetime(2026, 3, 25, 12, 0, tzinfo=UTC)
        user = SimpleNamespace(timezone="America/New_York", date_order="MDY")
        form = QuickAddForm({"title": "Night shift Nov 1 at 1:30"}, user=user, now=now)
        assert not form.is_valid()
        assert form.errors["title"] == [
            "01:30 happens twice on 1 November 2026 in America/New_York: choose which."
        ]
        assert form.fold_choices == [(0, "01:30 EDT (the first)"), (1, "01:30 EST (the second)")]
        answered = QuickAddForm(
            {"title": "Night shift Nov 1 at 1:30", "fold": "1"}, user=user, now=now
        )
        assert answered.is_valid(), answered.errors
        # Compared in UTC: an instant in the fold is never == one in another zone (PEP 495).
        due = answered.service_data()["due_date"]
        assert due.astimezone(UTC) == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)


class TestDueField:
    def form(self, **data):
        form = TaskForm({"title": "t", "priority": "medium", **data})
        assert form.is_valid() or data.get("expect_errors"), form.errors
        return form

    def test_a_date_without_a_time_is_all_day(self):
        form = self.form(due_date="2030-03-04", due_date_time="")
        data = form.service_data(for_update=False)
        assert (data["due_date"], data["all_day"]) == (date(2030, 3, 4), True)

    def test_a_date_and_a_time_are_read_in_the_users_zone(self):
        with timezone.override(zoneinfo.ZoneInfo("Europe/Berlin")):
            form = self.form(due_date="2030-03-04", due_date_time="09:30")
        data = form.service_data(for_update=False)
        assert data["due_date"] == datetime(2030, 3, 4, 8, 30, tzinfo=UTC)
        assert data["all_day"] is False

    def test_a_time_without_a_date_is_an_error_on_the_due_field(self):
        form = TaskForm({"title": "t", "priority": "medium", "due_date_time": "09:30"})
        assert form.errors["due_date"] == ["Choose a date for this time."]

    def test_a_time_that_does_not_exist_is_an_error(self):
        with timezone.override(zoneinfo.ZoneInfo("Europe/Berlin")):
            form = TaskForm(
                {
                    "title": "t",
                    "priority": "medium",
                    "due_date": "2030-03-31",
                    "due_date_time": "02:30",
                }
            )
            assert "due_date" in form.errors

    def test_an_all_day_task_shows_its_date_and_no_time(self):
        task = stored_task(all_day=True, due_day=date(2030, 3, 4))
        form = TaskForm(initial=TaskForm.initial_for(task))
        html = str(form["due_date"])
        assert 'name="due_date" value="2030-03-04"' in html
        assert 'name="due_date_time" id' in html  # empty

    def test_weekly_defaults_to_the_weekday_of_an_all_day_date(self):
        form = RecurrenceForm({"due_date": "2030-03-06", "recurrence_preset": "weekly"})
        assert form.is_valid(), form.errors
        assert form.cleaned_data["recurrence"] == "FREQ=WEEKLY;BYDAY=WE"


def test_quick_add_without_a_time_is_all_day():
    user = SimpleNamespace(timezone="Europe/Berlin", date_order="DMY")
    form = QuickAddForm(
        {"title": "buy milk tomorrow"}, user=user, now=datetime(2030, 3, 4, 10, tzinfo=UTC)
    )
    assert form.is_valid(), form.errors
    data = form.service_data()
    assert data["title"] == "buy milk"
    assert data["all_day"] is True
    assert data["due_date"].astimezone(zoneinfo.ZoneInfo("Europe/Berlin")).date() == date(
        2030, 3, 5
    )
    timed = QuickAddForm(
        {"title": "call mom tomorrow 5pm"}, user=user, now=datetime(2030, 3, 4, 10, tzinfo=UTC)
    )
    assert timed.is_valid()
    assert timed.service_data()["all_day"] is False
