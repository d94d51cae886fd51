from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.utils import timezone

from realtime import handlers
from realtime.rendering import render_event
from tasks import days, services
from tasks.live import ListView, render_view_update, view_update
from tasks.presenters import TaskRow
from todo_project.eventbus.envelope import TASK_UPDATES, build_event, parse_envelope
from todo_project.eventbus.models import OutboxMessage
from todo_project.eventbus.registry import handlers_for

pytestmark = pytest.mark.django_db


def last_update_event():
    row = OutboxMessage.objects.filter(topic=TASK_UPDATES).order_by("-id").first()
    return parse_envelope(row.envelope)


def test_handler_is_registered_for_task_updates_without_dedup():
    handler = next(h for h in handlers_for(TASK_UPDATES) if h.name == "realtime.push")
    assert handler.dedupe is False
    assert handler.event_types == {
        "TaskCreated",
        "TaskUpdated",
        "TaskCompleted",
        "TaskDeleted",
        "NotificationCreated",
        "NotificationsRead",
    }


def test_every_tab_gets_the_header_counts_of_a_task_change_and_no_row(user):
    services.task_create(user=user, data={"title": "Mine"})
    html = render_event(last_update_event())
    assert html == (
        '<span id="open-count" class="count" hx-swap-oob="true">1'
        '<span class="visually-hidden"> open</span></span>'
        '<span id="today-count" class="count" hx-swap-oob="true">0'
        '<span class="visually-hidden"> due</span></span>'
        '<span id="upcoming-count" class="count" hx-swap-oob="true">0'
        '<span class="visually-hidden"> in 7 days</span></span>'
    )


def test_page_and_push_render_the_same_row(user, rf):
    from django.template.loader import render_to_string

    task = services.task_create(
        user=user,
        data={
            "title": "Same",
            "tags": ["b", "A"],
            "priority": "high",
            "due_date": datetime(2030, 3, 4, 8, 30, tzinfo=UTC),
            "recurrence": "FREQ=DAILY",
        },
    )
    pushed = TaskRow.from_snapshot(last_update_event().payload)
    page = TaskRow.from_task(task)
    assert pushed.__dict__ | {"now": None} == page.__dict__ | {"now": None}
    with timezone.override("Europe/Berlin"):
        a = render_to_string("tasks/list.html#task-row", {"row": pushed})
        b = render_to_string("tasks/list.html#task-row", {"row": page})
    assert a.replace(str(pushed.now), "") == b.replace(str(page.now), "")


def test_a_pushed_row_marks_a_description_with_an_accessible_label(user):
    # Each tab's consumer renders the pushed row from the event's snapshot (tasks.live).
    task = services.task_create(user=user, data={"title": "Plain"})
    view = ListView.from_query("status=all")
    assert view is not None
    plain = TaskRow.from_snapshot(last_update_event().payload)
    assert "Has a description" not in render_view_update(
        view_update(user=user, view=view, row=plain)
    )
    services.task_update(task=task, data={"description": "Ask about the <b>bill</b>"})
    described = TaskRow.from_snapshot(last_update_event().payload)
    html = render_view_update(view_update(user=user, view=view, row=described, shown=[]))
    assert 'class="visually-hidden">Has a description<' in html
    assert "bill" not in html  # the mark, not the text


def test_unknown_user_or_event_renders_nothing(user):
    assert render_event(build_event("TaskCreated", {"task_id": 1, "user_id": 999_999})) == ""
    assert render_event(build_event("SomethingElse", {"user_id": user.pk})) == ""
    assert render_event(build_event("TaskCreated", {"task_id": 1})) == ""


def test_push_sends_to_the_users_group(user, monkeypatch):
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    from realtime.consumers import user_group

    sent = []
    monkeypatch.setattr(
        handlers, "group_send", lambda group, message: sent.append((group, message))
    )
    layer = get_channel_layer()
    async_to_sync(layer.group_add)(user_group(user.pk), "specific.tab")  # an open tab
    try:
        task = services.task_create(user=user, data={"title": "x"})
        event = last_update_event()
        handlers.push_update([event])
    finally:
        async_to_sync(layer.group_discard)(user_group(user.pk), "specific.tab")
    ((group, message),) = sent
    # The snapshot travels with the message: each tab's consumer places the row itself.
    assert group == f"user-{user.pk}" and message["type"] == "live.task"
    assert message["payload"] == event.payload and message["payload"]["task_id"] == task.pk
    assert 'id="open-count"' in message["html"]


def test_nothing_is_rendered_for_a_user_without_an_open_tab(user, monkeypatch):
    rendered = []
    monkeypatch.setattr(handlers, "render_event", lambda event: rendered.append(event) or "x")
    services.task_create(user=user, data={"title": "x"})
    handlers.push_update([last_update_event()])
    assert rendered == []


def test_with_redis_every_event_is_rendered(user, settings, monkeypatch):
    from channels.layers import channel_layers

    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:6379/14"]},
        }
    }
    channel_layers.backends.clear()
    try:
        assert handlers.nobody_listens(user.pk) is False  # tabs may be on another replica
    finally:
        channel_layers.backends.clear()


def test_reading_notifications_updates_the_badge_in_other_tabs(user):
    from notifications.services import (
        DueReminder,
        notification_mark_all_read,
        notification_mark_read,
        notifications_create_for_reminders,
    )

    task = services.task_create(user=user, data={"title": "x"})
    notes = notifications_create_for_reminders(
        [
            DueReminder(
                user_id=user.pk,
                task_id=task.pk,
                message="m",
                reminder_at=datetime(2026, 1, day, tzinfo=UTC),
                due_date=None,
            )
            for day in (1, 2, 3)
        ]
    )
    notification_mark_read(notification=notes[0])
    event = last_update_event()
    assert event.event_type == "NotificationsRead"
    assert event.payload["notification_ids"] == [notes[0].pk]
    html = render_event(event)
    assert 'id="unread-badge"' in html and 'hx-swap-oob="true"' in html
    assert ">2<" in html
    # The row itself, now read, replaces the unread one in another tab's inbox.
    read_row = f'<li id="notification-{notes[0].pk}" class="notification" hx-swap-oob="true">'
    assert read_row in html
    assert html.count("<li ") == 1 and "Mark read" not in html
    assert notification_mark_all_read(user=user) == 2
    html = render_event(last_update_event())
    assert ">0<" in html and html.count("<li ") == 2 and "is-unread" not in html
    assert f'id="notification-{notes[1].pk}"' in html and f'id="notification-{notes[2].pk}"' in html
    before = OutboxMessage.objects.count()
    notification_mark_read(notification=notes[0])  # already read: nothing to announce
    assert notification_mark_all_read(user=user) == 0
    assert OutboxMessage.objects.count() == before


def test_a_push_carries_the_today_and_upcoming_counts_of_the_users_days(user):
    from datetime import timedelta

    today = days.local_day(timezone.now(), user.timezone)
    services.task_create(user=user, data={"title": "Rent", "due_date": today})
    services.task_create(user=user, data={"title": "Later", "due_date": today + timedelta(days=3)})
    html = render_event(last_update_event())
    assert 'id="today-count" class="count" hx-swap-oob="true">1<' in html
    assert 'id="upcoming-count" class="count" hx-swap-oob="true">2<' in html
    assert 'id="open-count" class="count" hx-swap-oob="true">2<' in html


def test_a_reminder_toast_offers_snooze_and_stays(user):
    from notifications.services import DueReminder, notifications_create_for_reminders

    task = services.task_create(user=user, data={"title": "Call mum"})
    (notification,) = notifications_create_for_reminders(
        [
            DueReminder(
                user_id=user.pk,
                task_id=task.pk,
                message="Call mum",
                reminder_at=timezone.now(),
                due_date=None,
            )
        ]
    )
    html = render_event(last_update_event())
    toast = html.split('hx-swap-oob="beforeend:#toasts">')[1]
    assert "data-sticky" in toast
    assert f'action="/notifications/{notification.pk}/snooze/"' in toast
    assert 'name="from" value="toast"' in toast
    assert 'hx-target="closest .toast"' in toast
