"""Shared plumbing of the benchmarks: the throwaway database, realistic seed data, statistics
and tables.

Import this module before anything from Django: it points DATABASE_URL (for this process and
every subprocess) at the benchmark database and only then sets Django up.
"""

from __future__ import annotations

import math
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/todo_bench"
BENCH_DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
BENCH_SECRET_KEY = "bench-only-secret-key-" + "x" * 40
SEED = int(os.environ.get("BENCH_SEED", "20240601"))


def bench_env(**extra: str) -> dict[str, str]:
    """Environment of the benchmark process and of every subprocess it starts."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="todo_project.settings",
        DATABASE_URL=BENCH_DATABASE_URL,
        EVENT_BACKEND="local",
        RUN_EMBEDDED_WORKER="false",
        # Production-like: no query log (DEBUG), no per-event INFO lines on the console.
        DEBUG="false",
        SECRET_KEY=BENCH_SECRET_KEY,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        LOG_LEVEL=os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    )
    env.update(extra)
    return env


# --- the benchmark database -------------------------------------------------------------


def _database_name(url: str) -> str:
    name = urlsplit(url).path.lstrip("/")
    if not name:
        raise SystemExit(f"BENCH_DATABASE_URL has no database name: {url}")
    if "bench" not in name and os.environ.get("BENCH_ALLOW_ANY_DATABASE") != "1":
        # The database is dropped at the end: refuse a name that looks like a real one.
        raise SystemExit(
            f"refusing to drop and recreate database {name!r}: its name must contain 'bench' "
            "(or set BENCH_ALLOW_ANY_DATABASE=1)"
        )
    return name


def _admin_url(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/postgres"))


def _recreate(url: str, *, create: bool) -> None:
    import psycopg
    from psycopg import sql

    name = _database_name(url)
    with psycopg.connect(_admin_url(url), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        if create:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


@contextmanager
def bench_database() -> Iterator[None]:
    """Create, migrate (`manage.py migrate`) and set up Django on the benchmark database;
    drop it afterwards unless BENCH_KEEP_DB=1."""
    os.environ.update(bench_env())
    print(f"benchmark database: {BENCH_DATABASE_URL}", flush=True)
    _recreate(BENCH_DATABASE_URL, create=True)
    started = time.perf_counter()
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=bench_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if migrate.returncode != 0:
        print(migrate.stdout, migrate.stderr, sep="\n", file=sys.stderr)
        _recreate(BENCH_DATABASE_URL, create=False)
        raise SystemExit("manage.py migrate failed")
    print(f"migrated in {time.perf_counter() - started:.1f}s", flush=True)

    import django

    django.setup()
    try:
        yield
    finally:
        from django.db import connections

        connections.close_all()
        if os.environ.get("BENCH_KEEP_DB") == "1":
            print(f"kept database {BENCH_DATABASE_URL} (BENCH_KEEP_DB=1)")
        else:
            _recreate(BENCH_DATABASE_URL, create=False)


def analyze(using: str = "default") -> None:
    """VACUUM ANALYZE: statistics for the planner, and the visibility map that autovacuum
    would have set by the time a bulk load is minutes old (index-only scans need it)."""
    from django.db import connections

    with connections[using].cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


#: The Django database alias of the git ref's database (ref_checkout).
REF_ALIAS = "ref"


@contextmanager
def ref_checkout(ref: str) -> Iterator[tuple[Path, str]]:
    """The code of git `ref` in a temporary worktree, migrated by its own manage.py into its
    own database (BENCH_DATABASE_URL + "_ref"), which Django then knows as REF_ALIAS.
    Yields (worktree, database URL); removes both afterwards (unless BENCH_KEEP_DB=1 for
    the database). Inside bench_database()."""
    from django.db import connections

    url = urlsplit(BENCH_DATABASE_URL)
    ref_url = urlunsplit(url._replace(path=url.path + "_ref"))
    worktree = Path(tempfile.mkdtemp(prefix="bench-ref-")) / "tree"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(worktree), ref],
        check=True,
    )
    try:
        _recreate(ref_url, create=True)
        started = time.perf_counter()
        migrate = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=worktree,
            env=bench_env(DATABASE_URL=ref_url),
            capture_output=True,
            text=True,
            check=False,
        )
        if migrate.returncode != 0:
            print(migrate.stdout, migrate.stderr, sep="\n", file=sys.stderr)
            raise SystemExit(f"manage.py migrate of {ref} failed")
        print(
            f"{ref} checked out in {worktree}, migrated {ref_url} in "
            f"{time.perf_counter() - started:.1f}s",
            flush=True,
        )
        connections.settings[REF_ALIAS] = {
            **connections.settings["default"],
            "NAME": _database_name(ref_url),
        }
        yield worktree, ref_url
    finally:
        if REF_ALIAS in connections.settings:
            connections[REF_ALIAS].close()
        if os.environ.get("BENCH_KEEP_DB") != "1":
            _recreate(ref_url, create=False)
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(worktree)], check=False
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- statistics and tables --------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    low = math.floor(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], title: str = "") -> None:
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.ljust(w) if i == 0 else v.rjust(w)
            for i, (v, w) in enumerate(zip(values, widths, strict=True))
        ]
        return "| " + " | ".join(parts) + " |"

    if title:
        print(f"\n{title}")
    print(line(headers))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells:
        print(line(row))
    sys.stdout.flush()


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.2f}"
    return str(value)


# --- where the time goes -----------------------------------------------------------------


class Timings:
    """Wall time per handler (its function) and per publish (LocalBus.publish, which adds
    the envelope parsing and the deduplication rows around the handlers)."""

    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = defaultdict(list)

    def clear(self) -> None:
        self.samples.clear()

    def wrap(self, label: str, func: Any) -> Any:
        samples = self.samples

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                samples[label].append(time.perf_counter() - started)

        return timed


def instrument(timings: Timings) -> Any:
    """Time every registered handler and each relay batch (one transaction), and return a
    LocalBus whose publish is timed per topic. Patches this process only."""
    from todo_project.eventbus import registry, relay
    from todo_project.eventbus.publishers import LocalBus

    relay._relay = timings.wrap("relay pass (one transaction)", relay._relay)

    for name, handler in list(registry._handlers.items()):
        if not name.startswith("bench."):
            registry._handlers[name] = replace(
                handler, func=timings.wrap(f"handler {name}", handler.func)
            )

    class TimedLocalBus(LocalBus):
        def publish(self, messages: Any) -> None:
            label = "publish a batch (both topics)" if len(messages) > 1 else "publish one row"
            timings.wrap(label, super().publish)(messages)

    return TimedLocalBus


def print_breakdown(timings: Timings, seconds: float, title: str) -> None:
    rows = sorted(timings.samples.items(), key=lambda item: -sum(item[1]))
    print_table(
        [title, "calls", "mean ms", "p99 ms", "total s", "share of wall time"],
        [
            [
                label,
                len(v),
                mean(v) * 1000,
                percentile(v, 99) * 1000,
                sum(v),
                f"{sum(v) / seconds:.0%}",
            ]
            for label, v in rows
        ],
    )
    print("(publish ... includes the handlers and their deduplication rows)")


# --- realistic seed data ----------------------------------------------------------------

_WORD_TEXT = """
report budget meeting review invoice client project deadline draft email call schedule
plan update design proposal contract payment renew insurance doctor dentist appointment
groceries milk bread coffee laundry clean kitchen garage garden lawn repair bike car tires
oil service taxes receipts expense travel flight hotel booking passport visa conference
slides presentation agenda notes minutes summary quarterly annual monthly weekly backlog
sprint release deploy server database migration backup security audit password license
domain website newsletter blog article podcast video interview hiring onboarding training
workshop feedback survey customer support ticket bug feature refactor tests documentation
manual guide checklist inventory order shipping delivery package return refund warranty
vendor supplier quote estimate forecast metrics dashboard analytics campaign launch event
party birthday gift wedding anniversary dinner lunch breakfast recipe pharmacy vitamins
gym running yoga swim stretch walk dog vet cat plants water paint shelf lamp window door
roof gutter plumber electrician heating filter vacuum dishes trash recycling mail bank
loan mortgage rent utilities phone internet subscription cancel transfer savings portfolio
pension school homework teacher parents kids library books reading course exam study
language guitar piano practice photos album archive scan print sign notarize register
vote volunteer donate charity neighbor community council permit inspection
"""
WORDS = _WORD_TEXT.split()
assert len(set(WORDS)) == len(WORDS)

TAGS = [
    "work",
    "home",
    "personal",
    "errands",
    "finance",
    "health",
    "family",
    "shopping",
    "urgent-ish",
    "someday",
    "waiting",
    "phone",
    "computer",
    "office",
    "garden",
    "car",
    "travel",
    "kids",
    "school",
    "fitness",
    "reading",
    "admin",
    "bills",
    "projects",
    "ideas",
    "meetings",
    "clients",
    "team",
    "weekend",
    "house",
]

RULES = [
    "FREQ=DAILY",
    "FREQ=WEEKLY;BYDAY=MO",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE",
    "FREQ=MONTHLY;BYDAY=-1FR",
    "FREQ=MONTHLY;BYMONTHDAY=1",
    "FREQ=YEARLY",
]

TASK_COLUMNS = (
    "id",
    "user_id",
    "title",
    "description",
    "priority",
    "due_date",
    "reminder_at",
    "reminder_offset_minutes",
    "recurrence",
    "timezone",
    "completed",
    "completed_at",
    "series_id",
    "series_start",
    "recurrence_parent_id",
    "version",
    "created_at",
    "updated_at",
)


def _zipf_cum_weights(n: int, s: float) -> list[float]:
    total = 0.0
    cumulative = []
    for rank in range(1, n + 1):
        total += 1 / rank**s
        cumulative.append(total)
    return cumulative


@dataclass
class SeedTask:
    title: str
    description: str
    priority: int
    tags: list[str]
    due_date: datetime | None
    recurrence: str
    completed: bool
    completed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int

    def words(self) -> set[str]:
        return set((self.title + " " + self.description).lower().replace(".", "").split())


class TaskFactory:
    """Deterministic, varied tasks: Zipf-distributed words (a few common, many rare), 0-4 of
    30 tags, every priority, 70% with a due date within a year either side of now, 25%
    completed, a few recurring."""

    def __init__(self, *, now: datetime, seed: int = SEED) -> None:
        self.rng = random.Random(seed)
        self.now = now
        self.words = list(WORDS)
        self.rng.shuffle(self.words)  # which words are common is part of the seed
        self.word_weights = _zipf_cum_weights(len(self.words), 1.0)
        self.tag_weights = _zipf_cum_weights(len(TAGS), 0.8)

    def _sentence(self, low: int, high: int) -> list[str]:
        return self.rng.choices(
            self.words, cum_weights=self.word_weights, k=self.rng.randint(low, high)
        )

    def tags(self) -> list[str]:
        count = self.rng.choices((0, 1, 2, 3, 4), weights=(25, 30, 25, 12, 8))[0]
        chosen: list[str] = []
        while len(chosen) < count:
            tag = self.rng.choices(TAGS, cum_weights=self.tag_weights)[0]
            if tag not in chosen:
                chosen.append(tag)
        return chosen

    def task(self) -> SeedTask:
        rng = self.rng
        title = " ".join(self._sentence(2, 7)).capitalize()
        description = ""
        if rng.random() < 0.65:
            description = " ".join(self._sentence(6, 40)).capitalize() + "."
        priority = rng.choices((0, 1, 2, 3), weights=(10, 25, 40, 25))[0]
        created_at = self.now - timedelta(seconds=rng.randint(0, 730 * 86400))
        due_date = None
        if rng.random() < 0.70:
            due_date = (self.now + timedelta(minutes=rng.randint(-525_600, 525_600))).replace(
                second=0, microsecond=0
            )
        recurrence = ""
        if due_date is not None and rng.random() < 0.04:
            recurrence = rng.choice(RULES)
        completed = rng.random() < 0.25
        age = (self.now - created_at).total_seconds()
        completed_at = created_at + timedelta(seconds=rng.random() * age) if completed else None
        updated_at = max(
            completed_at or created_at, created_at + timedelta(seconds=rng.random() * age)
        )
        return SeedTask(
            title=title,
            description=description,
            priority=priority,
            tags=self.tags(),
            due_date=due_date,
            recurrence=recurrence,
            completed=completed,
            completed_at=completed_at,
            created_at=created_at,
            updated_at=updated_at,
            version=1 + int(rng.expovariate(1.0)),
        )

    def tasks(self, n: int) -> list[SeedTask]:
        return [self.task() for _ in range(n)]


def prefix_frequencies(tasks: Sequence[SeedTask]) -> dict[str, float]:
    """Share of tasks a prefix search for each word matches ("rep" also finds "report")."""
    prefixes_of = {
        token: [w for w in WORDS if token.startswith(w)] for token in set(WORDS)
    }  # every token is one of WORDS
    counts = dict.fromkeys(WORDS, 0)
    for task in tasks:
        matched: set[str] = set()
        for token in task.words():
            matched.update(prefixes_of.get(token, ()))
        for word in matched:
            counts[word] += 1
    return {word: count / len(tasks) for word, count in counts.items()}


def pick_word(tasks: Sequence[SeedTask], target: float) -> tuple[str, float]:
    """The word whose prefix search matches the share of tasks closest to `target`."""
    frequencies = prefix_frequencies(tasks)
    word = min(frequencies, key=lambda w: (abs(frequencies[w] - target), w))
    return word, frequencies[word]


def create_tags(
    user_id: int, names: Sequence[str] = TAGS, using: str = "default"
) -> dict[str, int]:
    from tasks.models import Tag

    tags = Tag.objects.using(using)
    tags.bulk_create(Tag(user_id=user_id, name=name) for name in names)
    return dict(tags.filter(user_id=user_id).values_list("name", "id"))


def copy_tasks(
    *,
    user_id: int,
    tasks: Sequence[SeedTask],
    tag_ids: dict[str, int],
    timezone_name: str = "UTC",
    batch_size: int = 20_000,
    using: str = "default",
) -> list[int]:
    """Insert tasks and their tags with COPY, one transaction per batch; returns the ids."""
    from django.db import connections, transaction

    ids: list[int] = []
    for start in range(0, len(tasks), batch_size):
        batch = tasks[start : start + batch_size]
        with transaction.atomic(using=using), connections[using].cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence('tasks_task', 'id')) "
                "FROM generate_series(1, %s)",
                [len(batch)],
            )
            batch_ids = [row[0] for row in cursor.fetchall()]
            columns = ", ".join(TASK_COLUMNS)
            with cursor.copy(f"COPY tasks_task ({columns}) FROM STDIN") as copy:
                for task_id, task in zip(batch_ids, batch, strict=True):
                    copy.write_row(
                        (
                            task_id,
                            user_id,
                            task.title,
                            task.description,
                            task.priority,
                            task.due_date,
                            None,
                            None,
                            task.recurrence,
                            timezone_name,
                            task.completed,
                            task.completed_at,
                            uuid.uuid4() if task.recurrence else None,
                            task.due_date if task.recurrence else None,
                            None,
                            task.version,
                            task.created_at,
                            task.updated_at,
                        )
                    )
            with cursor.copy("COPY tasks_task_tags (task_id, tag_id) FROM STDIN") as copy:
                for task_id, task in zip(batch_ids, batch, strict=True):
                    for tag in task.tags:
                        copy.write_row((task_id, tag_ids[tag]))
        ids.extend(batch_ids)
    return ids
