"""The relay's transports: the local bus (embedded mode) and Dapr bulk publishing."""

from __future__ import annotations

import json

import grpc
import pytest

from tasks import services
from tasks.models import ActivityEntry
from todo_project.eventbus import registry
from todo_project.eventbus.dapr_gateway import DaprUnavailable
from todo_project.eventbus.envelope import TASK_EVENTS, TASK_UPDATES
from todo_project.eventbus.models import DeadLetter, OutboxMessage
from todo_project.eventbus.publishers import (
    DaprPublisher,
    HandlersFailed,
    LocalBus,
    PublishFailed,
    TransportUnavailable,
)
from todo_project.eventbus.relay import drain, relay_once
from todo_project.observability import TraceContext, current_trace_context, use_traceparent

pytestmark = pytest.mark.django_db(transaction=True)

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def create(user, title="t", **data):
    return services.task_create(user=user, data={"title": title, **data})


def rows(topic: str | None = None) -> list[OutboxMessage]:
    pending = OutboxMessage.objects.order_by("id")
    return list(pending.filter(topic=topic) if topic else pending)


def break_activity_log(monkeypatch: pytest.MonkeyPatch, when=lambda event: True) -> None:
    original = registry._handlers["tasks.activity_log"]

    def broken(events):
        if any(when(event) for event in events):
            raise ValueError("cannot handle")
        original.func(events)

    monkeypatch.setitem(
        registry._handlers,
        original.name,
        registry.Handler(original.name, original.topic, broken, original.event_types),
    )


class TestLocalBus:
    def test_api_change_reaches_the_activity_log(self, api, user):
        response = api.post("/api/todos", {"title": "Buy milk"})
        task_id = response.json()["id"]
        api.patch(f"/api/todos/{task_id}", {"priority": "urgent"})
        drain(LocalBus())
        activity = api.get(f"/api/todos/{task_id}/activity").json()
        assert [a["event_type"] for a in activity] == ["TaskUpdated", "TaskCreated"]
        assert activity[0]["changes"] == {"priority": "urgent"}
        assert activity[0]["actor"] == "alice"

    def test_rows_of_both_topics_are_delivered_together(self, user):
        for number in range(3):
            create(user, f"t{number}")
        LocalBus().publish(rows())
        titles = ActivityEntry.objects.order_by("id").values_list("title", flat=True)
        assert list(titles) == ["t0", "t1", "t2"]

    def test_same_event_twice_has_one_effect(self, user):
        create(user)
        (row,) = rows(TASK_EVENTS)
        bus = LocalBus()
        bus.publish([row])
        bus.publish([row])
        assert ActivityEntry.objects.count() == 1

    def test_a_failure_among_several_rows_raises_so_each_goes_alone(self, user, monkeypatch):
        break_activity_log(monkeypatch, when=lambda event: event.payload["title"] == "b")
        create(user, "a")
        create(user, "b")
        with pytest.raises(HandlersFailed, match=r"tasks\.activity_log: cannot handle"):
            LocalBus().publish(rows(TASK_EVENTS))
        assert not DeadLetter.objects.exists()  # no row's attempt was used up

    def test_a_single_row_is_dead_lettered_on_its_last_attempt(self, user, settings, monkeypatch):
        settings.HANDLER_MAX_ATTEMPTS = 3
        break_activity_log(monkeypatch)
        create(user)
        (row,) = rows(TASK_EVENTS)
        row.attempts = 1
        with pytest.raises(HandlersFailed):
            LocalBus().publish([row])
        row.attempts = 2
        LocalBus().publish([row])
        letter = DeadLetter.objects.get()
        assert (letter.consumer, letter.attempts) == ("tasks.activity_log", 3)

    def test_poison_envelope_is_dead_lettered_and_the_other_rows_delivered(self, user):
        create(user, "fine")
        poison = OutboxMessage(topic=TASK_EVENTS, envelope={"nonsense": True}, partition_key="1")
        LocalBus().publish([poison, *rows(TASK_EVENTS)])
        assert "envelope lacks" in DeadLetter.objects.get().error
        assert list(ActivityEntry.objects.values_list("title", flat=True)) == ["fine"]


class StubDaprGateway:
    """The gateway calls DaprPublisher makes: bulk publishes of a run of one topic.
    ``is_healthy`` is what the sidecar's health probe answers; ``error`` is raised by every
    call while set; entries whose title is in ``refuse`` are reported failed. Each
    published entry is recorded with the trace bound meanwhile, and each call's size."""

    def __init__(self) -> None:
        self.sent: list[tuple[dict[str, object], TraceContext | None]] = []
        self.calls: list[tuple[str, int]] = []
        self.is_healthy = True
        self.error: Exception | None = None
        self.refuse: set[str] = set()

    def healthy(self) -> bool:
        return self.is_healthy

    def publish_many(self, *, topic: str, events: list[tuple[bytes, str, str]]) -> list[str]:
        if self.error is not None:
            raise self.error
        self.calls.append((topic, len(events)))
        failed = []
        for data, event_id, partition_key in events:
            if json.loads(data)["payload"]["title"] in self.refuse:
                failed.append(event_id)
                continue
            call = {
                "topic": topic,
                "data": data,
                "event_id": event_id,
                "partition_key": partition_key,
            }
            self.sent.append((call, current_trace_context()))
        return failed

    def titles(self, topic: str = TASK_EVENTS) -> list[str]:
        return [
            json.loads(call["data"])["payload"]["title"]
            for call, _ in self.sent
            if call["topic"] == topic
        ]


class TestDaprPublisher:
    def test_a_run_of_one_topic_is_one_bulk_call(self, user):
        for number in range(3):
            create(user, f"t{number}")
        gateway = StubDaprGateway()
        DaprPublisher(gateway).publish(rows(TASK_EVENTS) + rows(TASK_UPDATES))
        assert gateway.calls == [(TASK_EVENTS, 3), (TASK_UPDATES, 3)]
        assert gateway.titles() == ["t0", "t1", "t2"]

    def test_each_run_is_published_in_the_trace_of_the_request_that_wrote_it(self, user):
        with use_traceparent(TRACEPARENT):
            create(user, "traced")
        create(user, "untraced")
        written = rows(TASK_EVENTS)
        assert [row.traceparent for row in written] == [TRACEPARENT, ""]

        gateway = StubDaprGateway()
        assert drain(DaprPublisher(gateway)) == 4
        sent = [(call, trace) for call, trace in gateway.sent if call["topic"] == TASK_EVENTS]
        assert [trace.traceparent if trace else None for _, trace in sent] == [TRACEPARENT, None]
        call = sent[0][0]
        assert (call["event_id"], call["partition_key"]) == (str(written[0].event_id), str(user.pk))
        assert json.loads(call["data"]) == written[0].envelope
        assert current_trace_context() is None

    def test_refused_entries_fail_the_publish(self, user):
        create(user, "refused")
        gateway = StubDaprGateway()
        gateway.refuse = {"refused"}
        with pytest.raises(PublishFailed, match="1 of 1 entries failed on task-events"):
            DaprPublisher(gateway).publish(rows(TASK_EVENTS))

    @pytest.mark.parametrize("code", [None, grpc.StatusCode.UNAVAILABLE])
    def test_a_lost_sidecar_is_the_transport_not_the_rows(self, user, code):
        create(user)
        gateway = StubDaprGateway()
        gateway.error = DaprUnavailable("injected: sidecar gone", code=code)
        with pytest.raises(TransportUnavailable):
            DaprPublisher(gateway).publish(rows())

    def test_an_unhealthy_sidecar_leaves_every_row_to_another_relay(self, user):
        create(user, "t0")
        gateway = StubDaprGateway()
        gateway.is_healthy = False
        result = relay_once(DaprPublisher(gateway))
        assert (result.unavailable, result.published, result.failed) == (True, 0, 0)
        assert gateway.sent == []
        assert set(OutboxMessage.objects.values_list("attempts", "next_attempt_at")) == {(0, None)}

    @pytest.mark.parametrize("code", [None, grpc.StatusCode.UNAVAILABLE])
    def test_a_sidecar_lost_mid_pass_charges_no_attempt_and_order_holds_after(self, user, code):
        for number in range(3):
            create(user, f"t{number}")
        gateway = StubDaprGateway()
        gateway.error = DaprUnavailable("injected: sidecar gone", code=code)
        result = relay_once(DaprPublisher(gateway))
        assert (result.unavailable, result.failed) == (True, 0)
        assert set(OutboxMessage.objects.values_list("attempts", flat=True)) == {0}

        gateway.error = None
        drain(DaprPublisher(gateway))
        assert gateway.titles() == ["t0", "t1", "t2"]
        assert not OutboxMessage.objects.filter(published_at=None).exists()

    def test_a_publish_the_sidecar_refused_is_charged_to_the_row_and_backed_off(self, user):
        create(user, "t0")
        gateway = StubDaprGateway()
        gateway.error = DaprUnavailable("injected: broker refused", code=grpc.StatusCode.INTERNAL)
        result = relay_once(DaprPublisher(gateway))
        assert (result.unavailable, result.failed) == (False, 1)
        row = OutboxMessage.objects.get(topic=TASK_EVENTS)
        assert row.attempts == 1
        assert "broker refused" in row.last_error
        assert row.next_attempt_at is not None

    def test_a_refused_entry_holds_back_only_its_key(self, user, other_user):
        create(user, "refused")
        create(other_user, "theirs")
        gateway = StubDaprGateway()
        gateway.refuse = {"refused"}
        result = relay_once(DaprPublisher(gateway))
        # The bulk call failed as a whole; row by row, only the user's first row is at fault
        # (their task-updates row waits behind it: one key, one order across topics).
        assert result.failed == 1
        assert gateway.titles() == ["theirs"]
        assert OutboxMessage.objects.get(attempts=1, published_at=None).partition_key == str(
            user.pk
        )
