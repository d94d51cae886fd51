"""List API latency through daphne over HTTP at 1k, 10k and 100k tasks for one user.

    make bench-api            (or: python -m tests.bench.bench_api [--requests 200])
    make bench-api BENCH_ARGS="--ref fb23843"    this tree against the code of a git ref

With --ref, the ref's code runs from a temporary `git worktree` with its own database and
its own daphne, seeded with the same tasks; each request goes to both servers in turn
(alternating which goes first), so that both tables come from the same minutes of a
shared, noisy machine. The tables show before (the ref) and after (this tree) side by side.

Seeds one user cumulatively (1k, then +9k, then +90k realistic tasks, COPY in batches,
VACUUM ANALYZE after each step), starts daphne in a subprocess on a free port with DEBUG off and
no embedded worker, logs in through POST /api/auth/token, warms up, then times each list
request round-robin over one keep-alive connection (--requests rounds, cut short after
--budget seconds per size). Targets: p95 <= 25 ms at 100k (issue 2), p95(100k) <= 1.5 x
p95(1k), and with --ref p95 at 100k at most 10% above the ref's (issue 13). For every
request that misses, the SQL the selector runs is shown with EXPLAIN ANALYZE. Last, --saves
tasks are saved with no VACUUM after, as on a live database, and the searches are timed
again (the search index has fastupdate off: Task.Meta).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from . import common

TARGET_P95_MS = 25.0
TARGET_RATIO = 1.5
TARGET_VS_REF = 1.10
AFTER = "after"
BEFORE = "before"
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


def start_daphne(
    port: int, log: Path, *, cwd: Path = common.ROOT, database_url: str = ""
) -> subprocess.Popen[bytes]:
    daphne = Path(sys.executable).with_name("daphne")
    env = common.bench_env(JWT_ACCESS_TTL_SECONDS="7200")
    if database_url:
        env["DATABASE_URL"] = database_url
    process = subprocess.Popen(
        [str(daphne), "-b", "127.0.0.1", "-p", str(port), "todo_project.asgi:application"],
        cwd=cwd,
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


Results = dict[str, dict[str, Any]]  # request name -> figures


def measure(
    clients: dict[str, Any],
    queries: Sequence[tuple[str, list[tuple[str, str]]]],
    *,
    n: int,
    warmup: int,
    budget: float,
) -> tuple[int, dict[str, Results]]:
    """Round-robin over the queries, each sent to every client in turn (the order of the
    clients alternates from round to round): `warmup` untimed rounds, then `n` timed
    rounds or as many as fit in `budget` seconds (at least 20), so that a slow build stays
    bounded. Returns the rounds and, per client label, the figures per request."""
    samples = {label: {name: [] for name, _ in queries} for label in clients}
    counts: dict[str, dict[str, str]] = {label: {} for label in clients}
    labels = list(clients)
    deadline = None
    rounds = 0
    for round_no in range(warmup + n):
        if round_no == warmup:
            deadline = time.monotonic() + budget
        elif deadline is not None and rounds >= 20 and time.monotonic() > deadline:
            break
        order = labels if round_no % 2 == 0 else labels[::-1]
        for name, params in queries:
            for label in order:
                started = time.perf_counter()
                response = clients[label].get("/api/todos?" + urlencode(params))
                elapsed = (time.perf_counter() - started) * 1000
                if response.status_code != 200:
                    raise SystemExit(
                        f"{label} {name}: HTTP {response.status_code} {response.text[:500]}"
                    )
                if round_no >= warmup:
                    samples[label][name].append(elapsed)
                else:
                    body = response.json()
                    more = "+" if body.get("count_exact") is False else ""
                    counts[label][name] = f"{body['count']}{more}"
        rounds += round_no >= warmup
    return rounds, {
        label: {
            name: {
                "count": counts[label][name],
                "mean": common.mean(values),
                "p50": common.percentile(values, 50),
                "p95": common.percentile(values, 95),
                "p99": common.percentile(values, 99),
                "max": max(values),
            }
            for name, values in by_name.items()
        }
        for label, by_name in samples.items()
    }


def change(before: float, after: float) -> str:
    return f"{(after / before - 1) * 100:+.0f}%"


def print_results(results: dict[str, Results], *, title: str) -> None:
    after = results[AFTER]
    before = results.get(BEFORE)
    if before is None:
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
                for name, r in after.items()
            ],
            title=title,
        )
        return
    common.print_table(
        [
            "request (GET /api/todos?...)",
            "matches before",
            "matches after",
            "p50 before",
            "p50 after",
            "p50 change",
            "p95 before",
            "p95 after",
            "p95 change",
            "p99 before",
            "p99 after",
        ],
        [
            [
                name,
                before[name]["count"],
                r["count"],
                before[name]["p50"],
                r["p50"],
                change(before[name]["p50"], r["p50"]),
                before[name]["p95"],
                r["p95"],
                change(before[name]["p95"], r["p95"]),
                before[name]["p99"],
                r["p99"],
            ]
            for name, r in after.items()
        ],
        title=title + " (ms)",
    )


def save_tasks(user_id: int, saves: int, using: str = "default") -> None:
    """What `saves` edits do to the table and its indexes, in one statement: a save sets
    updated_at (indexed), so each row gets new entries in every index, the search index
    included. No VACUUM afterwards, as on a live database between autovacuum runs."""
    from django.db import connections

    with connections[using].cursor() as cursor:
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


def login(client: Any) -> None:
    token = client.post("/api/auth/token", json={"username": "bench", "password": PASSWORD})
    token.raise_for_status()
    client.headers["Authorization"] = f"Bearer {token.json()['access']}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per query")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests per query")
    parser.add_argument(
        "--budget", type=float, default=90.0, help="seconds of timed requests per size at most"
    )
    parser.add_argument(
        "--ref",
        default="",
        help="also run the code of this git ref (e.g. fb23843), interleaved, as 'before'",
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

    with common.bench_database(), ExitStack() as stack:
        import httpx
        from django.utils import timezone

        from todo_project.accounts.models import User

        servers: dict[str, tuple[Path, str, str]] = {AFTER: (common.ROOT, "", "default")}
        if args.ref:
            worktree, ref_url = stack.enter_context(common.ref_checkout(args.ref))
            servers[BEFORE] = (worktree, ref_url, common.REF_ALIAS)
        users = {
            label: User.objects.db_manager(using).create_user(
                "bench", password=PASSWORD, timezone="Europe/Berlin"
            )
            for label, (_, _, using) in servers.items()
        }
        tag_ids = {
            label: common.create_tags(users[label].pk, using=using)
            for label, (_, _, using) in servers.items()
        }
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

        logs = Path(tempfile.mkdtemp(prefix="bench-api-"))
        processes = []
        clients: dict[str, Any] = {}
        for label, (cwd, url, _) in servers.items():
            port = common.free_port()
            processes.append(
                start_daphne(port, logs / f"daphne-{label}.log", cwd=cwd, database_url=url)
            )
            clients[label] = stack.enter_context(
                httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
            )
            login(clients[label])
        results: dict[int, dict[str, Results]] = {}
        try:
            seeded = 0
            for size in sizes:
                started = time.perf_counter()
                for label, (_, _, using) in servers.items():
                    common.copy_tasks(
                        user_id=users[label].pk,
                        tasks=tasks[seeded:size],
                        tag_ids=tag_ids[label],
                        timezone_name=users[label].timezone,
                        using=using,
                    )
                    common.analyze(using)
                print(
                    f"\nseeded {size - seeded} tasks (total {size}) with COPY + VACUUM ANALYZE "
                    f"into {len(servers)} database(s) in {time.perf_counter() - started:.1f}s",
                    flush=True,
                )
                seeded = size
                started = time.perf_counter()
                rounds, results[size] = measure(
                    clients, queries, n=args.requests, warmup=args.warmup, budget=args.budget
                )
                elapsed = time.perf_counter() - started
                load = "/".join(f"{x:.1f}" for x in os.getloadavg())
                print_results(
                    results[size],
                    title=f"{size:,} tasks: {rounds} timed requests each per server "
                    f"(+{args.warmup} warm-up), limit 50, keep-alive, {elapsed:.0f}s, "
                    f"load average {load}",
                )
            if args.saves:
                # A live database is not freshly vacuumed: every save since the last
                # VACUUM gave its row new index entries. Searches again after that.
                started = time.perf_counter()
                for label, (_, _, using) in servers.items():
                    save_tasks(users[label].pk, args.saves, using=using)
                searches = [(name, params) for name, params in queries if "search=" in name]
                rounds, after = measure(
                    clients, searches, n=args.requests, warmup=args.warmup, budget=args.budget
                )
                print_results(
                    after,
                    title=f"{sizes[-1]:,} tasks after {args.saves:,} task saves since the "
                    f"last VACUUM ({time.perf_counter() - started:.0f}s): {rounds} timed "
                    "requests each",
                )
        finally:
            for process in processes:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()

        misses = summarize(results, queries, sizes)
        chosen = {"all": queries, "misses": misses, "none": []}[args.explain]
        for name, params in chosen:
            print(f"\n=== EXPLAIN ANALYZE at {sizes[-1]:,} tasks: {name} ===")
            print(explain(users[AFTER], params))
    return 1 if misses and args.strict else 0


def summarize(
    results: dict[int, dict[str, Results]],
    queries: Sequence[tuple[str, list[tuple[str, str]]]],
    sizes: Sequence[int],
) -> list[tuple[str, list[tuple[str, str]]]]:
    """The summary table (p95 per size, before and after when a ref ran); returns the
    requests that miss a target."""
    small, large = sizes[0], sizes[-1]
    with_ref = BEFORE in results[large]
    rows = []
    misses = []
    for name, params in queries:
        p95 = {size: results[size][AFTER][name]["p95"] for size in sizes}
        ratio = p95[large] / p95[small]
        ok = p95[large] <= TARGET_P95_MS and ratio <= TARGET_RATIO
        row: list[Any] = [name]
        if with_ref:
            before = {size: results[size][BEFORE][name]["p95"] for size in sizes}
            ok = ok and p95[large] <= before[large] * TARGET_VS_REF
            for size in sizes:
                row += [before[size], p95[size]]
            row += [change(before[large], p95[large]), before[large] / before[small]]
        else:
            row += [p95[size] for size in sizes]
        row += [ratio, "ok" if ok else "MISS"]
        rows.append(row)
        if not ok:
            misses.append((name, params))
    if with_ref:
        headers = ["request"]
        for size in sizes:
            headers += [f"before {size:,}", f"after {size:,}"]
        headers += [f"change at {large:,}", "ratio before", "ratio after"]
        targets = (
            f"p95 <= {TARGET_P95_MS:.0f} ms at {large:,}, ratio {large:,}/{small:,} <= "
            f"{TARGET_RATIO}, at most {(TARGET_VS_REF - 1) * 100:.0f}% above before at {large:,}"
        )
    else:
        headers = ["request", *(f"p95 {size:,}" for size in sizes), "ratio"]
        targets = f"p95 <= {TARGET_P95_MS:.0f} ms at {large:,} and ratio <= {TARGET_RATIO}"
    common.print_table([*headers, "target"], rows, title=f"Summary: p95 (ms). Target: {targets}")
    worst = max(row[-2] for row in rows)
    print(f"\nworst p95 ratio {large:,}/{small:,} (after): {worst:.2f}; misses: {len(misses)}")
    return misses


if __name__ == "__main__":
    sys.exit(main())
