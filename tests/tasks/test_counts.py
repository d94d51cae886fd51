"""List totals (a count bounded by COUNT_CAP), the header's open-task count and the tag
counts of GET /api/tags: all read from the tasks and their tag rows, whatever wrote them."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from realtime.rendering import render_event
from tasks import selectors, services
from tasks.models import Priority, Tag, Task
from todo_project.eventbus.envelope import TASK_UPDATES, parse_envelope
from todo_project.eventbus.models import OutboxMessage

pytestmark = pytest.mark.django_db


def create(user, title: str, **data):
    return services.task_create(user=user, data={"title": title, **data})


def tagged(user, *names: str) -> set[str]:
    query = "&".join(f"tag={name}" for name in names)
    return {task.title for task in page(user, query, limit=200).items}


@pytest.fixture
def cap(monkeypatch):
    """A cap of 5 instead of 1000, to pass it with a few tasks."""
    monkeypatch.setattr(selectors, "COUNT_CAP", 5)
    return 5


class TestBoundedCount:
    def test_exact_up_to_the_cap(self, user, cap):
        for i in range(cap):
            create(user, f"t{i}")
        counted = selectors.count_bounded(Task.objects.filter(user=user))
        assert (counted.value, counted.exact, str(counted)) == (5, True, "5")

    def test_past_the_cap_it_says_more(self, user, cap):
        for i in range(cap + 2):
            create(user, f"t{i}")
        with CaptureQueriesContext(connection) as captured:
            counted = selectors.count_bounded(Task.objects.filter(user=user))
        assert (counted.value, counted.exact, str(counted)) == (5, False, "5+")
        assert len(captured) == 1
        assert "LIMIT 6" in captured[0]["sql"]

    def test_nothing_is_falsy_and_prints_zero(self, user):
        counted = selectors.count_bounded(Task.objects.filter(user=user))
        assert not counted and str(counted) == "0" and counted.exact


class TestListPastTheCap:
    @pytest.fixture
    def many(self, user, cap):
        for i in range(8):
            create(user, f"report {i}", tags=["work"] if i % 2 else [])

    @pytest.mark.parametrize("query", ["", "search=report", "status=pending"])
    def test_count_stops_at_the_cap_and_pages_go_on(self, user, many, query):
        first = page(user, query, limit=3)
        assert (first.count, first.count_exact) == (5, False)
        beyond = page(user, query, limit=3, offset=6)
        assert len(beyond.items) == 2
        assert beyond.count_exact is False

    def test_below_the_cap_the_count_is_exact(self, user, many):
        tagged_page = page(user, "tag=work")
        assert (tagged_page.count, tagged_page.count_exact) == (4, True)

    def test_api_reports_the_bound(self, api, many):
        body = api.get("/api/todos?limit=2").json()
        assert (body["count"], body["count_exact"], len(body["items"])) == (5, False, 2)
        body = api.get("/api/todos?tag=work").json()
        assert (body["count"], body["count_exact"]) == (4, True)

    def test_header_and_live_push_show_more_than_the_cap(self, client, user, many):
        client.force_login(user)
        html = client.get(reverse("tasks:list")).content.decode()
        assert 'id="open-count" class="count">5+<' in html
        assert "5+ tasks" in html
        create(user, "one more")
        event = parse_envelope(
            OutboxMessage.objects.filter(topic=TASK_UPDATES).order_by("-id").first().envelope
        )
        assert 'id="open-count" class="count" hx-swap-oob="true">5+<' in render_event(event)


class TestTotalsFollowEveryWritePath:
    """Nothing is kept beside the rows: writes outside the services are counted too."""

    def test_bulk_writes_updates_and_deletes(self, user, other_user):
        Task.objects.bulk_create(
            [Task(user=user, title=f"bulk {i}", priority=i % 4) for i in range(12)]
        )
        Task.objects.filter(user=user, priority=Priority.LOW).update(
            completed=True, completed_at=timezone.now()
        )
        Task.objects.filter(user=user, priority=Priority.URGENT).update(priority=Priority.HIGH)
        Task.objects.filter(user=user, priority=Priority.MEDIUM).delete()
        assert page(user, "").count == 9
        assert page(user, "status=pending&priority=high").count == 6
        assert page(user, "status=completed").count == 3
        assert selectors.open_task_count(user=user).value == 6
        moved = Task.objects.filter(user=user, priority=Priority.HIGH).first()
        Task.objects.filter(pk=moved.pk).update(user=other_user)
        assert page(user, "priority=high").count == 5
        assert page(other_user, "priority=high").count == 1

    def test_tag_filter_and_tag_counts_follow_the_tag_rows(self, api, user, other_user):
        a = create(user, "a", tags=["work", "home"])
        b = create(user, "b", tags=["work"])
        create(other_user, "theirs", tags=["work", "home"])
        assert tagged(user, "work") == {"a", "b"}
        assert tagged(user, "work", "HOME") == {"a"}

        services.task_update(task=b, data={"tags": ["home", "errands", "work"]})
        assert tagged(user, "work", "home") == {"a", "b"}

        errands = Tag.objects.get(user=user, name="errands")
        a.tags.add(errands)
        b.tags.remove(errands)
        assert tagged(user, "errands") == {"a"}

        through = Task.tags.through
        through.objects.bulk_create(
            [
                through(task_id=t.pk, tag_id=Tag.objects.create(user=user, name=n).pk)
                for t, n in ((a, "x"), (b, "y"))
            ]
        )
        through.objects.filter(task_id=a.pk, tag__name="home").delete()
        assert tagged(user, "home") == {"b"}
        assert tagged(user, "x") == {"a"}
        assert page(user, "tag=work&status=pending").count == 2

        Tag.objects.filter(user=user, name="work").delete()
        b.tags.clear()
        assert tagged(user, "errands", "x") == {"a"}
        assert tagged(user, "y") == set()
        assert tagged(other_user, "work", "home") == {"theirs"}
        assert [(t["name"], t["count"]) for t in api.get("/api/tags").json()] == [
            ("errands", 1),
            ("x", 1),
        ]

    def test_tags_endpoint_counts_the_users_tags_in_use(self, api, user, other_user):
        create(user, "a", tags=["Work", "home"])
        create(user, "b", tags=["work"])
        services.task_complete(task=create(user, "done", tags=["home"]))
        task = create(user, "c", tags=["unused-soon"])
        services.task_update(task=task, data={"tags": []})
        create(other_user, "theirs", tags=["home", "zzz"])
        assert [(t["name"], t["count"]) for t in api.get("/api/tags").json()] == [
            ("home", 2),
            ("Work", 2),
        ]

    def test_deleting_the_user_deletes_tasks_and_tags(self, user):
        create(user, "a", tags=["work"])
        user_id = user.pk
        user.delete()
        assert not Task.objects.filter(user_id=user_id).exists()
        assert not Task.tags.through.objects.filter(tag__user_id=user_id).exists()


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
        assert everything.count_exact
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
            ("", 1),  # the page with its bounded total and each task's tag names
            ("priority=medium&status=pending", 1),
            ("tag=work", 2),  # + resolving the tag names
            ("tag=work&tag=home", 2),
            ("search=report", 2),  # ids with the total, then the rows with tag names
            ("search=nothingmatches", 1),
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
