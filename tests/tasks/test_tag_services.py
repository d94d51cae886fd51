"""Renaming, merging, deleting and colouring tags (tasks.tag_services)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tasks import selectors, services, tag_services
from tasks.models import Tag, Task
from todo_project.eventbus.envelope import TASK_EVENTS, TASK_UPDATES, parse_envelope
from todo_project.eventbus.models import OutboxMessage

pytestmark = pytest.mark.django_db


def make(user, title, *tags):
    return services.task_create(user=user, data={"title": title, "tags": list(tags)})


def tag(user, name):
    return Tag.objects.get(user=user, name=name)


def updates(topic=TASK_EVENTS):
    rows = OutboxMessage.objects.filter(topic=topic, event_type="TaskUpdated").order_by("id")
    return [parse_envelope(row.envelope) for row in rows]


def tags_of(task):
    return sorted(Task.objects.get(pk=task.pk).tag_names)


class TestRename:
    def test_renames_on_every_task_with_an_update_event_each(self, user):
        a = make(user, "a", "wrk", "home")
        b = make(user, "b", "wrk")
        make(user, "c", "home")
        change = tag_services.tag_rename(tag=tag(user, "wrk"), name=" work ")
        assert (change.tag.name, change.tasks, change.merged) == ("work", 2, False)
        assert tags_of(a) == ["home", "work"] and tags_of(b) == ["work"]
        for topic in (TASK_EVENTS, TASK_UPDATES):
            events = updates(topic)
            assert sorted(e.payload["task_id"] for e in events) == [a.pk, b.pk]
            assert all(e.payload["changed_fields"] == ["tags"] for e in events)
        by_task = {e.payload["task_id"]: e.payload for e in updates()}
        assert by_task[a.pk]["tags"] == ["home", "work"]
        assert by_task[a.pk]["version"] == Task.objects.get(pk=a.pk).version == 2

    def test_a_change_of_case_is_a_rename(self, user):
        make(user, "a", "work")
        change = tag_services.tag_rename(tag=tag(user, "work"), name="Work")
        assert change.tag.name == "Work" and not change.merged
        assert Tag.objects.filter(user=user).count() == 1

    def test_the_same_name_changes_nothing(self, user):
        make(user, "a", "work")
        assert tag_services.tag_rename(tag=tag(user, "work"), name="work").tasks == 0
        assert updates() == []

    @pytest.mark.parametrize(
        ("name", "message"), [("   ", "must not be empty"), ("x" * 51, "longer")]
    )
    def test_a_bad_name_is_an_error_on_name(self, user, name, message):
        make(user, "a", "work")
        with pytest.raises(ValidationError) as caught:
            tag_services.tag_rename(tag=tag(user, "work"), name=name)
        assert message in caught.value.message_dict["name"][0]

    def test_another_tags_name_needs_a_merge(self, user):
        make(user, "a", "work")
        make(user, "b", "Job")
        with pytest.raises(tag_services.TagExists) as caught:
            tag_services.tag_rename(tag=tag(user, "Job"), name="WORK")
        assert caught.value.existing.name == "work"
        assert Tag.objects.filter(user=user).count() == 2 and updates() == []

    def test_another_users_tag_of_that_name_is_no_conflict(self, user, other_user):
        make(user, "a", "job")
        make(other_user, "b", "work")
        assert tag_services.tag_rename(tag=tag(user, "job"), name="work").tag.name == "work"


class TestMerge:
    def test_moves_the_tasks_and_removes_the_source(self, user):
        a = make(user, "a", "Job")
        both = make(user, "both", "Job", "work")
        c = make(user, "c", "work")
        change = tag_services.tag_rename(tag=tag(user, "Job"), name="Work", merge=True)
        assert change.merged and change.tag.name == "work" and change.tasks == 2
        assert tags_of(a) == tags_of(both) == tags_of(c) == ["work"]
        assert not Tag.objects.filter(user=user, name="Job").exists()
        assert sorted(e.payload["task_id"] for e in updates()) == [a.pk, both.pk]

    def test_the_target_keeps_its_colour_or_takes_the_sources(self, user):
        make(user, "a", "a1", "b1")
        tag_services.tag_set_colour(tag=tag(user, "a1"), colour="red")
        change = tag_services.tag_merge(source=tag(user, "a1"), target=tag(user, "b1"))
        assert change.tag.colour == "red"

    def test_tags_of_two_users_do_not_merge(self, user, other_user):
        make(user, "a", "x")
        make(other_user, "b", "y")
        with pytest.raises(ValidationError):
            tag_services.tag_merge(source=tag(user, "x"), target=tag(other_user, "y"))


class TestDelete:
    def test_takes_the_tag_off_its_tasks_which_stay(self, user):
        a = make(user, "a", "old", "keep")
        b = make(user, "b", "old")
        assert tag_services.tag_delete(tag=tag(user, "old")) == 2
        assert tags_of(a) == ["keep"] and tags_of(b) == []
        assert not Tag.objects.filter(user=user, name="old").exists()
        assert {e.payload["task_id"]: e.payload["tags"] for e in updates()} == {
            a.pk: ["keep"],
            b.pk: [],
        }

    def test_an_unused_tag_goes_without_events(self, user):
        task = make(user, "a", "gone")
        services.task_update(task=task, data={"tags": []})
        before = len(updates())
        assert tag_services.tag_delete(tag=tag(user, "gone")) == 0
        assert len(updates()) == before


class TestColour:
    def test_sets_a_palette_colour_without_task_events(self, user):
        make(user, "a", "work")
        tag_services.tag_set_colour(tag=tag(user, "work"), colour="teal")
        assert tag(user, "work").colour == "teal"
        assert updates() == []
        assert selectors.tag_colours(user=user) == {"work": "teal"}

    def test_an_unknown_colour_is_an_error_on_colour(self, user):
        make(user, "a", "work")
        with pytest.raises(ValidationError) as caught:
            tag_services.tag_set_colour(tag=tag(user, "work"), colour="#ff0000")
        assert "colour" in caught.value.message_dict

    def test_update_renames_and_colours_at_once(self, user):
        make(user, "a", "wrk")
        change = tag_services.tag_update(tag=tag(user, "wrk"), name="work", colour="blue")
        assert (change.tag.name, tag(user, "work").colour) == ("work", "blue")

    def test_update_with_a_bad_colour_renames_nothing(self, user):
        make(user, "a", "wrk")
        with pytest.raises(ValidationError):
            tag_services.tag_update(tag=tag(user, "wrk"), name="work", colour="mauve")
        assert tag(user, "wrk")


class TestBatches:
    def test_events_are_written_in_bounded_batches(self, user, monkeypatch):
        monkeypatch.setattr(tag_services, "TAG_EVENT_BATCH", 3)
        tasks = [make(user, f"t{i}", "bulk") for i in range(7)]
        OutboxMessage.objects.all().delete()
        with CaptureQueriesContext(connection) as queries:
            change = tag_services.tag_rename(tag=tag(user, "bulk"), name="many")
        assert change.tasks == 7
        outbox_inserts = [q for q in queries if 'INSERT INTO "eventbus_outboxmessage"' in q["sql"]]
        assert len(outbox_inserts) == 3  # 3 + 3 + 1 tasks
        assert sorted(e.payload["task_id"] for e in updates()) == sorted(t.pk for t in tasks)
        assert all(e.payload["tags"] == ["many"] for e in updates())
