"""A newcomer's model change needs `makemigrations` and nothing else, on this database.

In a scratch copy of the project and a scratch database (a SQLite file, or a PostgreSQL
database beside the suite's when DATABASE_URL is PostgreSQL), with tasks, tags and
searchable words present: add a boolean field to Task, raise TITLE_MAX_LENGTH and add an
index; run the real `makemigrations` and `migrate` commands forwards and backwards, and
check after each step that lists, counts, tag filters and search give what they gave.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings

pytestmark = pytest.mark.migrations

ROOT = Path(__file__).resolve().parents[2]
#: What the scratch copy needs to run manage.py (no tests, front-end packages or venv).
PROJECT_PARTS = ("manage.py", "todo_project", "tasks", "notifications", "realtime", "templates")

SEED = """
from tasks import services
from todo_project.accounts.models import User

user = User.objects.create_user("newcomer", password="unused-password-123")
for i in range(24):
    task = services.task_create(
        user=user,
        data={
            "title": ("Quarterly report " if i % 3 == 0 else "Errand ") + str(i),
            "description": "garden" if i % 4 == 0 else "",
            "priority": ["urgent", "high", "medium", "low"][i % 4],
            "tags": [n for n, every in (("work", 2), ("Home", 3)) if i % every == 0],
        },
    )
    if i % 5 == 0:
        services.task_complete(task=task)
"""

#: Prints, as JSON, what a user sees of the seeded tasks: run before and after each step.
OBSERVE = """
import json

from tasks import selectors
from todo_project.accounts.models import User

user = User.objects.get(username="newcomer")


def seen(query):
    page = selectors.task_list(user=user, params=query, limit=100)
    return {"count": page.count, "exact": page.count_exact,
            "titles": [task.title for task in page.items],
            "tags": [task.tag_names for task in page.items]}


queries = {
    "all": {},
    "pending": {"status": "pending"},
    "high": {"priority": ["high"]},
    "work": {"tag": ["work"]},
    "work+home": {"tag": ["WORK", "home"]},
    "work+pending": {"tag": ["work"], "status": "pending"},
    "search": {"search": "report"},
    "search+tag": {"search": "quart rep", "tag": ["home"], "sort_by": "title"},
    "search description": {"search": "garden", "sort_by": "due_date"},
}
print(json.dumps({
    "lists": {name: seen(query) for name, query in queries.items()},
    "open": str(selectors.open_task_count(user=user)),
    "tags": [{"name": t["name"], "count": t["count"]} for t in selectors.tag_counts(user=user)],
}))
"""

#: After the forward migration: the new field, the longer title and the index work.
USE_THE_CHANGE = """
from django.db import connection

from tasks import selectors, services
from tasks.models import Task
from todo_project.accounts.models import User

user = User.objects.get(username="newcomer")
assert Task.objects.filter(user=user, archived=False).count() == 24
long = services.task_create(user=user, data={"title": "report " + "x" * 250, "tags": ["work"]})
Task.objects.filter(pk=long.pk).update(archived=True)
assert selectors.task_list(user=user, params={"search": "report", "tag": ["work"]}).count == 5
assert Task.objects.get(pk=long.pk).archived
with connection.cursor() as cursor:
    assert "task_user_archived" in connection.introspection.get_constraints(cursor, "tasks_task")
# A title longer than the old limit cannot go back: the newcomer removes it first.
services.task_delete(task=long)
"""


#: At migration 0009 (tags also in TagCount and, on PostgreSQL, in tag_ids), written in
#: SQL both databases take: the models of today do not fit that schema.
OLD_SCHEMA_DATA = """
from django.db import connection

from todo_project.accounts.models import User

user = User.objects.create_user("newcomer", password="unused-password-123")
with connection.cursor() as cursor:
    cursor.execute(
        "INSERT INTO tasks_tag (user_id, name) VALUES (%s, 'work'), (%s, 'Home')",
        [user.pk, user.pk],
    )
    for i in range(6):
        cursor.execute(
            "INSERT INTO tasks_task (user_id, title, description, priority, recurrence, "
            "timezone, completed, completed_at, version, created_at, updated_at) VALUES "
            "(%s, %s, '', 2, '', 'UTC', %s, CASE WHEN %s THEN CURRENT_TIMESTAMP END, 1, "
            "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
            [user.pk, f"report {i}", i == 0, i == 0],
        )
    cursor.execute(
        "INSERT INTO tasks_task_tags (task_id, tag_id) SELECT t.id, g.id FROM tasks_task t, "
        "tasks_tag g WHERE g.name = 'work' OR t.title IN ('report 0', 'report 1')"
    )
"""

OLD_COUNTS = """
import json

from django.db import connection

with connection.cursor() as cursor:
    cursor.execute(
        "SELECT g.name, c.tasks, c.pending FROM tasks_tagcount c "
        "JOIN tasks_tag g ON g.id = c.tag_id ORDER BY g.name"
    )
    tags = cursor.fetchall()
    cursor.execute("SELECT SUM(tasks) FROM tasks_taskcount")
    print(json.dumps({"tags": tags, "tasks": int(cursor.fetchone()[0])}))
"""


def add_field_index_and_longer_title(models_py: Path) -> None:
    source = models_py.read_text()
    changed = source.replace("TITLE_MAX_LENGTH = 200\n", "TITLE_MAX_LENGTH = 300\n", 1)
    task = changed.index("class Task(models.Model):")
    completed_at = changed.index("    completed_at = ", task)
    changed = (
        changed[:completed_at]
        + "    archived = models.BooleanField(default=False)\n"
        + changed[completed_at:]
    )
    indexes = changed.index("        indexes = [\n", task) + len("        indexes = [\n")
    changed = (
        changed[:indexes]
        + '            models.Index(fields=["user", "archived"], name="task_user_archived"),\n'
        + changed[indexes:]
    )
    assert changed.count("archived") == 3, "models.py no longer looks as this test expects"
    models_py.write_text(changed)


@pytest.fixture
def scratch_database_url() -> Iterator[str]:
    if not settings.IS_POSTGRES:
        yield ""  # set per scratch copy: a SQLite file inside it
        return
    import psycopg
    from psycopg import sql

    url = urlsplit(os.environ["DATABASE_URL"])
    name = f"{url.path.lstrip('/') or 'todo'}_migrations_{uuid.uuid4().hex[:8]}"
    admin = urlunsplit(url._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlunsplit(url._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


class ScratchProject:
    def __init__(self, root: Path, database_url: str) -> None:
        self.root = root
        for part in PROJECT_PARTS:
            source = ROOT / part
            if source.is_dir():
                shutil.copytree(
                    source, root / part, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
                )
            else:
                shutil.copy2(source, root / part)
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url or f"sqlite:///{root / 'scratch.sqlite3'}",
            "DATA_DIR": str(root / "data"),
            "DJANGO_SETTINGS_MODULE": "todo_project.settings",
            "EVENT_BACKEND": "local",
            "RUN_EMBEDDED_WORKER": "false",
            "PYTHONDONTWRITEBYTECODE": "1",
        }

    def run(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, f"{' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def manage(self, *args: str) -> str:
        return self.run("manage.py", *args)

    def script(self, source: str) -> str:
        path = self.root / "scratch_script.py"
        path.write_text(
            "import django\ndjango.setup()\n" + textwrap.dedent(source), encoding="utf-8"
        )
        return self.run(str(path))

    def observe(self) -> dict[str, object]:
        return json.loads(self.script(OBSERVE).strip().splitlines()[-1])


def test_add_a_field_a_longer_title_and_an_index_with_makemigrations_only(
    tmp_path: Path, scratch_database_url: str
) -> None:
    project = ScratchProject(tmp_path, scratch_database_url)
    project.manage("migrate", "--noinput", "-v", "0")
    project.script(SEED)
    before = project.observe()
    lists = before["lists"]
    assert isinstance(lists, dict)
    assert (lists["all"]["count"], lists["pending"]["count"]) == (24, 19)
    assert lists["work"]["count"] == 12 and lists["work+home"]["count"] == 4
    assert lists["work+pending"]["count"] == 9
    assert lists["search"]["count"] == 8
    assert lists["search+tag"]["titles"] == [  # sorted by title
        f"Quarterly report {i}" for i in (0, 12, 15, 18, 21, 3, 6, 9)
    ]
    assert lists["search description"]["count"] == 6
    assert before["open"] == "19"
    assert before["tags"] == [{"name": "Home", "count": 8}, {"name": "work", "count": 12}]

    models_py = tmp_path / "tasks" / "models.py"
    original = models_py.read_text()
    add_field_index_and_longer_title(models_py)
    changed = models_py.read_text()
    made = project.manage("makemigrations", "tasks", "--name", "newcomer")
    migration = next((tmp_path / "tasks" / "migrations").glob("0*_newcomer.py"))
    assert "archived" in made and "task_user_archived" in made
    previous = sorted(p.stem for p in migration.parent.glob("0*.py"))[-2]
    written = migration.read_text()

    project.manage("migrate", "--noinput", "-v", "0")
    assert project.observe() == before
    project.script(USE_THE_CHANGE)
    assert project.observe() == before
    assert "No changes detected" in project.manage("makemigrations", "--check", "--dry-run")

    # Backwards, as after a revert: the schema, then the code without the change.
    project.manage("migrate", "tasks", previous, "--noinput", "-v", "0")
    models_py.write_text(original)
    migration.unlink()
    assert project.observe() == before

    models_py.write_text(changed)
    migration.write_text(written)
    project.manage("migrate", "--noinput", "-v", "0")
    assert project.observe() == before


def test_tags_survive_the_move_off_the_raw_schema_and_back(
    tmp_path: Path, scratch_database_url: str
) -> None:
    """Migration 0010 drops the count tables, triggers and tag id array; the tags stay."""
    project = ScratchProject(tmp_path, scratch_database_url)
    # Every other app at its newest (the user model of today), tasks back at 0009.
    project.manage("migrate", "--noinput", "-v", "0")
    project.manage("migrate", "tasks", "0009", "--noinput", "-v", "0")
    project.script(OLD_SCHEMA_DATA)
    old_counts = json.loads(project.script(OLD_COUNTS).strip().splitlines()[-1])
    assert old_counts == {"tags": [["Home", 2, 1], ["work", 6, 5]], "tasks": 6}

    project.manage("migrate", "--noinput", "-v", "0")
    seen = project.observe()
    lists = seen["lists"]
    assert isinstance(lists, dict)
    assert seen["tags"] == [{"name": "Home", "count": 2}, {"name": "work", "count": 6}]
    assert (lists["work"]["count"], lists["work+home"]["count"]) == (6, 2)
    assert lists["work+pending"]["count"] == 5
    assert lists["search"]["count"] == 6
    assert lists["all"]["tags"][:2] == [["Home", "work"], ["Home", "work"]]

    project.manage("migrate", "tasks", "0009", "--noinput", "-v", "0")
    assert json.loads(project.script(OLD_COUNTS).strip().splitlines()[-1]) == old_counts
