"""Event throughput and commit-to-handler latency, embedded mode on PostgreSQL.

    make bench-events         (or: python -m tests.bench.bench_events [--events 5000])

Producer threads change tasks through the services (task_create / task_update, each its own
transaction) while the relay runs as RelayLoop(LocalBus()) in a background thread, exactly
as in `make run`. A measuring handler registered last on task-events records when each
event reached the handlers (after the app's own task-events handlers ran) and, through
on_commit, when the relay's transaction holding their effects committed. Events are matched
to their commit by (task id, version).

Two phases:
  live   producers and relay run together; latency and end-to-end throughput.
  drain  the same number of changes are committed with the relay stopped, then one relay
         drains the backlog: the capacity of outbox -> relay -> handlers alone.
Targets (issue 3): >= 1,000 events/s and p99 commit-to-handler latency <= 50 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from . import common

TARGET_EVENTS_PER_SECOND = 1000.0
TARGET_P99_MS = 50.0


Key = tuple[int, int]  # (task id, version): one domain event


@dataclass
class Recorder:
    """Per event: committed by the producer; seen by the measuring handler of each topic; the
    relay transaction holding the handlers' effects committed (on_commit)."""

    topics: tuple[str, ...]
    committed: dict[Key, float] = field(default_factory=dict)
    handled: dict[str, dict[Key, float]] = field(default_factory=dict)
    effect_committed: dict[str, dict[Key, float]] = field(default_factory=dict)
    done: threading.Event = field(default_factory=threading.Event)
    expected: int = 0

    def reset(self, expected: int) -> None:
        self.committed.clear()
        self.handled = {topic: {} for topic in self.topics}
        self.effect_committed = {topic: {} for topic in self.topics}
        self.done.clear()
        self.expected = expected

    def handler(self, topic: str) -> Any:
        def on_events(events: Any) -> None:
            from django.db import transaction

            keys = [(int(e.payload["task_id"]), int(e.payload["version"])) for e in events]
            now = time.perf_counter()
            for key in keys:
                self.handled[topic][key] = now
            transaction.on_commit(lambda: self._effects_committed(topic, keys))

        return on_events

    def _effects_committed(self, topic: str, keys: list[Key]) -> None:
        now = time.perf_counter()
        for key in keys:
            self.effect_committed[topic][key] = now
        if all(len(times) >= self.expected for times in self.effect_committed.values()):
            self.done.set()

    def progress(self) -> int:
        return min(len(times) for times in self.effect_committed.values())


class Producer(threading.Thread):
    """Commits `count` task changes through the services, one transaction each."""

    def __init__(
        self,
        *,
        number: int,
        user_ids: Sequence[int],
        count: int,
        recorder: Recorder,
        create_share: float,
        seed: int,
    ) -> None:
        super().__init__(name=f"producer-{number}", daemon=True)
        self.user_ids = list(user_ids)
        self.count = count
        self.recorder = recorder
        self.create_share = create_share
        self.rng = random.Random(seed)
        self.tasks: dict[int, list[int]] = {user_id: [] for user_id in self.user_ids}
        self.error: BaseException | None = None

    def run(self) -> None:
        from django.db import connection
        from django.utils import timezone

        from tasks import services
        from tasks.models import Task
        from todo_project.accounts.models import User

        factory = common.TaskFactory(now=timezone.now(), seed=self.rng.randrange(1 << 30))
        users = {user.pk: user for user in User.objects.filter(pk__in=self.user_ids)}
        priorities = ("urgent", "high", "medium", "low")
        try:
            for _ in range(self.count):
                user_id = self.rng.choice(self.user_ids)
                own = self.tasks[user_id]
                seed = factory.task()
                if not own or self.rng.random() < self.create_share:
                    data: dict[str, Any] = {
                        "title": seed.title,
                        "description": seed.description,
                        "priority": priorities[seed.priority],
                        "tags": seed.tags,
                        "due_date": seed.due_date,
                    }
                    task = services.task_create(user=users[user_id], data=data)
                    own.append(task.pk)
                else:
                    data = {"title": seed.title, "priority": priorities[seed.priority]}
                    if self.rng.random() < 0.3:
                        data["tags"] = seed.tags
                    if self.rng.random() < 0.3:
                        data["due_date"] = timezone.now() + timedelta(days=self.rng.randint(1, 60))
                    task = services.task_update(task=Task(pk=self.rng.choice(own)), data=data)
                self.recorder.committed[(task.pk, task.version)] = time.perf_counter()
        except BaseException as exc:  # reported by the main thread
            self.error = exc
        finally:
            connection.close()


def run_producers(
    *, users: Sequence[int], events: int, producers: int, recorder: Recorder, seed: int
) -> float:
    """Run the producers to completion; returns their wall time in seconds."""
    per_producer = [events // producers + (i < events % producers) for i in range(producers)]
    threads = [
        Producer(
            number=i,
            user_ids=users[i::producers],
            count=per_producer[i],
            recorder=recorder,
            create_share=0.4,
            seed=seed + i,
        )
        for i in range(producers)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for thread in threads:
        if thread.error is not None:
            raise thread.error
    return time.perf_counter() - started


@dataclass
class Phase:
    name: str
    events: int
    handled: int
    committed_per_second: float
    handled_per_second: float
    latencies: dict[str, list[float]]


def summarize(
    name: str, recorder: Recorder, *, producer_seconds: float, since: float | None = None
) -> Phase:
    """Throughput from `since` (default: the first commit) to the last effect commit."""
    from todo_project.eventbus.envelope import TASK_EVENTS

    keys = [
        key
        for key in recorder.committed
        if all(key in times for times in recorder.effect_committed.values())
    ]

    def after_commit(times: list[float], key: Key) -> float:
        return max(0.0, max(times) - recorder.committed[key]) * 1000

    latencies = {
        "commit -> task-events handlers ran": [
            after_commit([recorder.handled[TASK_EVENTS][k]], k) for k in keys
        ],
        "commit -> handlers of both topics ran": [
            after_commit([recorder.handled[t][k] for t in recorder.topics], k) for k in keys
        ],
        "commit -> their effects committed": [
            after_commit([recorder.effect_committed[t][k] for t in recorder.topics], k)
            for k in keys
        ],
    }
    first = since if since is not None else min(recorder.committed.values())
    last = max(max(times.values()) for times in recorder.effect_committed.values() if times)
    return Phase(
        name=name,
        events=len(recorder.committed),
        handled=len(keys),
        committed_per_second=len(recorder.committed) / producer_seconds,
        handled_per_second=len(keys) / (last - first),
        latencies=latencies,
    )


def wait(recorder: Recorder, timeout: float, label: str) -> None:
    deadline = time.monotonic() + timeout
    while not recorder.done.wait(5):
        print(f"  {label}: {recorder.progress()} of {recorder.expected} handled", flush=True)
        if time.monotonic() > deadline:
            print(f"  {label}: timed out after {timeout:.0f}s", flush=True)
            return


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--events", type=int, default=2500, help="task changes per phase (two phases)"
    )
    parser.add_argument("--producers", type=int, default=2, help="producer threads")
    parser.add_argument("--users", type=int, default=4, help="users (partition keys)")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds per phase")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)

    with common.bench_database():
        from tasks.events import TASK_EVENT_TYPES
        from tasks.models import ActivityEntry
        from todo_project.accounts.models import User
        from todo_project.eventbus.envelope import TASK_EVENTS, TASK_UPDATES
        from todo_project.eventbus.models import DeadLetter, OutboxMessage
        from todo_project.eventbus.registry import Handler, handlers_for, register_handlers
        from todo_project.eventbus.relay import RelayLoop

        topics = (TASK_EVENTS, TASK_UPDATES)
        recorder = Recorder(topics=topics)
        register_handlers(
            Handler(
                name=f"bench.measure.{topic}",
                topic=topic,
                func=recorder.handler(topic),
                event_types=TASK_EVENT_TYPES,
                dedupe=False,
            )
            for topic in topics
        )
        timings = common.Timings()
        bus_class = common.instrument(timings)
        for topic in topics:
            names = ", ".join(h.name for h in handlers_for(topic))
            print(f"{topic} handlers, in order: {names}", flush=True)
        users = []
        for i in range(args.users):
            user = User.objects.create_user(f"bench{i}", password="x", timezone="Europe/Berlin")
            common.create_tags(user.pk)  # producers never race to create the same tag
            users.append(user.pk)
        common.analyze()

        # live: the relay runs while the producers commit
        recorder.reset(args.events)
        relay = RelayLoop(bus_class())
        relay.start()
        producer_seconds = run_producers(
            users=users,
            events=args.events,
            producers=args.producers,
            recorder=recorder,
            seed=common.SEED,
        )
        wait(recorder, args.timeout, "live")
        live = summarize("live", recorder, producer_seconds=producer_seconds)
        relay.stop()
        relay.join(timeout=30)

        # drain: as many changes committed with the relay stopped, then one relay drains them
        recorder.reset(args.events)
        producer_seconds = run_producers(
            users=users,
            events=args.events,
            producers=args.producers,
            recorder=recorder,
            seed=common.SEED + 100,
        )
        backlog = OutboxMessage.objects.filter(published_at=None).count()
        timings.clear()
        drain_started = time.perf_counter()
        relay = RelayLoop(bus_class())
        relay.start()
        wait(recorder, args.timeout, "drain")
        drain_seconds = time.perf_counter() - drain_started
        drain = summarize("drain", recorder, producer_seconds=producer_seconds, since=drain_started)
        relay.stop()
        relay.join(timeout=30)

        load = "/".join(f"{x:.1f}" for x in os.getloadavg())
        common.print_table(
            ["phase", "events", "handled", "producers committed/s", "handled/s"],
            [
                [p.name, p.events, p.handled, p.committed_per_second, p.handled_per_second]
                for p in (live, drain)
            ],
            title=f"{args.events:,} task changes per phase (~40% task_create, ~60% task_update), "
            f"{args.producers} producer threads, {args.users} users; one event = 2 outbox rows "
            f"(task-events + task-updates); load average {load}",
        )
        print(
            "live handled/s: events / (first commit -> last effect committed), producers and "
            f"relay together;\ndrain handled/s: {backlog} backlog rows from relay start, "
            f"{drain_seconds:.2f}s: the relay + handlers capacity alone."
        )
        common.print_table(
            ["phase", "latency", "p50 ms", "p99 ms", "max ms"],
            [
                [p.name, label, common.percentile(v, 50), common.percentile(v, 99), max(v)]
                for p in (live, drain)
                for label, v in p.latencies.items()
            ],
            title="Commit-to-handler latency (commit = the service returned)",
        )
        common.print_breakdown(timings, drain_seconds, "drain: where the time goes")

        activity = ActivityEntry.objects.count()
        pending = OutboxMessage.objects.filter(published_at=None).count()
        dead = DeadLetter.objects.count()
        print(
            f"\nchecks: activity entries {activity} (expected {2 * args.events}), outbox rows "
            f"pending {pending}, dead letters {dead}"
        )
        p99 = common.percentile(live.latencies["commit -> task-events handlers ran"], 99)
        rate = max(live.handled_per_second, drain.handled_per_second)
        ok = rate >= TARGET_EVENTS_PER_SECOND and p99 <= TARGET_P99_MS
        ok = ok and activity == 2 * args.events and pending == 0 and dead == 0
        print(
            f"targets: >= {TARGET_EVENTS_PER_SECOND:,.0f} events/s (best {rate:,.0f}) and p99 "
            f"<= {TARGET_P99_MS:.0f} ms (live, task-events: {p99:,.1f} ms): "
            f"{'ok' if ok else 'MISS'}"
        )
    return 0 if ok or not args.strict else 1


if __name__ == "__main__":
    sys.exit(main())
