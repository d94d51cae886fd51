"""List API latency through daphne over HTTP at 1k, 10k and 100k tasks for one user.

    make bench-api            (or: python -m tests.bench.bench_api [--requests 200])

Seeds one user cumulatively (1k, then +9k, then +90k realistic tasks, COPY in batches,
VACUUM ANALYZE after each step), starts daphne in a subprocess on a free port with DEBUG off and
no embedded worker, logs in through POST /api/auth/token, warms up, then times each list
request round-robin over one keep-alive connection (--requests rounds, cut short after
--budget seconds per size). Targets (issue 2): p95 <= 25 ms at 100k
and p95(100k) <= 2 x p95(1k). For every request that misses, the SQL the selector runs is
shown with EXPLAIN ANALYZE. Last, --saves tasks are saved with no VACUUM after, as on a live
database, and the searches are timed again (see migration tasks 0006).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlencode

from . import common

TARGET_P95_MS = 25.0
TARGET_RATIO = 2.0
PASSWORD = "bench-password-123"


def build_queries(
    *, tag: str, other_tag: str, word: str
) -> list[tuple[str, list[tuple[str, str]]]]:
    return [
        (f"tag={tag}", [("tag", tag)]),
        ("priority=high", [("priority", "high")]),
        (f"search={word}", [("search", word)]),
        ("sort_by=due_date asc", [("sort_by", "due_date"), ("order", "asc")]),
        ("sort_by=due_date desc", [("sort_by", "due_date"), ("order", "desc")]),
        ("sort_by=priority", [("sort_by", "priority")]),
        (
            f"tag={other_tag}+pending+due_date+search={word}",
            [("tag", other_tag), ("status", "pending"), ("sort_by", "due_date"), ("search", word)],
        ),
        # What the browser list asks for: open tasks by default, then a tag clicked.
        ("status=pending", [("status", "pending")]),
        (f"tag={tag}+pending", [("tag", tag), ("status", "pending")]),
        (f"tag={tag}+tag={other_tag}", [("tag", tag), ("tag", other_tag)]),
        ("overdue=true", [("overdue", "true")]),
    ]


def start_daphne(port: int, log: Path) -> subprocess.Popen[bytes]:
    daphne = Path(sys.executable).with_name("daphne")
    env = common.bench_env(JWT_ACCESS_TTL_SECONDS="7200")
    process = subprocess.Popen(
        [str(daphne), "-b", "127.0.0.1", "-p", str(port), "todo_project.asgi:application"],
        cwd=common.ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"daphne exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit(f"daphne did not answer within 60 s:\n{log.read_text()}")


def measure(
    client: object,
    queries: Sequence[tuple[str, list[tuple[str, str]]]],
    *,
    n: int,
    warmup: int,
    budget: float,
) -> tuple[int, dict[str, dict[str, float]]]:
    """Round-robin over the queries: `warmup` untimed rounds, then `n` timed rounds or as
    many as fit in `budget` seconds (at least 20), so that a slow build stays bounded."""
    import httpx

    assert isinstance(client, httpx.Client)
    samples: dict[str, list[float]] = {name: [] for name, _ in queries}
    counts: dict[str, int] = {}
    deadline = None
    rounds = 0
    for round_no in range(warmup + n):
        if round_no == warmup:
            deadline = time.monotonic() + budget
        elif deadline is not None and rounds >= 20 and time.monotonic() > deadline:
            break
        for name, params in queries:
            started = time.perf_counter()
            response = client.get("/api/todos?" + urlencode(params))
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise SystemExit(f"{name}: HTTP {response.status_code} {response.text[:500]}")
            if round_no >= warmup:
                samples[name].append(elapsed)
            else:
                counts[name] = response.json()["count"]
        rounds += round_no >= warmup
    return rounds, {
        name: {
            "count": counts[name],
            "mean": common.mean(values),
            "p50": common.percentile(values, 50),
            "p95": common.percentile(values, 95),
            "p99": common.percentile(values, 99),
            "max": max(values),
        }
        for name, values in samples.items()
    }


def print_results(results: dict[str, dict[str, float]], *, title: str) -> None:
    common.print_table(
        [
            "request (GET /api/todos?...)",
            "matches",
            "mean ms",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "max ms",
        ],
        [
            [name, r["count"], r["mean"], r["p50"], r["p95"], r["p99"], r["max"]]
            for name, r in results.items()
        ],
        title=title,
    )


def save_tasks(user_id: int, saves: int) -> None:
    """What `saves` edits do to the table and its indexes, in one statement: a save sets
    updated_at (indexed), so each row gets new entries in every index, the search index
    included. No VACUUM afterwards, as on a live database between autovacuum runs."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE tasks_task SET updated_at = now(), version = version + 1 WHERE id IN "
            "(SELECT id FROM tasks_task WHERE user_id = %s ORDER BY random() LIMIT %s)",
            [user_id, saves],
        )


def explain(user: object, params: list[tuple[str, str]]) -> str:
    """EXPLAIN ANALYZE of every query the list selector runs for these parameters."""
    from django.db import connection
    from django.http import QueryDict
    from django.test.utils import CaptureQueriesContext

    from tasks.selectors import task_list

    query = QueryDict(urlencode(params))
    with CaptureQueriesContext(connection) as captured:
        task_list(user=user, params=query, limit=50, offset=0)  # type: ignore[arg-type]
    parts = []
    for number, executed in enumerate(captured.captured_queries, 1):
        sql = executed["sql"]
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        parts.append(f"-- query {number} ({executed['time']} s in Django)\n{sql}\n{plan}")
    return "\n\n".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per query")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests per query")
    parser.add_argument(
        "--budget", type=float, default=90.0, help="seconds of timed requests per size at most"
    )
    parser.add_argument(
        "--explain",
        choices=("misses", "all", "none"),
        default="misses",
        help="EXPLAIN ANALYZE the queries of requests that miss a target (default), all, none",
    )
    parser.add_argument(
        "--saves",
        type=int,
        default=5000,
        help="then save this many tasks without VACUUM and time the searches again (0: skip)",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    sizes = sorted(int(size) for size in args.sizes.split(","))

    with common.bench_database():
        import httpx
        from django.utils import timezone

        from todo_project.accounts.models import User

        user = User.objects.create_user("bench", password=PASSWORD, timezone="Europe/Berlin")
        tag_ids = common.create_tags(user.pk)
        started = time.perf_counter()
        factory = common.TaskFactory(now=timezone.now())
        tasks = factory.tasks(sizes[-1])
        word, share = common.pick_word(tasks, target=0.03)
        tag_share = {
            tag: sum(tag in t.tags for t in tasks) / len(tasks) for tag in ("work", "home")
        }
        print(
            f"generated {len(tasks)} tasks in {time.perf_counter() - started:.1f}s; "
            f"search word {word!r} matches {share:.1%}, tag 'work' {tag_share['work']:.1%}, "
            f"tag 'home' {tag_share['home']:.1%}",
            flush=True,
        )
        queries = build_queries(tag="work", other_tag="home", word=word)

        port = common.free_port()
        log = Path(tempfile.mkdtemp(prefix="bench-api-")) / "daphne.log"
        daphne = start_daphne(port, log)
        results: dict[int, dict[str, dict[str, float]]] = {}
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
                token = client.post(
                    "/api/auth/token", json={"username": "bench", "password": PASSWORD}
                )
                token.raise_for_status()
                client.headers["Authorization"] = f"Bearer {token.json()['access']}"
                seeded = 0
                for size in sizes:
                    started = time.perf_counter()
                    common.copy_tasks(
                        user_id=user.pk,
                        tasks=tasks[seeded:size],
                        tag_ids=tag_ids,
                        timezone_name=user.timezone,
                    )
                    common.analyze()
                    print(
                        f"\nseeded {size - seeded} tasks (total {size}) with COPY + VACUUM ANALYZE "
                        f"in {time.perf_counter() - started:.1f}s",
                        flush=True,
                    )
                    seeded = size
                    started = time.perf_counter()
                    rounds, results[size] = measure(
                        client, queries, n=args.requests, warmup=args.warmup, budget=args.budget
                    )
                    elapsed = time.perf_counter() - started
                    load = "/".join(f"{x:.1f}" for x in os.getloadavg())
                    print_results(
                        results[size],
                        title=f"{size:,} tasks: {rounds} timed requests each "
                        f"(+{args.warmup} warm-up), limit 50, keep-alive, {elapsed:.0f}s, "
                        f"load average {load}",
                    )
                if args.saves:
                    # A live database is not freshly vacuumed: every save since the last
                    # VACUUM gave its row new index entries. Searches again after that.
                    started = time.perf_counter()
                    save_tasks(user.pk, args.saves)
                    searches = [(name, params) for name, params in queries if "search=" in name]
                    rounds, after = measure(
                        client, searches, n=args.requests, warmup=args.warmup, budget=args.budget
                    )
                    print_results(
                        after,
                        title=f"{sizes[-1]:,} tasks after {args.saves:,} task saves since the "
                        f"last VACUUM ({time.perf_counter() - started:.0f}s): {rounds} timed "
                        "requests each",
                    )
        finally:
            daphne.terminate()
            try:
                daphne.wait(timeout=10)
            except subprocess.TimeoutExpired:
                daphne.kill()

        small, large = sizes[0], sizes[-1]
        rows = []
        misses = []
        for name, params in queries:
            p95_small = results[small][name]["p95"]
            p95_large = results[large][name]["p95"]
            ratio = p95_large / p95_small
            ok = p95_large <= TARGET_P95_MS and ratio <= TARGET_RATIO
            if not ok:
                misses.append((name, params))
            rows.append(
                [
                    name,
                    *(results[size][name]["p95"] for size in sizes),
                    ratio,
                    "ok" if ok else "MISS",
                ]
            )
        common.print_table(
            [
                "request",
                *(f"p95 {size:,}" for size in sizes),
                f"p95 ratio {large:,}/{small:,}",
                "target",
            ],
            rows,
            title=f"Summary (ms). Target: p95 <= {TARGET_P95_MS:.0f} ms at {large:,} tasks and "
            f"ratio <= {TARGET_RATIO:.0f}",
        )
        worst = max(row[-2] for row in rows)
        print(f"\nworst p95 ratio {large:,}/{small:,}: {worst:.2f}; misses: {len(misses)}")

        chosen = {"all": queries, "misses": misses, "none": []}[args.explain]
        for name, params in chosen:
            print(f"\n=== EXPLAIN ANALYZE at {large:,} tasks: {name} ===")
            print(explain(user, params))
    return 1 if misses and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
