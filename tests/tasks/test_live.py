"""Where a changed task goes in one tab's view (tasks/live.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.utils import timezone

from tasks import services
from tasks.live import ListView, render_view_update, view_update
from tasks.presenters import TaskRow

pytestmark = pytest.mark.django_db


def make(user, title, **data):
    return services.task_create(user=user, data={"title": title, **data})


def place(user, query, task, **kwargs):
    row = task if isinstance(task, TaskRow) else TaskRow.from_task(task)
    view = ListView.from_query(query)
    assert view is not None
    return view_update(user=user, view=view, row=row, **kwargs)


class TestListView:
    def test_reads_the_list_query(self):
        view = ListView.from_query("status=completed&sort_by=title&page=3")
        assert view.params.get("status") == "completed" and view.page_number == 3

    @pytest.mark.parametrize(("page", "number"), [("", 1), ("x", 1), ("0", 1), ("99999", 10_000)])
    def test_the_page_number_is_bounded(self, page, number):
        assert ListView.from_query(f"page={page}").page_number == number

    def test_only_the_list_page_has_a_view(self):
        assert ListView.from_url("http://testserver/tasks/?search=a").query == "search=a"
        assert ListView.from_url("http://testserver/tasks/").query == ""
        assert ListView.from_url("http://testserver/notifications/") is None
        assert ListView.from_url("") is None

    def test_an_overlong_view_is_refused(self):
        assert ListView.from_query("search=" + "x" * 5000) is None


class TestViewUpdate:
    def test_the_open_list_has_a_new_task_at_its_place_in_one_query(
        self, user, django_assert_num_queries
    ):
        later = make(user, "Later", due_date=datetime(2030, 1, 2, tzinfo=UTC))
        sooner = make(user, "Sooner", due_date=datetime(2030, 1, 1, tzinfo=UTC))
        row = TaskRow.from_task(sooner)
        with django_assert_num_queries(1):
            update = place(user, "", row, shown=[later.pk])
        assert update.order == [sooner.pk, later.pk]
        assert [row.id for row in update.rows] == [sooner.pk]
        assert str(update.info["count"]) == "2" and update.shows(sooner.pk)

    @pytest.mark.parametrize(
        "query",
        ["status=completed", "search=milk", "priority=urgent", "tag=home", "overdue=true"],
    )
    def test_a_view_that_does_not_have_it_gets_no_row(self, user, query):
        task = make(user, "Bread", tags=["work"])
        update = place(user, query, task, shown=[])
        assert update.order == [] and update.rows == [] and not update.shows(task.pk)

    def test_a_task_leaving_the_page_still_brings_its_row_for_the_tab_showing_it(self, user):
        task = make(user, "Done soon")
        services.task_complete(task=task)
        task.refresh_from_db()
        update = place(user, "", task, shown=[task.pk])
        assert update.order == [] and [row.completed for row in update.rows] == [True]
        assert place(user, "", task, shown=[task.pk], deleted=True).rows == []

    def test_a_row_moved_up_from_the_next_page_is_read_in_a_second_query(
        self, user, django_assert_num_queries
    ):
        tasks = [make(user, f"T{i:02d}") for i in range(27)]
        page_two = [task.pk for task in tasks[25:]]
        row = TaskRow.from_task(services.task_complete(task=tasks[0]))
        with django_assert_num_queries(1):
            update = place(user, "page=2", row, shown=page_two)
        assert update.order == [tasks[26].pk]  # T25 moved up onto page 1
        assert update.rows == []
        first_page = [task.pk for task in tasks[1:26]]
        with django_assert_num_queries(2):
            update = place(user, "", row, shown=[tasks[0].pk, *first_page[:-1]])
        # T00 done (for the tab that keeps it), T25 in from page 2, read from the database.
        assert [(row.title, row.completed) for row in update.rows] == [
            ("T00", True),
            ("T25", False),
        ]
        assert update.order == [*first_page]
        assert (update.info["first_index"], update.info["last_index"]) == (1, 25)
        assert update.info["next_url"] == "/tasks/?page=2"

    def test_an_emptied_later_page_asks_for_a_reload(self, user):
        tasks = [make(user, f"T{i:02d}") for i in range(26)]
        services.task_delete(task=tasks[0])
        update = place(user, "page=2", tasks[1], shown=[tasks[25].pk])
        assert update.order == [] and update.refresh

    def test_without_shown_rows_the_rest_of_the_page_is_taken_as_shown(self, user):
        older = make(user, "Older")
        new = make(user, "New")
        update = place(user, "", new)
        assert update.order == [older.pk, new.pk] and [row.id for row in update.rows] == [new.pk]

    def test_the_row_is_the_snapshots_not_the_databases(self, user):
        from tasks.events import task_snapshot
        from todo_project.eventbus.envelope import build_event

        task = make(user, "Before")
        snapshot = build_event("TaskCreated", task_snapshot(task)).payload
        services.task_update(task=task, data={"title": "After"})
        view = ListView.from_query("")
        update = view_update(user=user, view=view, row=TaskRow.from_snapshot(snapshot), shown=[])
        with timezone.override("Europe/Berlin"):
            html = render_view_update(update)
        assert ">Before<" in html and "After" not in html and 'data-version="1"' in html

    def test_the_fragment_names_its_view_order_and_counts(self, user):
        a = make(user, "a <b>")
        b = make(user, "b")
        html = render_view_update(place(user, "sort_by=title&search=a", a, shown=[]))
        assert 'data-live-view="sort_by=title&amp;search=a"' in html
        assert f'data-order="{a.pk}"' in html and f'id="task-{b.pk}"' not in html
        assert "a &lt;b&gt;" in html and "1 task" in html
