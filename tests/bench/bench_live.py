"""What one open tab costs per task change: tasks.live.view_update + its fragment, on
PostgreSQL, for several views of one user's list.

    python -m tests.bench.bench_live [--sizes 1000,25000] [--runs 200]

Each live push runs this once per open tab of the user (in the web process, in the tab's
consumer). Printed per size and view: the database queries per call and the p50/p95 time
of the call with its rendering, for a change on the view's first page (the row comes along)
and for one outside it.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

from . import common

VIEWS = {
    "open list": "",
    "completed": "status=completed",
    "search": "search={word}",
    "tag": "tag=work",
    "title, page 3": "sort_by=title&page=3",
    "priority desc": "sort_by=priority",
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,25000")
    parser.add_argument("--runs", type=int, default=200, help="timed calls per view")
    args = parser.parse_args(argv)
    sizes = sorted(int(size) for size in args.sizes.split(","))

    with common.bench_database():
        from django.db import connection
        from django.test.utils import CaptureQueriesContext
        from django.utils import timezone

        from tasks.live import ListView, render_view_update, view_update
        from tasks.models import Task
        from tasks.presenters import TaskRow
        from todo_project.accounts.models import User

        user = User.objects.create_user("bench", password="x", timezone="Europe/Berlin")
        tag_ids = common.create_tags(user.pk)
        factory = common.TaskFactory(now=timezone.now())
        tasks = factory.tasks(sizes[-1])
        word, share = common.pick_word(tasks, target=0.03)
        print(f"search word {word!r} matches {share:.1%} of the tasks", flush=True)
        seeded = 0
        for size in sizes:
            common.copy_tasks(user_id=user.pk, tasks=tasks[seeded:size], tag_ids=tag_ids)
            common.analyze()
            seeded = size
            table = []
            for label, template in VIEWS.items():
                view = ListView.from_query(template.format(word=word))
                assert view is not None
                first = view_update(
                    user=user,
                    view=view,
                    row=TaskRow.from_task(Task.objects.filter(user=user).first()),
                )
                on_page = first.order[0] if first.order else None
                outside = (
                    Task.objects.filter(user=user)
                    .exclude(pk__in=first.order)
                    .values_list("pk", flat=True)[:1]
                )
                for where, task_id in (("on page", on_page), ("elsewhere", outside[0])):
                    if task_id is None:
                        continue
                    row = TaskRow.from_task(Task.objects.get(pk=task_id))
                    shown = [pk for pk in first.order if pk != task_id]
                    timings = []
                    with CaptureQueriesContext(connection) as queries:
                        view_update(user=user, view=view, row=row, shown=shown)
                    for _ in range(args.runs):
                        started = time.perf_counter()
                        with timezone.override(user.timezone):
                            render_view_update(
                                view_update(user=user, view=view, row=row, shown=shown)
                            )
                        timings.append((time.perf_counter() - started) * 1000)
                    table.append(
                        (
                            label,
                            where,
                            len(queries),
                            f"{common.percentile(timings, 50):.2f}",
                            f"{common.percentile(timings, 95):.2f}",
                        )
                    )
            common.print_table(
                ("view", "change", "queries", "p50 ms", "p95 ms"),
                table,
                title=f"{size} tasks: one tab's view_update + fragment per change",
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
