"""The tags page (tasks.tag_views) and the list's tag filter, without JavaScript."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tasks import services
from tasks.models import Tag, Task

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def make(user, title, *tags):
    return services.task_create(user=user, data={"title": title, "tags": list(tags)})


def tag(user, name):
    return Tag.objects.get(user=user, name=name)


class TestTagsPage:
    def test_lists_every_tag_with_its_count_and_colour_unused_too(self, client, user, other_user):
        make(user, "a", "work", "home")
        make(user, "b", "work")
        task = make(user, "c", "unused")
        services.task_update(task=task, data={"tags": []})
        make(other_user, "theirs", "secret")
        Tag.objects.filter(user=user, name="home").update(colour="green")
        body = client.get(reverse("tasks:tags")).content.decode()
        assert body.index(">home<") < body.index(">unused<") < body.index(">work<")
        assert "2 tasks" in body and "0 tasks" in body and "secret" not in body
        assert 'class="chip tag-green">home<' in body
        assert 'aria-current="page">Tags<' in body

    def test_rename_redirects_with_a_message(self, client, user):
        make(user, "a", "wrk")
        url = reverse("tasks:tag_update", args=[tag(user, "wrk").pk])
        response = client.post(url, {"name": "work", "colour": ""}, follow=True)
        assert "Renamed “wrk” to “work” (1 task changed)." in response.content.decode()

    def test_renaming_to_an_existing_name_asks_before_merging(self, client, user):
        a = make(user, "a", "Job")
        make(user, "b", "work")
        url = reverse("tasks:tag_update", args=[tag(user, "Job").pk])
        body = client.post(url, {"name": "work", "colour": ""}).content.decode()
        assert "Merge “Job” into “work”?" in body
        assert 'name="merge" value="1"' in body
        assert Tag.objects.filter(user=user, name="Job").exists()
        response = client.post(url, {"name": "work", "colour": "", "merge": "1"}, follow=True)
        assert "Merged “Job” into “work” (1 task changed)." in response.content.decode()
        assert Task.objects.get(pk=a.pk).tag_names == ["work"]

    def test_a_bad_name_is_shown_at_its_field(self, client, user):
        make(user, "a", "work")
        work = tag(user, "work")
        response = client.post(reverse("tasks:tag_update", args=[work.pk]), {"name": "  "})
        assert response.status_code == 422
        body = response.content.decode()
        assert f'id="tag-{work.pk}-error"' in body and "must not be empty" in body
        assert tag(user, "work")

    def test_colour_is_saved(self, client, user):
        make(user, "a", "work")
        url = reverse("tasks:tag_update", args=[tag(user, "work").pk])
        client.post(url, {"name": "work", "colour": "purple"})
        assert tag(user, "work").colour == "purple"

    def test_delete_asks_then_deletes(self, client, user):
        task = make(user, "a", "old", "keep")
        url = reverse("tasks:tag_delete", args=[tag(user, "old").pk])
        page = client.get(url).content.decode()
        assert "Delete the tag “old”?" in page and "1 task" in page
        response = client.post(url, follow=True)
        assert "Deleted the tag “old” (1 task changed)." in response.content.decode()
        assert Task.objects.get(pk=task.pk).tag_names == ["keep"]

    def test_another_users_tag_is_a_404(self, client, other_user):
        make(other_user, "a", "theirs")
        theirs = tag(other_user, "theirs")
        assert (
            client.post(reverse("tasks:tag_update", args=[theirs.pk]), {"name": "x"}).status_code
            == 404
        )
        assert client.get(reverse("tasks:tag_delete", args=[theirs.pk])).status_code == 404

    def test_requires_login(self, db):
        assert Client().get(reverse("tasks:tags")).status_code == 302


class TestListShowsTagColoursAndFewChips:
    def test_a_coloured_tag_shows_on_the_rows_chip(self, client, user):
        make(user, "a", "work")
        Tag.objects.filter(user=user, name="work").update(colour="red")
        body = client.get(reverse("tasks:list")).content.decode()
        assert 'class="chip tag-red"' in body

    def test_the_filter_offers_the_eight_most_used_and_a_search_for_the_rest(self, client, user):
        for i in range(12):
            for j in range(i + 1):
                make(user, f"t{i}-{j}", f"tag{i}")
        body = client.get(reverse("tasks:list"), {"status": "all"}).content.decode()
        chips = body.split('id="filter-tags"')[1].split("</fieldset>")[0]
        offered = [f"tag{i}" for i in range(12) if f'value="tag{i}"' in chips.split("<datalist")[0]]
        assert offered == [f"tag{i}" for i in range(4, 12)]
        datalist = chips.split("<datalist")[1]
        assert all(f'<option value="tag{i}">' in datalist for i in range(4))
        assert 'name="tag" list="filter-tag-names"' in chips

    def test_a_searched_tag_filters_and_then_shows_as_a_ticked_chip(self, client, user):
        for i in range(10):
            make(user, f"t{i}", f"tag{i}", "common")
        make(user, "extra", "common")
        body = client.get(reverse("tasks:list"), {"tag": ["", "tag0"]}).content.decode()
        assert "t0" in body and ">t1<" not in body
        chips = body.split('id="filter-tags"')[1].split("</fieldset>")[0]
        assert 'value="tag0" checked' in chips
