"""The distributed worker against the fake Dapr sidecar: subscriptions, acks, dead letters."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
from django.conf import settings as django_settings

from tasks import services
from tasks.models import ActivityEntry
from todo_project.eventbus import publishers, registry
from todo_project.eventbus.dapr_gateway import DaprGateway
from todo_project.eventbus.dispatch import DaprStateDedup
from todo_project.eventbus.envelope import TASK_EVENTS, TOPICS, build_event
from todo_project.eventbus.models import DeadLetter, OutboxMessage
from todo_project.eventbus.publishers import DaprPublisher
from todo_project.eventbus.relay import drain
from todo_project.eventbus.worker import AttemptCounter, TopicConsumer, consume_message

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def dapr_mode(settings, fake_dapr):
    settings.EVENT_BACKEND = "dapr"
    publishers.dapr_gateway.cache_clear()
    yield fake_dapr
    publishers.dapr_gateway.cache_clear()


@pytest.fixture
def consumers(dapr_mode):
    gateway = publishers.dapr_gateway()
    running = [TopicConsumer(gateway, topic, DaprStateDedup(gateway)) for topic in TOPICS]
    for consumer in running:
        consumer.start()
    for topic in TOPICS:
        dapr_mode.wait_for_subscriber(topic)
    yield running
    for consumer in running:
        consumer.stop()
    for consumer in running:
        consumer.join(5)


def envelope_bytes(user, title="Buy milk") -> tuple[str, bytes]:
    event = build_event(
        "TaskCreated",
        {"task_id": 4242, "user_id": user.pk, "title": title, "version": 1},
    )
    return str(event.event_id), json.dumps(event.to_envelope()).encode()


def test_subscriptions_ask_for_dead_letter_topics(consumers, dapr_mode):
    asked = {s.topic: s.dead_letter_topic for s in dapr_mode.subscriptions}
    assert asked == {topic: f"{topic}-dlq" for topic in TOPICS}


def test_event_published_by_the_relay_reaches_the_handlers_and_is_acked(consumers, dapr_mode, user):
    task = services.task_create(user=user, data={"title": "Buy milk"})
    assert drain(DaprPublisher(publishers.dapr_gateway())) == 2
    row = OutboxMessage.objects.get(topic=TASK_EVENTS)
    # The same event id travels on task-events and task-updates: wait for the former.
    response = dapr_mode.wait_for(
        lambda: next(
            (
                r
                for r in dapr_mode.responses
                if r.event_id == str(row.event_id) and r.topic == TASK_EVENTS
            ),
            None,
        ),
        what="the task-events acknowledgement",
    )
    assert response.status == "SUCCESS"
    assert ActivityEntry.objects.get().task_id == task.pk
    saves = [s for s in dapr_mode.state_saves if str(row.event_id) in s.key]
    assert saves and all(s.concurrency == "first_write" for s in saves)
    assert all(s.ttl_seconds == django_settings.DEDUP_TTL_SECONDS for s in saves)
    assert all(s.store == "statestore" for s in saves)


def test_same_event_delivered_twice_has_one_effect(consumers, dapr_mode, user):
    event_id, data = envelope_bytes(user)
    dapr_mode.deliver(TASK_EVENTS, data, event_id=event_id)
    assert dapr_mode.wait_for_response(event_id) == "SUCCESS"
    dapr_mode.deliver(TASK_EVENTS, data, event_id=event_id)
    assert dapr_mode.wait_for_response(event_id, nth=2) == "SUCCESS"
    assert ActivityEntry.objects.count() == 1


def test_two_workers_at_once_have_one_effect(dapr_mode, user):
    """Both pass the state-store check; the effect's unique constraint keeps one."""
    gateway = DaprGateway()
    event_id, data = envelope_bytes(user)
    barrier = threading.Barrier(2)
    verdicts: list[str] = []

    def work() -> None:
        from django.db import connection

        barrier.wait()
        verdicts.append(
            consume_message(TASK_EVENTS, data, DaprStateDedup(gateway), AttemptCounter())
        )
        connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert verdicts == ["success", "success"]
    assert ActivityEntry.objects.count() == 1
    assert ActivityEntry.objects.get().event_id == uuid.UUID(event_id)


def test_poison_message_goes_to_the_dead_letter_topic(consumers, dapr_mode):
    event_id = dapr_mode.deliver(TASK_EVENTS, b"{not json", event_id="poison-1")
    assert dapr_mode.wait_for_response(event_id) == "DROP"
    dapr_mode.wait_for_publish(f"{TASK_EVENTS}-dlq")
    letter = DeadLetter.objects.get()
    assert (letter.topic, letter.consumer) == (TASK_EVENTS, "")
    assert "not JSON" in letter.error


def test_handler_that_keeps_failing_is_retried_then_dead_lettered(
    consumers, dapr_mode, user, settings, monkeypatch
):
    settings.HANDLER_MAX_ATTEMPTS = 3
    original = registry._handlers["tasks.activity_log"]

    def broken(event):
        raise RuntimeError("database on fire")

    monkeypatch.setitem(
        registry._handlers,
        original.name,
        registry.Handler(original.name, original.topic, broken, original.event_types),
    )
    event_id, data = envelope_bytes(user)
    dapr_mode.deliver(TASK_EVENTS, data, event_id=event_id)
    assert dapr_mode.wait_for_response(event_id, nth=1) == "RETRY"
    assert dapr_mode.wait_for_response(event_id, nth=2) == "RETRY"
    assert dapr_mode.wait_for_response(event_id, nth=3) == "DROP"
    dapr_mode.wait_for_publish(f"{TASK_EVENTS}-dlq")
    letter = DeadLetter.objects.get()
    assert (letter.consumer, letter.attempts) == ("tasks.activity_log", 3)
    assert "database on fire" in letter.error


def test_transient_state_store_failure_answers_retry(consumers, dapr_mode, user):
    dapr_mode.fail("get_state", times=1)
    event_id, data = envelope_bytes(user)
    dapr_mode.deliver(TASK_EVENTS, data, event_id=event_id)
    assert dapr_mode.wait_for_response(event_id, nth=1) == "RETRY"
    assert dapr_mode.wait_for_response(event_id, nth=2) == "SUCCESS"
    assert ActivityEntry.objects.count() == 1


def test_stop_waits_for_the_message_in_hand_and_acknowledges_it(dapr_mode, user, monkeypatch):
    started, release = threading.Event(), threading.Event()
    original = registry._handlers["tasks.activity_log"]

    def slow(event):
        started.set()
        release.wait(5)
        original.func(event)

    monkeypatch.setitem(
        registry._handlers,
        original.name,
        registry.Handler(original.name, original.topic, slow, original.event_types),
    )
    gateway = publishers.dapr_gateway()
    consumer = TopicConsumer(gateway, TASK_EVENTS, DaprStateDedup(gateway))
    consumer.start()
    dapr_mode.wait_for_subscriber(TASK_EVENTS)
    event_id, data = envelope_bytes(user)
    dapr_mode.deliver(TASK_EVENTS, data, event_id=event_id)
    assert started.wait(5)
    stopper = threading.Thread(target=consumer.stop)
    stopper.start()
    time.sleep(0.1)
    assert stopper.is_alive()  # waiting for the handler
    release.set()
    stopper.join(5)
    consumer.join(5)
    assert not consumer.is_alive()
    assert dapr_mode.wait_for_response(event_id) == "SUCCESS"
    assert ActivityEntry.objects.count() == 1


def test_worker_command_serves_the_app_channel_and_stops_cleanly_on_sigterm(
    dapr_mode, tmp_path: Path
):
    root = Path(django_settings.BASE_DIR)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        **dapr_mode.env(),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'worker.sqlite3'}",
        "DATA_DIR": str(tmp_path),
        "EVENT_BACKEND": "dapr",
        "WORKER_PORT": str(port),
        "PYTHONUNBUFFERED": "1",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
    )
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "worker"],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        for topic in TOPICS:
            dapr_mode.wait_for_subscriber(topic, timeout=20)
        event_id = dapr_mode.deliver(TASK_EVENTS, b"{poison", event_id="poison-sigterm")
        assert dapr_mode.wait_for_response(event_id, timeout=10) == "DROP"
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/healthz").status_code == 200
        assert httpx.post(f"{base}/job/not-a-reminder").status_code == 404
        assert httpx.get(f"{base}/api/todos").status_code == 404  # only the app channel
        assert httpx.get(f"{base}/metrics").status_code == 200
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    assert "worker stopped" in output
