"""Undo from the toast in the browser pages, with htmx and without JavaScript."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tasks import services
from tasks.models import DeletedTask, Task
from todo_project.eventbus.publishers import LocalBus
from todo_project.eventbus.relay import drain

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
#: An htmx request from a tab that shows the open list (tasks.live reads its view).
ON_OPEN_LIST = {**HTMX, "HX-Current-URL": "http://testserver/tasks/"}


@pytest.fixture
def client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def make(user, title="Task", **data):
    return services.task_create(user=user, data={"title": title, **data})


class TestCompleteOffersUndo:
    def test_htmx_completion_brings_an_undo_toast_with_the_version(self, client, user):
        task = make(user, "Call mom")
        body = client.post(reverse("tasks:complete", args=[task.pk]), headers=HTMX).content.decode()
        assert 'hx-swap-oob="beforeend:#toasts"' in body
        assert "Completed “Call mom”." in body
        assert f'action="{reverse("tasks:undo_complete", args=[task.pk])}"' in body
        assert 'name="version" value="2"' in body

    def test_completing_a_done_task_offers_no_undo(self, client, user):
        task = make(user, "Call mom")
        services.task_complete(task=task)
        body = client.post(reverse("tasks:complete", args=[task.pk]), headers=HTMX).content.decode()
        assert "data-undo" not in body

    def test_without_javascript_the_next_page_holds_the_undo_form_once(self, client, user):
        task = make(user, "Call mom")
        response = client.post(reverse("tasks:complete", args=[task.pk]))
        assert response.status_code == 302
        page = client.get(reverse("tasks:list")).content.decode()
        assert "Completed “Call mom”." in page
        assert f'action="{reverse("tasks:undo_complete", args=[task.pk])}"' in page
        assert "data-undo" not in client.get(reverse("tasks:list")).content.decode()

    def test_reopen_offers_no_undo(self, client, user):
        task = make(user, "Call mom")
        services.task_complete(task=task)
        body = client.post(reverse("tasks:reopen", args=[task.pk]), headers=HTMX).content.decode()
        assert "data-undo" not in body


class TestUndoComplete:
    def test_htmx_undo_reopens_the_row_out_of_band(self, client, user):
        task = make(user, "Call mom")
        done = services.task_complete(task=task)
        url = reverse("tasks:undo_complete", args=[task.pk])
        response = client.post(url, {"version": done.version}, headers=ON_OPEN_LIST)
        assert response.status_code == 200
        body = response.content.decode()
        # Back in the open list this tab shows, where the view has it (tasks.live).
        assert 'id="live-view"' in body and f'data-order="{task.pk}"' in body
        assert f'id="task-{task.pk}"' in body and 'data-version="3"' in body
        assert "Reopened “Call mom”." in body
        assert not Task.objects.get(pk=task.pk).completed

    def test_a_tab_showing_no_list_gets_the_count_and_the_toast(self, client, user):
        task = make(user, "Call mom")
        done = services.task_complete(task=task)
        url = reverse("tasks:undo_complete", args=[task.pk])
        body = client.post(url, {"version": done.version}, headers=HTMX).content.decode()
        assert 'id="open-count"' in body and "Reopened “Call mom”." in body
        assert 'id="live-view"' not in body

    def test_the_removed_next_instance_leaves_the_page(self, client, user):
        due = timezone.now() + timedelta(hours=1)
        task = make(user, "Water", due_date=due, recurrence="FREQ=DAILY")
        done = services.task_complete(task=task)
        drain(LocalBus())
        successor = Task.objects.get(recurrence_parent=task)
        url = reverse("tasks:undo_complete", args=[task.pk])
        body = client.post(url, {"version": done.version}, headers=ON_OPEN_LIST).content.decode()
        assert not Task.objects.filter(pk=successor.pk).exists()
        # The view's order no longer names the repeat: the page drops its row.
        assert f'data-order="{task.pk}"' in body

    def test_a_changed_task_is_a_409_with_the_reason(self, client, user):
        task = make(user, "Call mom")
        done = services.task_complete(task=task)
        services.task_update(task=task, data={"title": "Call dad"})
        url = reverse("tasks:undo_complete", args=[task.pk])
        response = client.post(url, {"version": done.version}, headers=HTMX)
        assert response.status_code == 409
        assert response["Content-Type"].startswith("text/plain")
        assert "changed since it was completed" in response.content.decode()

    def test_without_javascript_a_refusal_is_a_message(self, client, user):
        task = make(user, "Call mom")
        done = services.task_complete(task=task)
        services.task_reopen(task=task)
        url = reverse("tasks:undo_complete", args=[task.pk])
        response = client.post(url, {"version": done.version}, follow=True)
        assert "can no longer be undone" in response.content.decode()

    def test_a_missing_version_is_a_400(self, client, user):
        task = make(user, "Call mom")
        services.task_complete(task=task)
        url = reverse("tasks:undo_complete", args=[task.pk])
        assert client.post(url, headers=HTMX).status_code == 400

    def test_another_users_task_is_a_404(self, client, other_user):
        task = make(other_user, "Secret")
        done = services.task_complete(task=task)
        url = reverse("tasks:undo_complete", args=[task.pk])
        assert client.post(url, {"version": done.version}).status_code == 404


class TestDeleteOffersUndo:
    def test_htmx_delete_brings_an_undo_toast(self, client, user):
        task = make(user, "Old plan")
        body = client.post(reverse("tasks:delete", args=[task.pk]), headers=HTMX).content.decode()
        assert 'hx-swap-oob="delete"' in body
        assert "Deleted “Old plan”." in body
        assert f'action="{reverse("tasks:restore", args=[task.pk])}"' in body

    def test_without_javascript_the_list_holds_the_undo_form(self, client, user):
        task = make(user, "Old plan")
        response = client.post(reverse("tasks:delete", args=[task.pk]), follow=True)
        page = response.content.decode()
        assert "Deleted “Old plan”." in page
        assert f'action="{reverse("tasks:restore", args=[task.pk])}"' in page

    def test_the_confirmation_says_it_can_be_undone(self, client, user):
        task = make(user, "Old plan")
        page = client.get(reverse("tasks:delete", args=[task.pk])).content.decode()
        assert "You can undo this" in page and "cannot be undone" not in page


class TestRestore:
    def test_htmx_restore_inserts_the_row_with_its_tags(self, client, user):
        task = make(user, "Old plan", tags=["home"])
        services.task_delete(task=task)
        response = client.post(reverse("tasks:restore", args=[task.pk]), headers=ON_OPEN_LIST)
        assert response.status_code == 200
        body = response.content.decode()
        assert f'data-order="{task.pk}"' in body
        assert f'id="task-{task.pk}"' in body and 'data-version="3"' in body
        assert ">home<" in body and "Restored “Old plan”." in body

    def test_without_javascript_it_redirects_back_with_a_message(self, client, user):
        task = make(user, "Old plan")
        services.task_delete(task=task)
        response = client.post(reverse("tasks:restore", args=[task.pk]), follow=True)
        page = response.content.decode()
        assert "Restored “Old plan”." in page and f'id="task-{task.pk}"' in page

    def test_too_late_is_a_409(self, client, user):
        task = make(user, "Old plan")
        services.task_delete(task=task)
        DeletedTask.objects.update(deleted_at=timezone.now() - timedelta(hours=1))
        response = client.post(reverse("tasks:restore", args=[task.pk]), headers=HTMX)
        assert response.status_code == 409
        assert "can no longer be restored" in response.content.decode()

    def test_nothing_to_restore_is_a_404(self, client, user, other_user):
        task = make(other_user, "Theirs")
        services.task_delete(task=task)
        assert client.post(reverse("tasks:restore", args=[task.pk])).status_code == 404
        assert client.post(reverse("tasks:restore", args=[999_999])).status_code == 404
