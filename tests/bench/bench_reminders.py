"""Reminder lateness: 1,000 reminders due within the same 10 seconds, embedded mode on
PostgreSQL.

    make bench-reminders      (or: python -m tests.bench.bench_reminders [--reminders 1000])

Tasks are bulk-inserted with reminder_at spread over now + 5 s .. now + 15 s, then the
embedded loops start in background threads as in `make run`: tasks.reminders
.ReminderScheduler (fires ReminderDue through the outbox) and RelayLoop(LocalBus()) (runs
the notifications handler). The run waits until every task has its Notification, or a
timeout, then prints three latenesses against reminder_at:

  fired         ReminderFiring.fired_at (the scheduler decided to fire)
  created       Notification.created_at (the handler inserted the notification)
  visible       the relay transaction holding the notification committed (a measuring
                handler on `reminders`, registered after the app's, records it on commit)

and the missed (no notification) and duplicated (more than one per task and reminder time)
counts. Targets (issue 4): p99 lateness <= 1 s, none missed, none duplicated.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from . import common

TARGET_P99_SECONDS = 1.0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reminders", type=int, default=1000)
    parser.add_argument("--lead", type=float, default=5.0, help="seconds until the first is due")
    parser.add_argument("--window", type=float, default=10.0, help="seconds they are spread over")
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds to wait after the last is due"
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)

    with common.bench_database():
        from django.db import transaction
        from django.db.models import Count
        from django.utils import timezone

        from notifications.models import Notification
        from tasks import reminders
        from tasks.models import ReminderFiring, Task
        from tasks.reminders import ReminderScheduler
        from todo_project.accounts.models import User
        from todo_project.eventbus.envelope import REMINDERS
        from todo_project.eventbus.models import DeadLetter, OutboxMessage
        from todo_project.eventbus.registry import Handler, register_handlers
        from todo_project.eventbus.relay import RelayLoop

        visible: dict[int, datetime] = {}

        def on_reminder_due(events: Any) -> None:
            task_ids = [int(event.payload["task_id"]) for event in events]
            transaction.on_commit(
                lambda: [visible.setdefault(task_id, timezone.now()) for task_id in task_ids]
            )

        register_handlers(
            [
                Handler(
                    name="bench.reminder_visible",
                    topic=REMINDERS,
                    func=on_reminder_due,
                    event_types=frozenset({"ReminderDue"}),
                    dedupe=False,
                )
            ]
        )

        # No e-mail address: the notification path stays the same, minus the console mail.
        user = User.objects.create_user("bench", password="x", timezone="Europe/Berlin")
        rng = random.Random(common.SEED)
        factory = common.TaskFactory(now=timezone.now())
        now = timezone.now()
        first = now + timedelta(seconds=args.lead)
        tasks = []
        for seed in factory.tasks(args.reminders):
            reminder_at = first + timedelta(seconds=rng.uniform(0, args.window))
            tasks.append(
                Task(
                    user=user,
                    title=seed.title,
                    description=seed.description,
                    priority=seed.priority,
                    due_date=reminder_at + timedelta(minutes=30),
                    reminder_at=reminder_at,
                    reminder_offset_minutes=30,
                    timezone=user.timezone,
                )
            )
        Task.objects.bulk_create(tasks, batch_size=1000)
        common.analyze()
        last = max(when for task in tasks if (when := task.reminder_at) is not None)
        setup_seconds = (timezone.now() - now).total_seconds()
        print(
            f"{args.reminders} tasks with reminders between +{args.lead:.0f}s and "
            f"+{args.lead + args.window:.0f}s inserted in {setup_seconds:.2f}s",
            flush=True,
        )

        timings = common.Timings()
        bus_class = common.instrument(timings)
        reminders.fire_reminder = timings.wrap(
            "fire_reminder (one transaction)", reminders.fire_reminder
        )
        reminders.fire_due_reminders = timings.wrap(
            "fire_due_reminders (scheduler pass)", reminders.fire_due_reminders
        )
        relay = RelayLoop(bus_class())
        scheduler = ReminderScheduler()
        started = time.perf_counter()
        relay.start()
        scheduler.start()
        deadline = last + timedelta(seconds=args.timeout)
        progress = time.monotonic()
        try:
            while timezone.now() < deadline:
                created = Notification.objects.count()
                if created >= args.reminders and len(visible) >= args.reminders:
                    break
                if time.monotonic() - progress >= 2:
                    print(f"  {timezone.now():%H:%M:%S}: {created} notifications", flush=True)
                    progress = time.monotonic()
                time.sleep(0.1)
            elapsed = time.perf_counter() - started
            time.sleep(1.0)  # a late duplicate would show up here
        finally:
            scheduler.stop()
            relay.stop()
            scheduler.join(timeout=30)
            relay.join(timeout=30)

        due: dict[int, datetime] = {
            pk: when for pk, when in Task.objects.values_list("pk", "reminder_at") if when
        }
        fired: dict[int, datetime] = dict(ReminderFiring.objects.values_list("task_id", "fired_at"))
        notified: dict[int, datetime] = {
            pk: when
            for pk, when in Notification.objects.values_list("task_ref", "created_at")
            if pk is not None
        }

        def lateness(times: dict[int, datetime]) -> list[float]:
            return [(when - due[task_id]).total_seconds() for task_id, when in times.items()]

        rows: list[list[Any]] = []
        for name, times in (("fired", fired), ("created", notified), ("visible", visible)):
            values = lateness(times)
            rows.append(
                [
                    name,
                    len(values),
                    common.percentile(values, 50) * 1000,
                    common.percentile(values, 99) * 1000,
                    max(values) * 1000,
                    min(values) * 1000,
                ]
            )
        missed = len(set(due) - set(notified))
        per_reminder = Notification.objects.values("task_ref", "reminder_at").annotate(
            n=Count("id")
        )
        duplicated = sum(row["n"] - 1 for row in per_reminder if row["n"] > 1)
        per_task = Notification.objects.values("task_ref").annotate(n=Count("id"))
        duplicated_per_task = sum(row["n"] - 1 for row in per_task if row["n"] > 1)
        firings = ReminderFiring.objects.count()
        pending = OutboxMessage.objects.filter(published_at=None).count()
        dead = DeadLetter.objects.count()

        load = "/".join(f"{x:.1f}" for x in os.getloadavg())
        common.print_table(
            ["lateness vs reminder_at", "count", "p50 ms", "p99 ms", "max ms", "min ms"],
            rows,
            title=f"{args.reminders:,} reminders due within {args.window:.0f} s "
            f"(ReminderScheduler + RelayLoop(LocalBus()), PostgreSQL); load average {load}",
        )
        common.print_table(
            [
                "reminders",
                "fired",
                "notifications",
                "missed",
                "duplicated",
                "duplicated per task",
                "outbox pending",
                "dead letters",
            ],
            [
                [
                    args.reminders,
                    firings,
                    len(notified),
                    missed,
                    duplicated,
                    duplicated_per_task,
                    pending,
                    dead,
                ]
            ],
        )
        common.print_breakdown(timings, elapsed, f"where the time goes ({elapsed:.1f}s)")
        p99 = max(float(row[3]) for row in rows) / 1000
        ok = p99 <= TARGET_P99_SECONDS and missed == 0 and duplicated == 0
        ok = ok and duplicated_per_task == 0 and firings == args.reminders
        print(
            f"\ntargets: p99 lateness <= {TARGET_P99_SECONDS:.0f} s (worst p99 {p99:.3f} s), "
            f"none missed, none duplicated: {'ok' if ok else 'MISS'}"
        )
    return 0 if ok or not args.strict else 1


if __name__ == "__main__":
    sys.exit(main())
