"""PostgreSQL LISTEN/NOTIFY carries commit wake-ups between processes."""

from __future__ import annotations

import psycopg
import pytest

from tests.conftest import skip_or_fail
from todo_project.eventbus.notify import CHANNEL, OutboxListener
from todo_project.eventbus.signals import relay_wakeup

#: The machine's PostgreSQL, whatever database the suite itself runs on.
PARAMS = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "postgres"}


@pytest.fixture
def listener():
    try:
        psycopg.connect(**PARAMS, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        skip_or_fail(f"PostgreSQL is not reachable on 127.0.0.1:5432: {exc}")
    running = OutboxListener(PARAMS, timeout=0.1)
    running.start()
    assert running.listening.wait(5)
    relay_wakeup.clear()
    yield running
    running.stop()
    running.join(5)


def test_a_commit_in_another_process_wakes_the_relay(listener):
    with psycopg.connect(**PARAMS) as other:  # stands for another process's transaction
        other.execute(f"NOTIFY {CHANNEL}")
        assert not relay_wakeup.wait(0.3)  # nothing before the commit
        other.commit()
    assert relay_wakeup.wait(5)


def test_a_rolled_back_transaction_wakes_nobody(listener):
    with psycopg.connect(**PARAMS) as other:
        other.execute(f"NOTIFY {CHANNEL}")
        other.rollback()
    assert not relay_wakeup.wait(0.5)


@pytest.mark.django_db
def test_enqueue_notifies_on_postgresql_only(user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tasks import services

    with CaptureQueriesContext(connection) as ctx:
        services.task_create(user=user, data={"title": "notify"})
    notified = any(f"NOTIFY {CHANNEL}" in q["sql"] for q in ctx.captured_queries)
    assert notified is (connection.vendor == "postgresql")
