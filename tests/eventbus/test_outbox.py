"""Writing events: rows in the writer's transaction, a wake-up once it commits."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tasks import services
from todo_project.eventbus.envelope import TASK_EVENTS, TASK_UPDATES, build_event, parse_envelope
from todo_project.eventbus.models import OutboxMessage
from todo_project.eventbus.outbox import enqueue, enqueue_many
from todo_project.eventbus.signals import relay_wakeup
from todo_project.observability import use_traceparent

pytestmark = pytest.mark.django_db(transaction=True)

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def event(user_id: int = 7, title: str = "t"):
    return build_event("TaskCreated", {"task_id": 1, "user_id": user_id, "title": title})


def create(user, title="t", **data):
    return services.task_create(user=user, data={"title": title, **data})


def test_enqueue_outside_a_transaction_is_refused_and_writes_nothing():
    with pytest.raises(RuntimeError, match=r"inside transaction\.atomic"):
        enqueue(event(), topics=(TASK_EVENTS,), partition_key=7)
    assert not OutboxMessage.objects.exists()


def test_one_row_per_topic_keyed_and_carrying_the_envelope():
    written = event(user_id=7)
    with transaction.atomic():
        enqueue(written, topics=(TASK_EVENTS, TASK_UPDATES), partition_key=7)
    rows = list(OutboxMessage.objects.order_by("id"))
    assert [(r.topic, r.partition_key, r.event_type) for r in rows] == [
        (TASK_EVENTS, "7", "TaskCreated"),
        (TASK_UPDATES, "7", "TaskCreated"),
    ]
    assert {r.event_id for r in rows} == {written.event_id}
    assert parse_envelope(rows[0].envelope) == written
    assert [r.published_at for r in rows] == [None, None]


def test_many_events_are_one_insert():
    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        enqueue_many([(event(title=f"t{n}"), (TASK_EVENTS, TASK_UPDATES), 7) for n in range(10)])
    inserts = [q for q in captured if q["sql"].lstrip().upper().startswith("INSERT")]
    assert len(inserts) == 1
    assert OutboxMessage.objects.count() == 20


def test_the_relay_wakes_on_commit_and_not_on_rollback():
    relay_wakeup.clear()
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue(event(), topics=(TASK_EVENTS,), partition_key=7)
        raise RuntimeError("rolled back")
    assert not relay_wakeup.is_set()
    assert not OutboxMessage.objects.exists()

    with transaction.atomic():
        enqueue(event(), topics=(TASK_EVENTS,), partition_key=7)
        assert not relay_wakeup.is_set()  # not before the commit
    assert relay_wakeup.is_set()


def test_a_row_keeps_the_trace_of_the_request_that_wrote_it():
    with use_traceparent(TRACEPARENT), transaction.atomic():
        enqueue(event(), topics=(TASK_EVENTS,), partition_key=7)
    with transaction.atomic():
        enqueue(event(), topics=(TASK_EVENTS,), partition_key=7)
    assert list(OutboxMessage.objects.order_by("id").values_list("traceparent", flat=True)) == [
        TRACEPARENT,
        "",
    ]


class TestTaskServices:
    """Every task service writes its events through the outbox, to both task topics."""

    def test_every_service_writes_its_events_to_both_topics(self, user):
        task = create(user, "a")
        services.task_update(task=task, data={"title": "b", "priority": "high"})
        services.task_complete(task=task)
        services.task_reopen(task=task)
        services.task_delete(task=task)
        rows = list(OutboxMessage.objects.order_by("id"))
        types = [(r.event_type, r.topic) for r in rows]
        assert types == [
            (kind, topic)
            for kind in [
                "TaskCreated",
                "TaskUpdated",
                "TaskCompleted",
                "TaskUpdated",
                "TaskDeleted",
            ]
            for topic in (TASK_EVENTS, TASK_UPDATES)
        ]
        assert {r.partition_key for r in rows} == {str(user.pk)}
        update = parse_envelope(rows[2].envelope)
        assert update.payload["changed_fields"] == ["priority", "title"]
        assert update.payload["version"] == 2
        deleted = parse_envelope(rows[-1].envelope)
        assert deleted.payload["title"] == "b" and deleted.payload["version"] == 5

    def test_envelope_matches_the_contract(self, user):
        create(user, "Buy milk", due_date=timezone.now())
        envelope = OutboxMessage.objects.first().envelope
        assert set(envelope) == {"event_id", "event_type", "timestamp", "payload"}
        assert envelope["timestamp"].endswith("Z")
        payload = envelope["payload"]
        assert {"task_id", "user_id", "title", "due_date", "version"} <= set(payload)
        assert payload["user_id"] == user.pk

    def test_rolled_back_transaction_leaves_no_event(self, user):
        with pytest.raises(RuntimeError), transaction.atomic():
            create(user)
            raise RuntimeError("boom")
        assert OutboxMessage.objects.count() == 0

    def test_idempotent_complete_writes_no_second_event(self, user):
        task = create(user)
        services.task_complete(task=task)
        services.task_complete(task=task)
        assert OutboxMessage.objects.filter(event_type="TaskCompleted").count() == 2  # 2 topics
