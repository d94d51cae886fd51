"""Benchmarks of the distributed mode on the real runtime (the topology of tests/distributed).

    make bench-events-dapr      (python -m tests.bench.bench_dapr events)
    make bench-reminders-dapr   (python -m tests.bench.bench_dapr reminders)

Everything goes the production way: HTTP API -> outbox -> relay -> daprd -> Kafka -> daprd ->
the worker's handlers, and for reminders the worker -> Jobs API -> scheduler -> trigger ->
`reminders` -> notification. Times come from the rows themselves, all on this machine's
clock: an event's commit is its outbox row's created_at, its handling the activity entry's
recorded_at; a reminder's firing is its notification's created_at.

events:     steady  a fixed offered load (default 100 events/s) for some seconds:
                    commit -> handler p50/p99/max;
            drain   the web's sidecar and the worker are stopped while N changes commit,
                    then both come back: events/s from their return until every event
                    was handled (outbox -> daprd -> Kafka -> worker).
reminders:  N reminders due within a window (default 1,000 in 10 s) through the real
            scheduler: lateness p50/p99/max, missed, duplicated.
Targets (issue 11): >= 1,000 events/s draining; p99 commit -> handler <= 100 ms at
100 events/s; reminder p99 lateness <= 1 s, 0 missed, 0 duplicated.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.distributed.topology import (
    WEB_APP_ID,
    Topology,
    runtime_paths,
    scratch_database,
    tempdir,
    wait_until,
)

SERVER_URL = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres")
PASSWORD = "bench password for the dapr mode"


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def row(label: str, value: str, target: str = "", ok: bool | None = None) -> str:
    verdict = "" if ok is None else ("met" if ok else "MISSED")
    return f"| {label:<44} | {value:>14} | {target:>10} | {verdict:<6} |"


def table(rows: list[str]) -> str:
    head = row("measure", "value", "target")
    rule = "|" + "-" * 46 + "|" + "-" * 16 + "|" + "-" * 12 + "|" + "-" * 8 + "|"
    return "\n".join([head, rule, *rows])


class Bench:
    def __init__(self, topology: Topology, users: int) -> None:
        self.topology = topology
        self.clients: list[httpx.Client] = []
        names = [f"bench{n}" for n in range(users)]
        code = (
            "from django.contrib.auth.hashers import make_password\n"
            "from todo_project.accounts.models import User\n"
            f"h = make_password({PASSWORD!r})\n"
            f"User.objects.bulk_create([User(username=n, password=h) for n in {names!r}])\n"
        )
        topology.manage("shell", "-c", code)
        for name in names:
            client = httpx.Client(base_url=f"{topology.web_url}/api", timeout=30)
            answer = client.post("/auth/token", json={"username": name, "password": PASSWORD})
            answer.raise_for_status()
            client.headers["Authorization"] = f"Bearer {answer.json()['access']}"
            self.clients.append(client)

    def db(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(self.topology.database_url, autocommit=True) as conn:
            return list(conn.execute(sql, params).fetchall())

    def create(self, number: int, **fields: Any) -> int:
        client = self.clients[number % len(self.clients)]
        answer = client.post("/todos", json={"title": f"bench {number}", **fields})
        answer.raise_for_status()
        return int(answer.json()["id"])

    def latencies_ms(self, since_id: int) -> list[float]:
        """commit -> activity-log handler, per task-events row after outbox id `since_id`."""
        rows = self.db(
            "SELECT extract(epoch FROM a.recorded_at - o.created_at) * 1000 "
            "FROM eventbus_outboxmessage o JOIN tasks_activityentry a ON a.event_id = o.event_id "
            "WHERE o.topic = 'task-events' AND o.id > %s",
            since_id,
        )
        return [float(r[0]) for r in rows]

    def outbox_high_water(self) -> int:
        return int(self.db("SELECT coalesce(max(id), 0) FROM eventbus_outboxmessage")[0][0])

    def handled_since(self, since_id: int) -> int:
        return int(
            self.db(
                "SELECT count(*) FROM eventbus_outboxmessage o JOIN tasks_activityentry a "
                "ON a.event_id = o.event_id WHERE o.topic = 'task-events' AND o.id > %s",
                since_id,
            )[0][0]
        )


def bench_events(bench: Bench, *, rate: float, seconds: float, backlog: int) -> list[str]:
    lines = []
    # Warm-up: connections, consumer groups, JIT-less Python caches.
    for number in range(20):
        bench.create(number)
    time.sleep(2)

    # steady: one create per 1/rate seconds, from a few threads so a slow answer does not
    # lower the offered load.
    start_id = bench.outbox_high_water()
    total = int(rate * seconds)
    interval = 1.0 / rate
    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = []
        for number in range(total):
            target = began + number * interval
            delay = target - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(bench.create, number))
        for future in futures:
            future.result()
    offered = total / (time.perf_counter() - began)
    wait_until(
        lambda: bench.handled_since(start_id) >= total,
        timeout=120,
        what="the steady phase's events",
        interval=0.5,
    )
    latencies = bench.latencies_ms(start_id)
    p99 = percentile(latencies, 99)
    lines += [
        row(f"steady: offered events/s ({total} events)", f"{offered:.0f}"),
        row("steady: commit -> handler p50", f"{percentile(latencies, 50):.1f} ms"),
        row("steady: commit -> handler p99", f"{p99:.1f} ms", "<= 100 ms", p99 <= 100),
        row("steady: commit -> handler max", f"{max(latencies):.1f} ms"),
    ]

    # drain: a backlog written while the web's sidecar and the worker are down.
    topology = bench.topology
    topology.worker.stop()
    topology.web_sidecar.kill()
    start_id = bench.outbox_high_water()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(bench.create, range(backlog)))
    began = time.perf_counter()
    topology.start_sidecar(WEB_APP_ID)
    topology.start_worker(wait_subscribed=False)
    wait_until(
        lambda: bench.handled_since(start_id) >= backlog,
        timeout=600,
        what="the backlog",
        interval=0.2,
    )
    elapsed = time.perf_counter() - began
    rate_drained = backlog / elapsed
    (published_span, handled_span) = bench.db(
        "SELECT extract(epoch FROM max(o.published_at) - min(o.published_at)), "
        "extract(epoch FROM max(a.recorded_at) - min(a.recorded_at)) "
        "FROM eventbus_outboxmessage o LEFT JOIN tasks_activityentry a ON a.event_id = o.event_id "
        "AND o.topic = 'task-events' WHERE o.id > %s",
        start_id,
    )[0]
    lines += [
        row("drain: relay, first to last publish", f"{float(published_span):.1f} s"),
        row("drain: worker, first to last activity entry", f"{float(handled_span):.1f} s"),
    ]
    lines += [
        row(f"drain: {backlog} events (2 topics each), s", f"{elapsed:.1f} s"),
        row(
            "drain: events/s, sidecar+worker start incl.",
            f"{rate_drained:.0f}",
            ">= 1000",
            rate_drained >= 1000,
        ),
    ]
    return lines


def bench_reminders(bench: Bench, *, count: int, window: float, lead: float) -> list[str]:
    first = datetime.now(UTC) + timedelta(seconds=lead)
    step = window / count
    due = {}

    def make(number: int) -> None:
        at = first + timedelta(seconds=number * step)
        task_id = bench.create(number, reminder_at=at.isoformat())
        due[task_id] = at

    created = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(make, range(count)))
    spent = time.perf_counter() - created
    if datetime.now(UTC) > first:
        print(
            f"warning: creating took {spent:.1f} s, past the first reminder; raise --lead",
            file=sys.stderr,
        )
    end = first + timedelta(seconds=window)
    time.sleep(max(0.0, (end - datetime.now(UTC)).total_seconds()) + 5)
    ids = list(due)

    def notified() -> list[tuple[Any, ...]]:
        return bench.db(
            "SELECT task_id, created_at FROM notifications_notification WHERE task_id = ANY(%s)",
            ids,
        )

    # A reminder that is late is not missed: wait (up to 3 minutes) for the stragglers.
    deadline = time.monotonic() + 180
    while len(rows := notified()) < count and time.monotonic() < deadline:
        time.sleep(2)
    per_task: dict[int, list[datetime]] = {}
    for task_id, created_at in rows:
        per_task.setdefault(int(task_id), []).append(created_at)
    lateness = [
        (times[0] - due[task_id]).total_seconds() * 1000 for task_id, times in per_task.items()
    ]
    missed = sum(1 for task_id in ids if task_id not in per_task)
    duplicated = sum(1 for times in per_task.values() if len(times) > 1)
    p99 = percentile(lateness, 99)
    return [
        row(f"reminders: {count} due within {window:.0f} s", f"created in {spent:.1f} s"),
        row("reminders: lateness p50", f"{percentile(lateness, 50):.0f} ms"),
        row("reminders: lateness p99", f"{p99:.0f} ms", "<= 1000 ms", p99 <= 1000),
        row("reminders: lateness max", f"{max(lateness, default=float('nan')):.0f} ms"),
        row("reminders: missed (not fired 3 min after)", str(missed), "0", missed == 0),
        row("reminders: duplicated", str(duplicated), "0", duplicated == 0),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    events = sub.add_parser("events")
    events.add_argument("--rate", type=float, default=100.0)
    events.add_argument("--seconds", type=float, default=20.0)
    events.add_argument("--backlog", type=int, default=5000)
    events.add_argument("--users", type=int, default=30)
    reminders = sub.add_parser("reminders")
    reminders.add_argument("--count", type=int, default=1000)
    reminders.add_argument("--window", type=float, default=10.0)
    reminders.add_argument("--lead", type=float, default=45.0)
    reminders.add_argument("--users", type=int, default=30)
    args = parser.parse_args(argv)
    if reason := runtime_paths().missing():
        print(reason, file=sys.stderr)
        return 1
    workdir: Path = tempdir("todo-bench-dapr-")
    with scratch_database(SERVER_URL, "todo_bench_dapr") as database_url:
        topology = Topology(
            workdir=workdir,
            database_url=database_url,
            app_env={
                "LOG_LEVEL": "WARNING",
                "DEBUG": "false",
                "SECRET_KEY": "bench-only-" + "k" * 50,
                "ALLOWED_HOSTS": "127.0.0.1",
            },
        )
        try:
            topology.start()
            bench = Bench(topology, args.users)
            if args.what == "events":
                lines = bench_events(
                    bench, rate=args.rate, seconds=args.seconds, backlog=args.backlog
                )
            else:
                lines = bench_reminders(bench, count=args.count, window=args.window, lead=args.lead)
        finally:
            topology.stop()
    print(f"\nDapr mode on the real runtime ({os.cpu_count()} cores), logs in {topology.logs}")
    print(table(lines))
    return 0


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    raise SystemExit(main())
