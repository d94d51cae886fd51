"""What the task pages and live pushes show: rows, the filter bar, links, the recurrence
preview and the history, built from tasks, event snapshots and the parsed parameters."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.http import QueryDict
from django.utils import timezone

from tasks import selectors, services
from tasks.forms import RecurrenceForm
from tasks.models import Task
from tasks.presenters import (
    FilterBar,
    HistoryLine,
    TaskRow,
    canonical_query,
    change_text,
    day_heading,
    filter_errors,
    group_by_day,
    list_context,
    recurrence_preview,
    tag_options,
    when_label,
)
from todo_project.eventbus.envelope import TASK_EVENTS, TASK_UPDATES, parse_envelope
from todo_project.eventbus.models import OutboxMessage

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2030, 3, 4, 12, 0, tzinfo=BERLIN)  # a Monday


def last_event(topic=TASK_UPDATES, event_type=None):
    rows = OutboxMessage.objects.filter(topic=topic)
    if event_type:
        rows = rows.filter(event_type=event_type)
    return parse_envelope(rows.order_by("-id").first().envelope)


class TestWhenLabel:
    @pytest.mark.parametrize(
        ("moment", "label"),
        [
            (datetime(2030, 3, 4, 14, 0, tzinfo=BERLIN), "Today 14:00"),
            (datetime(2030, 3, 5, 9, 5, tzinfo=BERLIN), "Tomorrow 09:05"),
            (datetime(2030, 3, 3, 23, 59, tzinfo=BERLIN), "Yesterday 23:59"),
            (datetime(2030, 3, 8, 9, 0, tzinfo=BERLIN), "Fri 8 Mar, 09:00"),
            (datetime(2030, 12, 24, 18, 0, tzinfo=BERLIN), "Tue 24 Dec, 18:00"),
            (datetime(2031, 5, 1, 8, 0, tzinfo=BERLIN), "1 May 2031, 08:00"),
        ],
    )
    def test_labels_relative_to_now_in_the_current_zone(self, moment, label):
        with timezone.override(BERLIN):
            assert when_label(moment, NOW) == label

    def test_next_year_within_half_a_year_has_no_year(self):
        december = datetime(2030, 12, 20, 12, 0, tzinfo=BERLIN)
        with timezone.override(BERLIN):
            assert when_label(datetime(2031, 1, 2, 8, 0, tzinfo=BERLIN), december) == (
                "Thu 2 Jan, 08:00"
            )

    def test_the_day_is_the_users_day(self):
        late = datetime(2030, 3, 4, 23, 30, tzinfo=UTC)  # already Tuesday in Berlin
        with timezone.override(BERLIN):
            assert when_label(late, NOW) == "Tomorrow 00:30"
        with timezone.override(UTC):
            assert when_label(late, NOW) == "Today 23:30"


@pytest.mark.django_db
class TestTaskRow:
    def test_the_push_shows_what_the_page_shows(self, user):
        due = datetime(2030, 3, 4, 8, 30, tzinfo=UTC)
        data = {"tags": ["b", "A"], "priority": "urgent", "due_date": due}
        task = services.task_create(
            user=user, data={"title": "Same", **data, "reminder_offset_minutes": 30}
        )
        pushed = TaskRow.from_snapshot(last_event().payload)
        page = TaskRow.from_task(selectors.task_get(user=user, task_id=task.pk), now=pushed.now)
        assert pushed == page
        assert (page.tags, page.priority) == (["A", "b"], "urgent")
        assert page.reminder_at == due - timedelta(minutes=30)
        assert page.dom_id == f"task-{task.pk}" and page.recurrence_summary == ""

    def test_a_task_with_a_description_is_marked_on_page_and_push(self, user):
        task = services.task_create(user=user, data={"title": "Notes", "description": "Aisle 4"})
        pushed = TaskRow.from_snapshot(last_event().payload)
        page = TaskRow.from_task(selectors.task_get(user=user, task_id=task.pk))
        assert pushed.has_description and page.has_description

    def test_a_blank_description_is_no_description(self, user):
        task = services.task_create(user=user, data={"title": "Bare", "description": " \n "})
        assert not TaskRow.from_snapshot(last_event().payload).has_description
        assert not TaskRow.from_task(task).has_description

    def test_an_all_day_push_shows_what_the_page_shows_without_a_time(self, user):
        day = timezone.localtime(timezone.now(), BERLIN).date() + timedelta(days=2)
        task = services.task_create(user=user, data={"title": "Rent", "due_date": day})
        pushed = TaskRow.from_snapshot(last_event().payload)
        page = TaskRow.from_task(selectors.task_get(user=user, task_id=task.pk), now=pushed.now)
        assert pushed == page
        assert (page.all_day, page.due_day, page.shown_day) == (True, day, day)
        with timezone.override(BERLIN):
            assert ":" not in page.due_label
            assert page.due_label == f"{day:%a} {day.day} {day:%b}"

    def test_a_completed_task_shows_no_reminder(self, user):
        task = services.task_create(
            user=user,
            data={"title": "x", "reminder_at": timezone.now() + timedelta(hours=1)},
        )
        done = services.task_complete(task=task)
        assert TaskRow.from_task(done).reminder_label == ""
        assert TaskRow.from_snapshot(last_event().payload).reminder_at is None

    def test_overdue_is_the_same_rule_as_the_task_and_the_overdue_filter(self, user):
        past = timezone.now() - timedelta(minutes=5)
        late = services.task_create(user=user, data={"title": "late", "due_date": past})
        done = services.task_create(user=user, data={"title": "done", "due_date": past})
        services.task_complete(task=done)
        future = timezone.now() + timedelta(days=1)
        services.task_create(user=user, data={"title": "later", "due_date": future})
        services.task_create(user=user, data={"title": "undated"})
        filtered = selectors.task_list(user=user, params={"overdue": "true"})
        tasks = list(Task.objects.filter(user=user))
        assert [task.pk for task in filtered.items] == [late.pk]
        assert [task.pk for task in tasks if task.is_overdue] == [late.pk]
        rows = [TaskRow.from_task(task) for task in tasks]
        assert [row.id for row in rows if row.is_overdue] == [late.pk]

    def test_a_row_is_overdue_against_its_own_clock(self):
        due = datetime(2030, 3, 4, 11, 0, tzinfo=BERLIN)
        row = TaskRow.from_snapshot({"task_id": 1, "due_date": due.isoformat()})
        assert row.due_date == due
        assert TaskRow(**{**row.__dict__, "now": NOW}).is_overdue
        assert not TaskRow(**{**row.__dict__, "now": due}).is_overdue

    def test_an_unknown_rule_is_shown_as_written(self):
        row = TaskRow.from_snapshot({"task_id": 1, "recurrence": "FREQ=HOURLY"})
        assert row.recurrence_summary == "FREQ=HOURLY"


def bar(user, query: str, default_status: str = "pending") -> FilterBar:
    filters = selectors.task_filterset(
        user=user, params=QueryDict(query), default_status=default_status
    )
    return FilterBar.from_filterset(filters)


@pytest.mark.django_db
class TestFilterBar:
    def test_shows_the_view_the_filterset_applies(self, user):
        shown = bar(
            user,
            "search=milk&priority=high&priority=low&tag=home&tag=+&overdue=true"
            "&status=all&sort_by=priority&order=desc&due_after=2030-03-01",
        )
        assert shown == FilterBar(
            search="milk",
            status="all",
            priorities=["high", "low"],
            tags=["home"],
            due_after="2030-03-01",
            due_before="",
            overdue=True,
            sort_by="priority",
            order="desc",
        )
        assert shown.is_filtered and shown.has_more_filters

    def test_defaults_are_not_a_filter(self, user):
        shown = bar(user, "")
        assert (shown.status, shown.order, shown.sort_by) == ("pending", "", "")
        assert not shown.is_filtered and not shown.has_more_filters

    def test_a_value_the_filterset_ignores_is_not_shown_as_applied(self, user):
        # The overdue filter reads "true"/"false"; "on" does not narrow the list, so the
        # box is not shown ticked either.
        shown = bar(user, "overdue=on")
        assert shown.overdue is False
        assert not shown.has_more_filters

    def test_bad_values_keep_the_typed_text_and_fall_back_to_defaults(self, user):
        shown = bar(user, "due_before=not-a-date&status=bogus&order=sideways")
        assert shown.due_before == "not-a-date"  # the input shows what was typed
        assert (shown.status, shown.order) == ("pending", "")
        assert shown.is_filtered

    def test_the_default_status_is_the_pages(self, user):
        assert bar(user, "", default_status="all").status == "all"


@pytest.mark.django_db
class TestListContext:
    def context(self, user, query, *, count, page_number, items=()):
        params = QueryDict(query)
        filters = selectors.task_filterset(user=user, params=params, default_status="pending")
        return list_context(
            params=params,
            filters=filters,
            items=list(items),
            count=selectors.bounded(count),
            errors=[],
            page_number=page_number,
            page_size=25,
            known_tags=[],
        )

    def test_a_middle_page_links_both_ways_and_names_its_view(self, user):
        tasks = [services.task_create(user=user, data={"title": f"T{i}"}) for i in range(2)]
        shown = self.context(user, "search=t&page=2", count=60, page_number=2, items=tasks)
        assert (shown["first_index"], shown["last_index"], shown["last_page"]) == (26, 27, 3)
        assert shown["prev_url"] == "/tasks/?search=t"
        assert shown["next_url"] == "/tasks/?search=t&page=3"
        assert shown["list_url"] == "/tasks/?search=t&page=2"
        assert [row.title for row in shown["rows"]] == ["T0", "T1"]
        assert shown["view_query"] == "search=t&page=2"

    def test_an_empty_first_page_has_no_links(self, user):
        shown = self.context(user, "status=pending&page=1", count=0, page_number=1)
        assert shown["prev_url"] is None and shown["next_url"] is None
        assert (shown["first_index"], shown["last_index"]) == (0, 0)
        assert shown["view_query"] == ""


class TestListLinks:
    def test_canonical_query_drops_defaults_and_empties_in_a_stable_order(self):
        params = QueryDict("order=asc&tag=b&search=+milk+&status=pending&priority=&tag=a&page=1")
        assert canonical_query(params) == "search=milk&tag=b&tag=a"

    def test_canonical_query_with_a_page_or_an_override(self):
        params = QueryDict("status=all&page=3")
        assert canonical_query(params) == "status=all&page=3"
        assert canonical_query(params, page=4) == "status=all&page=4"
        assert canonical_query(params, page=1, status="completed") == "status=completed"

    def test_tag_options_mark_the_selected_and_keep_unknown_ones(self):
        known = [{"name": "Home", "count": 3}, {"name": "work", "count": 1}]
        assert tag_options(known, ["home", "gone"]) == [
            {"name": "Home", "count": 3, "selected": True},
            {"name": "work", "count": 1, "selected": False},
            {"name": "gone", "count": 0, "selected": True},
        ]

    def test_tag_options_sort_naturally(self):
        known = [{"name": name, "count": 1} for name in ("tag10", "Tag2", "tag1", "alpha")]
        names = [option["name"] for option in tag_options(known, [])]
        assert names == ["alpha", "tag1", "Tag2", "tag10"]

    def test_a_rows_tags_sort_naturally_from_a_snapshot(self):
        row = TaskRow.from_snapshot({"task_id": 1, "tags": ["tag11", "tag2", "Tag10", "tag1"]})
        assert row.tags == ["tag1", "tag2", "Tag10", "tag11"]

    def test_the_history_lists_tags_naturally(self):
        assert change_text("tags", ["tag10", "tag9"]) == "tag9, tag10"

    def test_filter_errors_name_the_parameter(self):
        assert filter_errors({"due_after": ["Enter a valid date/time."]}) == [
            "Due after: Enter a valid date/time."
        ]


@pytest.mark.django_db
class TestRecurrencePreview:
    def preview(self, task=None, zone="Europe/Berlin", **fields):
        form = RecurrenceForm(fields) if fields else RecurrenceForm()
        with timezone.override(BERLIN):
            return recurrence_preview(form, task=task, zone=zone)

    def test_summary_and_next_dates_of_the_edited_rule(self):
        shown = self.preview(
            due_date="2030-03-04T09:30", recurrence_preset="weekly", recurrence_weekdays=["FR"]
        )
        assert shown.summary == "Weekly on Friday"
        assert shown.repeats and not shown.error
        assert len(shown.dates) == 5
        assert shown.dates[0] == datetime(2030, 3, 4, 9, 30, tzinfo=BERLIN)  # the first instance
        assert shown.dates[1] == datetime(2030, 3, 8, 9, 30, tzinfo=BERLIN)

    @pytest.mark.parametrize(
        ("due", "monthday", "skipped"),
        [
            ("2030-01-31T09:00", "", "Months without a day 31 (February, April, June,"),
            ("2030-01-15T09:00", "30", "Months without a day 30 (February)"),
            ("2030-01-15T09:00", "29", "Months without a day 29 (February, except in leap"),
        ],
    )
    def test_a_late_day_of_the_month_says_which_months_it_skips(self, due, monthday, skipped):
        shown = self.preview(
            due_date=due, recurrence_preset="monthly_day", recurrence_monthday=monthday
        )
        assert shown.note.startswith(skipped)
        assert "Last day of the month" in shown.note
        if not monthday:
            assert [d.month for d in shown.dates] == [1, 3, 5, 7, 8]  # really skipped

    @pytest.mark.parametrize("monthday", ["28", "-1"])
    def test_a_day_every_month_has_needs_no_note(self, monthday):
        shown = self.preview(
            due_date="2030-01-31T09:00",
            recurrence_preset="monthly_day",
            recurrence_monthday=monthday,
        )
        assert shown.summary and shown.note == ""

    def test_a_one_off_task_shows_nothing(self):
        assert self.preview(recurrence_preset="none").repeats is False

    @pytest.mark.parametrize(
        ("fields", "error"),
        [
            ({"recurrence_preset": "daily"}, "A repeating task needs a due date."),
            (
                {"recurrence_preset": "daily", "due_date": "soon"},
                "Enter a valid due date.",
            ),
            (
                {
                    "recurrence_preset": "custom",
                    "recurrence_custom": "FREQ=HOURLY",
                    "due_date": "2030-03-04T09:30",
                },
                "FREQ=HOURLY is not supported",
            ),
        ],
    )
    def test_errors(self, fields, error):
        shown = self.preview(**fields)
        assert shown.repeats and error in shown.error and not shown.dates

    def test_a_stored_task_is_shown_in_its_own_zone(self, user):
        task = services.task_create(
            user=user,
            data={
                "title": "Sync",
                "due_date": datetime(2030, 3, 4, 9, 0, tzinfo=ZoneInfo("America/New_York")),
                "recurrence": "FREQ=WEEKLY",
                "timezone": "America/New_York",
            },
        )
        shown = self.preview(task=task, zone="Asia/Tokyo")
        # New York moves to summer time on 10 March 2030: still 09:00 there.
        assert [d.astimezone(ZoneInfo("America/New_York")).hour for d in shown.dates] == [9] * 5

    def test_a_later_instance_counts_from_the_series_start(self, user):
        first = services.task_create(
            user=user,
            data={
                "title": "Three times",
                "due_date": datetime(2030, 3, 4, 9, 0, tzinfo=BERLIN),
                "recurrence": "FREQ=DAILY;COUNT=3",
            },
        )
        services.task_complete(task=first)
        payload = last_event(TASK_EVENTS, "TaskCompleted").payload
        second = services.task_create_next_instance(completed=payload, now=first.due_date)
        assert second is not None
        shown = self.preview(task=second)
        assert [d.day for d in shown.dates] == [5, 6]  # COUNT=3 began on the 4th
        edited = self.preview(
            task=second,
            due_date="2030-03-05T09:00",
            recurrence_preset="daily",
            recurrence_end="count",
            recurrence_count="3",
        )
        assert [d.day for d in edited.dates] == [5, 6]


class TestHistory:
    def entry(self, event_type, changes, version=2):
        return SimpleNamespace(
            event_type=event_type, changes=changes, version=version, occurred_at=NOW
        )

    def test_labels_the_event_and_each_change(self):
        line = HistoryLine.from_entry(
            self.entry("TaskUpdated", {"title": "Final", "tags": ["a", "b"], "priority": "high"})
        )
        assert line.label == "Changed" and line.version == 2 and line.occurred_at == NOW
        assert line.changes == [("Title", "Final"), ("Tags", "a, b"), ("Priority", "High")]
        assert HistoryLine.from_entry(self.entry("TaskCreated", {})).label == "Created"
        assert HistoryLine.from_entry(self.entry("Renamed", None)).label == "Renamed"

    def test_a_reopen_reads_reopened_not_a_changed_field(self):
        line = HistoryLine.from_entry(
            self.entry("TaskUpdated", {"completed": False, "completed_at": None})
        )
        assert (line.label, line.changes) == ("Reopened", [])

    def test_an_update_that_completes_and_renames_reads_completed_with_the_rename(self):
        line = HistoryLine.from_entry(
            self.entry("TaskUpdated", {"completed": True, "title": "Done now"})
        )
        assert (line.label, line.changes) == ("Completed", [("Title", "Done now")])

    @pytest.mark.parametrize(
        ("name", "value", "text"),
        [
            ("due_date", "2030-03-04T08:30:00Z", "2030-03-04 09:30"),
            ("reminder_at", "not a date", "not a date"),
            ("due_date", None, "none"),
            ("tags", [], "none"),
            ("reminder_offset_minutes", 30, "30 minutes"),
            ("reminder_offset_minutes", 60, "1 hour"),
            ("reminder_offset_minutes", 2880, "2 days"),
            ("reminder_offset_minutes", 90, "90 minutes"),
            ("description", "a  b\nc", "a b c"),
            ("description", "x" * 500, "x" * 119 + "…"),
            ("recurrence", "FREQ=WEEKLY;BYDAY=MO", "Weekly on Monday"),
            ("recurrence", "FREQ=HOURLY", "FREQ=HOURLY"),
            ("priority", "urgent", "Urgent"),
        ],
    )
    def test_change_text_in_the_users_zone(self, name, value, text):
        with timezone.override(BERLIN):
            assert change_text(name, value) == text

    @pytest.mark.django_db
    def test_the_history_of_an_all_day_task_shows_its_date(self, user):
        from tasks.handlers import activity_entry

        task = services.task_create(user=user, data={"title": "Rent", "due_date": date(2030, 3, 4)})
        services.task_update(task=task, data={"due_date": date(2030, 3, 5)})
        entry = activity_entry(last_event(TASK_EVENTS))
        with timezone.override(BERLIN):
            line = HistoryLine.from_entry(entry)
        assert line.changes == [("Due", "2030-03-05"), ("All day", "yes")]


class TestUpcomingGroups:
    def row(self, task_id, due_date, due_day=None):
        return TaskRow(
            id=task_id,
            title=f"t{task_id}",
            priority="medium",
            tags=[],
            due_date=due_date,
            reminder_at=None,
            recurrence="",
            completed=False,
            version=1,
            due_day=due_day,
        )

    def test_headings_are_today_tomorrow_then_weekday_names(self):
        today = date(2030, 3, 4)  # a Monday
        labels = [day_heading(today + timedelta(days=n), today) for n in range(4)]
        assert labels == ["Today", "Tomorrow", "Wednesday", "Thursday"]

    def test_rows_group_under_their_day_across_the_october_change(self):
        today = date(2026, 10, 22)  # Thursday; Berlin leaves summer time on Sunday the 25th
        rows = [
            self.row(1, datetime(2026, 10, 25, 0, 30, tzinfo=BERLIN)),  # CEST
            self.row(2, datetime(2026, 10, 25, 23, 30, tzinfo=BERLIN)),  # CET, same day
            self.row(3, datetime(2026, 10, 26, 0, 30, tzinfo=BERLIN)),
            self.row(4, datetime(2026, 10, 25, 22, 59, tzinfo=UTC), due_day=date(2026, 10, 25)),
        ]
        with timezone.override(BERLIN):
            groups = group_by_day(rows, today=today, days=7, include_empty=True)
        assert [group.day for group in groups] == [today + timedelta(days=n) for n in range(7)]
        by_day = {group.day: [row.id for row in group.rows] for group in groups}
        assert by_day[date(2026, 10, 25)] == [1, 2, 4]
        assert by_day[date(2026, 10, 26)] == [3]
        assert [group.label for group in groups][:4] == ["Today", "Tomorrow", "Saturday", "Sunday"]

    def test_without_empty_days_only_days_with_rows_are_headed(self):
        today = date(2030, 3, 4)
        row = self.row(1, datetime(2030, 3, 6, 9, tzinfo=BERLIN))
        with timezone.override(BERLIN):
            groups = group_by_day([row], today=today, days=7, include_empty=False)
        assert [(group.label, group.date_text) for group in groups] == [("Wednesday", "6 Mar")]
