"""Search: the order of matches without sort_by, paging through them, and the upkeep of the
search index as tasks are edited."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.http import QueryDict

from tasks import selectors, services
from tasks.models import Task

pytestmark = pytest.mark.django_db


def create(user, title: str, description: str = "") -> Task:
    return services.task_create(user=user, data={"title": title, "description": description})


def search(user, query: str, **kw) -> selectors.TaskPage:
    return selectors.task_list(user=user, params=QueryDict(query), **kw)


class TestRelevance:
    @pytest.fixture
    def tasks(self, user, other_user):
        once = create(user, "Water the garden")
        thrice = create(user, "Garden plan", "garden beds, garden tools")
        same_a = create(user, "Buy seeds", "for the garden")
        same_b = create(user, "Buy seeds", "for the garden")
        prefix = create(user, "Gardening gloves")
        create(user, "Unrelated errand")
        create(other_user, "garden garden garden garden")
        return once, thrice, same_a, same_b, prefix

    def expected(self, tasks) -> list[int]:
        once, thrice, same_a, same_b, prefix = tasks
        if settings.IS_POSTGRES:
            # Most relevant first (ts_rank: three occurrences beat one); equal ranks, newest
            # first (ties break by id in the order's direction).
            return [t.pk for t in (thrice, prefix, same_b, same_a, once)]
        # SQLite has no ranking: the default sort, by due date (none here), then id.
        return [t.pk for t in (once, thrice, same_a, same_b, prefix)]

    def test_matches_come_most_relevant_first(self, user, tasks):
        found = search(user, "search=garden")
        assert [t.pk for t in found.items] == self.expected(tasks)
        assert found.count == 5

    def test_pages_follow_the_same_order(self, user, tasks):
        expected = self.expected(tasks)
        pages = [search(user, "search=garden", limit=2, offset=offset) for offset in (0, 2, 4)]
        assert [t.pk for page in pages for t in page.items] == expected
        assert {page.count for page in pages} == {5}

    def test_page_rows_carry_their_tag_names(self, user, tasks):
        first = Task.objects.get(pk=self.expected(tasks)[0])
        services.task_update(task=first, data={"tags": ["Outdoor", "home"]})
        found = search(user, "search=garden", limit=1)
        assert found.items[0].pk == first.pk
        assert found.items[0].tag_names == ["home", "Outdoor"]


def test_edited_tasks_are_found_by_their_new_words_only(user):
    """Every save gives the row new entries in the search index (PostgreSQL): the stored
    document follows the title."""
    task = create(user, "Draft the quarterly report")
    for number in range(5):
        services.task_update(task=task, data={"title": f"Draft memo {number}"})
    services.task_update(task=task, data={"title": "Draft the annual budget"})
    assert [t.pk for t in search(user, "search=budget").items] == [task.pk]
    assert search(user, "search=quarterly").count == 0
    assert search(user, "search=memo").count == 0
