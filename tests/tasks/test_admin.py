"""The admin edits tasks through the services: a version bump, the events on both task
topics (activity, reminder job, live push) and the services' validation, as for the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from tasks import services
from tasks.models import ActivityEntry, Priority, Task
from todo_project.eventbus import publishers
from todo_project.eventbus.envelope import TASK_EVENTS, TASK_UPDATES, parse_envelope
from todo_project.eventbus.models import OutboxMessage
from todo_project.eventbus.publishers import LocalBus
from todo_project.eventbus.relay import drain

pytestmark = pytest.mark.django_db(transaction=True)

DUE = datetime(2026, 12, 24, 9, 0, tzinfo=UTC)  # the admin shows and reads UTC (TIME_ZONE)


def events(topic: str = TASK_EVENTS) -> list[tuple[str, dict]]:
    rows = OutboxMessage.objects.filter(topic=topic).order_by("id")
    return [(row.event_type, parse_envelope(row.envelope).payload) for row in rows]


def event_types(topic: str = TASK_EVENTS) -> list[str]:
    return [event_type for event_type, _ in events(topic)]


def split(value: datetime | None) -> dict[str, str]:
    return {"0": value.strftime("%Y-%m-%d"), "1": value.strftime("%H:%M:%S")} if value else {}


def form(task: Task | None = None, **changes: object) -> dict[str, str]:
    """What the browser posts: the form as shown (the task's values), with `changes`."""
    values: dict[str, object] = {
        "title": task.title if task else "",
        "description": task.description if task else "",
        "priority": task.priority if task else Priority.MEDIUM,
        "tags": ", ".join(task.tag_names) if task else "",
        "due_date": task.due_date if task else None,
        "reminder_at": task.reminder_at if task else None,
        "reminder_offset_minutes": task.reminder_offset_minutes if task else None,
        "recurrence": task.recurrence if task else "",
        "timezone": task.timezone if task else "UTC",
        "completed": task.completed if task else False,
    }
    values.update(changes)
    data: dict[str, str] = {"_save": "Save"}
    for name, value in values.items():
        if name in ("due_date", "reminder_at"):
            for part, text in split(value).items():  # type: ignore[arg-type]
                data[f"{name}_{part}"] = text
        elif name == "completed":
            if value:
                data[name] = "on"
        elif value is not None:
            data[name] = str(int(value) if name == "priority" else value)
    return data


def errors(response) -> object:
    context = response.context
    return context["adminform"].form.errors if context and "adminform" in context else None


def add_url() -> str:
    return reverse("admin:tasks_task_add")


def change_url(task: Task) -> str:
    return reverse("admin:tasks_task_change", args=[task.pk])


def changelist_url() -> str:
    return reverse("admin:tasks_task_changelist")


def create(user, title: str = "Buy milk", **data: object) -> Task:
    task = services.task_create(user=user, data={"title": title, **data})
    OutboxMessage.objects.all().delete()
    return task


class TestAdd:
    def test_adding_a_task_creates_it_through_the_service(self, admin_client, user):
        data = form(
            title="  Pay rent ",
            tags="home, Bills, home",
            due_date=DUE,
            reminder_offset_minutes=30,
        )
        data["timezone"] = ""  # left empty: the user's zone, as from the API
        data["user"] = str(user.pk)
        response = admin_client.post(add_url(), data)

        assert response.status_code == 302, errors(response)
        task = Task.objects.get()
        assert (task.title, task.user, task.version) == ("Pay rent", user, 1)
        assert task.timezone == "Europe/Berlin"
        assert sorted(task.tag_names) == ["Bills", "home"]
        # Derived by the service, as for the API: the reminder before the due date.
        assert task.reminder_at == DUE - timedelta(minutes=30)
        assert event_types(TASK_EVENTS) == event_types(TASK_UPDATES) == ["TaskCreated"]
        (_, payload) = events()[0]
        assert (payload["task_id"], payload["title"], payload["version"]) == (
            task.pk,
            "Pay rent",
            1,
        )

    def test_an_all_day_task_is_added_through_the_service(self, admin_client, user):
        data = form(title="Rent", due_date=DUE)
        data.update(user=str(user.pk), all_day="on")
        assert admin_client.post(add_url(), data).status_code == 302
        task = Task.objects.get()
        assert (task.all_day, task.due_day) == (True, DUE.date())

    def test_a_task_added_as_done_is_created_then_completed(self, admin_client, user):
        data = form(title="Already done", completed=True)
        data["user"] = str(user.pk)
        assert admin_client.post(add_url(), data).status_code == 302
        task = Task.objects.get()
        assert task.completed and task.completed_at is not None and task.version == 2
        assert event_types() == ["TaskCreated", "TaskCompleted"]

    def test_the_services_validation_shows_on_the_form_and_nothing_is_written(
        self, admin_client, user
    ):
        data = form(title="Weekly", recurrence="FREQ=WEEKLY;BYDAY=XX", due_date=DUE)
        data["user"] = str(user.pk)
        response = admin_client.post(add_url(), data)
        assert response.status_code == 200
        assert "recurrence" in response.context["adminform"].form.errors
        assert not Task.objects.exists() and not OutboxMessage.objects.exists()


class TestChange:
    def test_the_change_page_shows_the_tags_as_text_and_the_owner_read_only(
        self, admin_client, user
    ):
        task = create(user, tags=["home", "Bills"])
        response = admin_client.get(change_url(task))
        assert response.status_code == 200
        form = response.context["adminform"].form
        assert form.initial["tags"] in ("home, Bills", "Bills, home")
        assert "user" not in form.fields
        assert admin_client.get(add_url()).status_code == 200
        assert admin_client.get(changelist_url()).status_code == 200

    def test_a_change_bumps_the_version_and_emits_what_changed(self, admin_client, user):
        task = create(user, tags=["home"])
        response = admin_client.post(
            change_url(task), form(task, title="Buy oat milk", priority=Priority.URGENT)
        )
        assert response.status_code == 302, errors(response)
        task.refresh_from_db()
        assert (task.title, task.priority, task.version) == ("Buy oat milk", Priority.URGENT, 2)
        assert event_types(TASK_EVENTS) == event_types(TASK_UPDATES) == ["TaskUpdated"]
        (_, payload) = events()[0]
        assert payload["changed_fields"] == ["priority", "title"]
        assert payload["tags"] == ["home"]

    def test_saving_an_unchanged_form_writes_nothing(self, admin_client, user):
        task = create(user, tags=["home"], due_date=DUE, reminder_offset_minutes=15)
        assert admin_client.post(change_url(task), form(task)).status_code == 302
        task.refresh_from_db()
        assert task.version == 1 and not OutboxMessage.objects.exists()

    def test_changing_the_tags_goes_through_the_service(self, admin_client, user):
        task = create(user, tags=["home"])
        admin_client.post(change_url(task), form(task, tags="home, errands"))
        task.refresh_from_db()
        assert sorted(task.tag_names) == ["errands", "home"] and task.version == 2
        assert events()[0][1]["changed_fields"] == ["tags"]

    def test_ticking_and_unticking_done_completes_and_reopens(self, admin_client, user):
        task = create(user)
        admin_client.post(change_url(task), form(task, completed=True))
        task.refresh_from_db()
        admin_client.post(change_url(task), form(task, completed=False))
        task.refresh_from_db()
        assert (task.completed, task.version) == (False, 3)
        assert event_types() == ["TaskCompleted", "TaskUpdated"]

    def test_an_invalid_change_is_a_form_error_and_keeps_the_task(self, admin_client, user):
        task = create(user, due_date=DUE, reminder_offset_minutes=15)
        data = form(task, reminder_offset_minutes=10, reminder_at=DUE - timedelta(hours=1))
        response = admin_client.post(change_url(task), data)
        assert response.status_code == 200
        assert "reminder_at" in response.context["adminform"].form.errors
        task.refresh_from_db()
        assert task.version == 1 and not OutboxMessage.objects.exists()

    def test_the_owner_of_a_task_cannot_be_changed(self, admin_client, user, other_user):
        task = create(user)
        data = form(task, title="Mine")
        data["user"] = str(other_user.pk)
        admin_client.post(change_url(task), data)
        task.refresh_from_db()
        assert (task.user, task.title) == (user, "Mine")

    def test_a_reminder_set_in_the_admin_schedules_its_dapr_job(
        self, admin_client, user, settings, monkeypatch
    ):
        class JobsGateway:
            def __init__(self) -> None:
                self.scheduled: list[tuple[str, datetime]] = []

            def schedule_job(self, *, name: str, due_time: datetime, data: dict) -> None:
                self.scheduled.append((name, due_time))

            def delete_job(self, name: str) -> None:
                raise AssertionError(f"no job to delete: {name}")

        settings.EVENT_BACKEND = "dapr"
        jobs = JobsGateway()
        monkeypatch.setattr(publishers, "dapr_gateway", lambda: jobs)
        task = create(user, due_date=DUE)
        admin_client.post(change_url(task), form(task, reminder_offset_minutes=60))

        drain(LocalBus())  # the task-events handlers, as the worker would run them

        assert jobs.scheduled == [(f"reminder-task-{task.pk}", DUE - timedelta(hours=1))]
        assert ActivityEntry.objects.get().changes == {
            "reminder_at": (DUE - timedelta(hours=1)).isoformat().replace("+00:00", "Z"),
            "reminder_offset_minutes": 60,
        }


class TestDeleteAndActions:
    def test_deleting_a_task_emits_its_last_snapshot(self, admin_client, user):
        task = create(user, tags=["home"])
        response = admin_client.post(
            reverse("admin:tasks_task_delete", args=[task.pk]), {"post": "yes"}
        )
        assert response.status_code == 302
        assert not Task.objects.exists()
        assert event_types(TASK_EVENTS) == event_types(TASK_UPDATES) == ["TaskDeleted"]
        (_, payload) = events()[0]
        assert (payload["task_id"], payload["version"], payload["tags"]) == (task.pk, 2, ["home"])

    def test_the_bulk_delete_action_deletes_each_task_through_the_service(
        self, admin_client, user, other_user
    ):
        tasks = [create(user, "a"), create(other_user, "b"), create(user, "kept")]
        response = admin_client.post(
            changelist_url(),
            {
                "action": "delete_selected",
                "_selected_action": [str(t.pk) for t in tasks[:2]],
                "post": "yes",
            },
        )
        assert response.status_code == 302
        assert list(Task.objects.values_list("title", flat=True)) == ["kept"]
        deleted = events()
        assert sorted(p["title"] for _, p in deleted) == ["a", "b"]
        assert {t for t, _ in deleted} == {"TaskDeleted"}
        assert sorted(OutboxMessage.objects.values_list("partition_key", flat=True)) == sorted(
            [str(user.pk), str(other_user.pk)] * 2
        )

    def test_the_complete_and_reopen_actions_go_through_the_service(self, admin_client, user):
        open_task, done = create(user, "open"), create(user, "done")
        services.task_complete(task=done)
        OutboxMessage.objects.all().delete()
        selected = [str(open_task.pk), str(done.pk)]

        admin_client.post(
            changelist_url(), {"action": "complete_tasks", "_selected_action": selected}
        )
        assert event_types() == ["TaskCompleted"]  # the done one is left as it is
        assert Task.objects.get(pk=open_task.pk).version == 2

        OutboxMessage.objects.all().delete()
        admin_client.post(
            changelist_url(), {"action": "reopen_tasks", "_selected_action": selected}
        )
        assert event_types() == ["TaskUpdated", "TaskUpdated"]
        assert not Task.objects.filter(completed=True).exists()


class TestTagAdmin:
    """Renames, merges and deletes in the admin go through tasks.tag_services."""

    def test_a_rename_updates_every_tagged_task_with_an_event(self, admin_client, user):
        from tasks.models import Tag

        task = services.task_create(user=user, data={"title": "a", "tags": ["wrk"]})
        tag = Tag.objects.get(name="wrk")
        url = reverse("admin:tasks_tag_change", args=[tag.pk])
        response = admin_client.post(url, {"name": "work", "colour": "green"})
        assert response.status_code == 302, response.content
        task.refresh_from_db()
        assert task.tag_names == ["work"] and task.version == 2
        assert Tag.objects.get(pk=tag.pk).colour == "green"
        updated = [p for t, p in events() if t == "TaskUpdated"]
        assert [(p["task_id"], p["tags"]) for p in updated] == [(task.pk, ["work"])]

    def test_delete_and_merge_actions_change_the_tasks(self, admin_client, user):
        from tasks.models import Tag

        a = services.task_create(user=user, data={"title": "a", "tags": ["work", "job"]})
        b = services.task_create(user=user, data={"title": "b", "tags": ["work", "old"]})
        services.task_create(user=user, data={"title": "c", "tags": ["job"]})
        url = reverse("admin:tasks_tag_changelist")
        ids = [str(Tag.objects.get(name=n).pk) for n in ("work", "job")]
        admin_client.post(url, {"action": "merge_tags", "_selected_action": ids})
        assert sorted(Tag.objects.values_list("name", flat=True)) == ["old", "work"]
        old = str(Tag.objects.get(name="old").pk)
        admin_client.post(
            url, {"action": "delete_selected", "_selected_action": [old], "post": "yes"}
        )
        assert Task.objects.get(pk=a.pk).tag_names == ["work"]
        assert Task.objects.get(pk=b.pk).tag_names == ["work"]
        updated = {p["task_id"] for t, p in events() if t == "TaskUpdated"}
        assert a.pk in updated and b.pk in updated
