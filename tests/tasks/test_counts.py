"""The list total: TaskCount rows kept by triggers, the tag-only count and the windowed
count with a search must all equal COUNT(*) of the filtered tasks, whatever wrote them."""

from __future__ import annotations

import itertools
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.db.models import Sum
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tasks import selectors, services
from tasks.models import Priority, Tag, TagCount, Task, TaskCount

pytestmark = pytest.mark.django_db


def counted(user) -> dict[tuple[int, bool], int]:
    return {
        (row.priority, row.completed): row.tasks
        for row in TaskCount.objects.filter(user=user)
        if row.tasks
    }


def actual(user) -> dict[tuple[int, bool], int]:
    result: dict[tuple[int, bool], int] = {}
    for priority, completed in Task.objects.filter(user=user).values_list("priority", "completed"):
        result[(priority, completed)] = result.get((priority, completed), 0) + 1
    return result


def create(user, title: str, **data):
    return services.task_create(user=user, data={"title": title, **data})


class TestTaskCountTriggers:
    def test_every_service_write_keeps_the_counts(self, user, other_user):
        a = create(user, "a", priority="high", tags=["work"])
        b = create(user, "b", priority="low")
        create(other_user, "theirs", priority="high")
        assert counted(user) == actual(user) == {(1, False): 1, (3, False): 1}

        services.task_update(task=a, data={"priority": "urgent"})
        services.task_complete(task=b)
        assert counted(user) == actual(user) == {(0, False): 1, (3, True): 1}

        services.task_complete(task=b)  # idempotent: no second move
        services.task_reopen(task=b)
        services.task_update(task=b, data={"title": "b2"})  # no key change
        assert counted(user) == actual(user) == {(0, False): 1, (3, False): 1}

        services.task_delete(task=a)
        assert counted(user) == actual(user) == {(3, False): 1}
        assert counted(other_user) == actual(other_user) == {(1, False): 1}

    def test_writes_outside_the_services_keep_the_counts(self, user):
        Task.objects.bulk_create(
            [Task(user=user, title=f"bulk {i}", priority=i % 4) for i in range(12)]
        )
        Task.objects.filter(user=user, priority=Priority.LOW).update(
            completed=True, completed_at=timezone.now()
        )
        Task.objects.filter(user=user, priority=Priority.URGENT).update(priority=Priority.HIGH)
        Task.objects.filter(user=user, priority=Priority.MEDIUM).delete()
        assert counted(user) == actual(user) == {(1, False): 6, (3, True): 3}

    def test_moving_a_task_to_another_user_moves_its_count(self, user, other_user):
        task = create(user, "handed over", priority="medium")
        Task.objects.filter(pk=task.pk).update(user=other_user)
        assert counted(user) == {}
        assert counted(other_user) == {(2, False): 1}

    def test_deleting_the_user_deletes_tasks_and_counts(self, user):
        create(user, "a")
        user_id = user.pk
        user.delete()
        assert not TaskCount.objects.filter(user_id=user_id).exists()
        assert not Task.objects.filter(user_id=user_id).exists()

    def test_totals_match_the_rows(self, user):
        for i in range(9):
            create(user, f"t{i}", priority=["urgent", "high", "medium", "low"][i % 4])
        total = TaskCount.objects.filter(user=user).aggregate(n=Sum("tasks"))["n"]
        assert total == Task.objects.filter(user=user).count() == 9


def tag_counts(user, column: str = "tasks") -> dict[str, int]:
    """The user's TagCount rows by tag name: `tasks`, or `pending` (open tasks)."""
    return {
        row.tag.name: getattr(row, column)
        for row in TagCount.objects.filter(tag__user=user).select_related("tag")
        if getattr(row, column)
    }


def _tags_of(tasks) -> dict[str, int]:
    result: dict[str, int] = {}
    for task in tasks.prefetch_related("tags"):
        for tag in task.tags.all():
            result[tag.name] = result.get(tag.name, 0) + 1
    return result


def tags_actual(user) -> dict[str, int]:
    return _tags_of(Task.objects.filter(user=user))


def open_tag_counts(user) -> dict[str, int]:
    return tag_counts(user, "pending")


def open_tags_actual(user) -> dict[str, int]:
    return _tags_of(Task.objects.filter(user=user, completed=False))


class TestTagCountTriggers:
    def test_tagging_retagging_and_deleting_keep_the_counts(self, user, other_user):
        a = create(user, "a", tags=["work", "home"])
        b = create(user, "b", tags=["work"])
        create(other_user, "theirs", tags=["work"])
        assert tag_counts(user) == tags_actual(user) == {"work": 2, "home": 1}
        assert open_tag_counts(user) == {"work": 2, "home": 1}

        services.task_update(task=a, data={"tags": ["home", "errands"]})
        assert tag_counts(user) == tags_actual(user) == {"work": 1, "home": 1, "errands": 1}
        assert open_tag_counts(user) == open_tags_actual(user)

        services.task_delete(task=b)
        b_tags = tag_counts(user)
        assert b_tags == tags_actual(user) == {"home": 1, "errands": 1}
        assert tag_counts(other_user) == {"work": 1}
        assert open_tag_counts(user) == open_tags_actual(user) == {"home": 1, "errands": 1}

    def test_writes_outside_the_services_keep_the_counts(self, user):
        task = create(user, "a", tags=["work"])
        home = Tag.objects.create(user=user, name="home")
        task.tags.add(home)
        assert open_tag_counts(user) == {"work": 1, "home": 1}
        Task.tags.through.objects.filter(tag=home).delete()
        Tag.objects.filter(user=user, name="work").delete()
        assert tag_counts(user) == tags_actual(user) == {}
        assert open_tag_counts(user) == {}

    def test_completing_and_reopening_move_the_open_counts(self, user, other_user):
        a = create(user, "a", tags=["work", "home"])
        b = create(user, "b", tags=["work"])
        create(other_user, "theirs", tags=["work"])
        services.task_complete(task=a)
        assert open_tag_counts(user) == open_tags_actual(user) == {"work": 1}
        assert tag_counts(user) == {"work": 2, "home": 1}
        services.task_complete(task=a)  # idempotent: no second move
        assert open_tag_counts(user) == {"work": 1}

        # A done task tagged, untagged and deleted leaves the open counts alone.
        services.task_update(task=a, data={"tags": ["home", "errands"]})
        assert open_tag_counts(user) == open_tags_actual(user) == {"work": 1}
        assert tag_counts(user) == tags_actual(user) == {"work": 1, "home": 1, "errands": 1}

        services.task_reopen(task=a)
        assert open_tag_counts(user) == open_tags_actual(user)
        assert open_tag_counts(user) == {"work": 1, "home": 1, "errands": 1}

        Task.objects.filter(user=user).update(completed=True, completed_at=timezone.now())
        assert open_tag_counts(user) == {}
        Task.objects.filter(pk=b.pk).update(completed=False, completed_at=None)
        assert open_tag_counts(user) == open_tags_actual(user) == {"work": 1}

        services.task_delete(task=b)
        Task.objects.filter(pk=a.pk).delete()
        assert open_tag_counts(user) == tag_counts(user) == {}
        assert open_tag_counts(other_user) == {"work": 1}

    def test_tags_endpoint_reads_the_counts(self, api, user):
        create(user, "a", tags=["Work", "home"])
        create(user, "b", tags=["work"])
        task = create(user, "c", tags=["unused-soon"])
        services.task_update(task=task, data={"tags": []})
        assert api.get("/api/tags").json() == [
            {"name": "home", "count": 1},
            {"name": "Work", "count": 2},
        ]


def tag_ids_kept(user) -> bool:
    """PostgreSQL: every task's tag_ids array (migration 0009) holds exactly the ids of its
    through rows. SQLite has no such column: nothing to compare."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, tag_ids FROM tasks_task WHERE user_id = %s", [user.pk])
        stored = {task_id: sorted(ids) for task_id, ids in cursor.fetchall()}
    carried: dict[int, list[int]] = {task_id: [] for task_id in stored}
    for task_id, tag_id in Task.tags.through.objects.filter(task__user=user).values_list(
        "task_id", "tag_id"
    ):
        carried[task_id].append(tag_id)
    return stored == {task_id: sorted(ids) for task_id, ids in carried.items()}


def tagged(user, *names: str) -> set[str]:
    query = "&".join(f"tag={name}" for name in names)
    return {task.title for task in page(user, query, limit=200).items}


class TestTagIds:
    def test_every_write_path_keeps_the_arrays_and_the_tag_filter(self, user, other_user):
        a = create(user, "a", tags=["work", "home"])
        b = create(user, "b", tags=["work"])
        create(other_user, "theirs", tags=["work", "home"])
        assert tag_ids_kept(user) and tag_ids_kept(other_user)
        assert tagged(user, "work") == {"a", "b"}
        assert tagged(user, "work", "HOME") == {"a"}

        services.task_update(task=b, data={"tags": ["home", "errands", "work"]})
        assert tag_ids_kept(user)
        assert tagged(user, "work", "home") == {"a", "b"}

        errands = Tag.objects.get(user=user, name="errands")
        a.tags.add(errands)
        b.tags.remove(errands)
        assert tag_ids_kept(user)
        assert tagged(user, "errands") == {"a"}

        through = Task.tags.through
        through.objects.bulk_create(
            [
                through(task_id=t.pk, tag_id=Tag.objects.create(user=user, name=n).pk)
                for t, n in ((a, "x"), (b, "y"))
            ]
        )
        through.objects.filter(task_id=a.pk, tag__name="home").delete()
        assert tag_ids_kept(user)
        assert tagged(user, "home") == {"b"}
        assert tagged(user, "x") == {"a"}

        Tag.objects.filter(user=user, name="work").delete()
        b.tags.clear()
        assert tag_ids_kept(user) and tag_ids_kept(other_user)
        assert tagged(user, "errands", "x") == {"a"}
        assert tagged(user, "y") == set()
        assert tagged(other_user, "work", "home") == {"theirs"}


@pytest.mark.django_db(transaction=True)
def test_concurrent_tagging_of_one_task_keeps_every_tag(user):
    """The second transaction's trigger waits for the first's lock on the task row, then
    applies its change to the row the first wrote: neither tag nor count is lost."""
    task = create(user, "shared", tags=["home"])
    work = Tag.objects.create(user=user, name="work")
    errands = Tag.objects.create(user=user, name="errands")
    first_tagged = threading.Event()
    errors: list[BaseException] = []

    def tag(tag: Tag, *, first: bool) -> None:
        try:
            if not first:
                first_tagged.wait(timeout=5)
            with transaction.atomic():
                task.tags.add(tag)
                if first:
                    first_tagged.set()
                    time.sleep(0.3)  # the other transaction tags the task meanwhile
        except BaseException as exc:  # pragma: no cover - reported by the assertion
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=tag, args=(work,), kwargs={"first": True}),
        threading.Thread(target=tag, args=(errands,), kwargs={"first": False}),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert tag_ids_kept(user)
    assert tagged(user, "home", "work", "errands") == {"shared"}
    assert tag_counts(user) == open_tag_counts(user) == {"home": 1, "work": 1, "errands": 1}


def page(user, query: str, **kw):
    return selectors.task_list(user=user, params=QueryDict(query), **kw)


class TestListTotal:
    @pytest.fixture
    def data(self, user, other_user):
        now = timezone.now()
        for i in range(30):
            task = create(
                user,
                f"{'report' if i % 3 == 0 else 'errand'} number {i}",
                priority=["urgent", "high", "medium", "low"][i % 4],
                tags=[
                    name for name, every in (("work", 2), ("home", 3), ("x", 5)) if i % every == 0
                ],
                due_date=now + timedelta(days=i - 10) if i % 7 else None,
            )
            if i % 4 == 1:
                services.task_complete(task=task)
        create(other_user, "report of someone else", priority="urgent", tags=["work"])

    QUERIES = [
        "",
        "status=pending",
        "status=completed",
        "priority=high",
        "priority=urgent&priority=low&status=pending",
        "tag=work",
        "tag=WORK&tag=home",
        "tag=work&tag=home&tag=x",
        "tag=nosuchtag",
        "tag=work&status=pending",
        "tag=work&status=completed",
        "tag=work&priority=high",
        "tag=home&overdue=true",
        "tag=work&tag=home&status=pending&sort_by=priority",
        "tag=HOME&status=all",
        "search=report",
        "search=report&sort_by=due_date",
        "search=report&tag=home&status=pending&sort_by=due_date",
        "search=nothingmatches",
        "overdue=true",
        "overdue=false",
        "due_before=2100-01-01T00:00:00Z&priority=medium",
    ]

    @pytest.mark.parametrize("query", QUERIES)
    def test_total_is_the_number_of_matching_tasks(self, user, data, query):
        everything = page(user, query, limit=1000)
        assert everything.count == len(everything.items)
        first = page(user, query, limit=2)
        assert first.count == everything.count
        assert [t.pk for t in first.items] == [t.pk for t in everything.items[:2]]

    @pytest.mark.parametrize(
        "sort_by", ["due_date", "priority", "created_at", "updated_at", "title"]
    )
    @pytest.mark.parametrize("order", ["asc", "desc"])
    def test_search_sorts_like_the_unsearched_list(self, user, data, sort_by, order):
        """With a search the sort key is wrapped (PostgreSQL, to keep its index out of the
        plan): the order must be exactly the one without a search."""
        sort = f"sort_by={sort_by}&order={order}"
        searched = page(user, f"search=report&{sort}", limit=1000).items
        everything = page(user, sort, limit=1000).items
        expected = [t.pk for t in everything if t.title.startswith("report")]
        assert [t.pk for t in searched] == expected
        assert len(expected) == 10

    @pytest.mark.parametrize("query", ["", "tag=work", "search=report"])
    def test_total_is_kept_past_the_last_page(self, user, data, query):
        full = page(user, query, limit=1000).count
        beyond = page(user, query, limit=5, offset=full + 3)
        assert beyond.items == []
        assert beyond.count == full

    @pytest.mark.parametrize(
        ("query", "queries"),
        [
            ("", 3),  # counts, page, tag names
            ("priority=medium&status=pending", 3),
            ("tag=work", 3),  # the tag with its count, page, tag names
            ("tag=work&tag=home", 4),  # + counting tasks that carry both
            ("search=report", 3),  # ids with the total, page, tag names
        ],
    )
    def test_queries_per_list(self, user, data, query, queries):
        for limit in (1, 50):
            with CaptureQueriesContext(connection) as captured:
                page(user, query, limit=limit)
            assert len(captured) == queries, [q["sql"] for q in captured]

    def test_counts_follow_every_combination_of_priority_and_status(self, user, data):
        names = ["urgent", "high", "medium", "low"]
        for size in range(0, 3):
            for chosen in itertools.combinations(names, size):
                for status in ("all", "pending", "completed"):
                    query = "&".join([f"priority={p}" for p in chosen] + [f"status={status}"])
                    expected = Task.objects.filter(user=user)
                    if chosen:
                        expected = expected.filter(
                            priority__in=[Priority.from_name(p) for p in chosen]
                        )
                    if status != "all":
                        expected = expected.filter(completed=status == "completed")
                    assert page(user, query).count == expected.count(), query
