"""Per-tag counts of open tasks, kept by the same triggers as TagCount.tasks (0005).

The browser list shows open tasks by default, so clicking a tag asks for tag=X&status=
pending. Its total was a merge join of every open task with the tag's through rows:
27 ms at 100k tasks. TagCount.pending makes it one row, like the tag alone. The through
triggers now add the task's state; a third trigger moves a task's tags between open and
done when it is completed or reopened, locking their count rows in tag order first so
that two such transactions cannot deadlock on them.

A through row is counted by the state of its task when the row is written or deleted.
Django deletes a task's through rows before the task itself; a raw DELETE of a task that
left its through rows to a later statement would leave its open count behind.
"""

import importlib

from django.db import migrations, models

POSTGRES = [
    """
    CREATE OR REPLACE FUNCTION tasks_tagcount_sync() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
        open_task integer;
    BEGIN
        IF TG_OP = 'INSERT' THEN
            SELECT CASE WHEN completed THEN 0 ELSE 1 END INTO open_task
            FROM tasks_task WHERE id = NEW.task_id;
            INSERT INTO tasks_tagcount (tag_id, tasks, pending)
            VALUES (NEW.tag_id, 1, COALESCE(open_task, 0))
            ON CONFLICT (tag_id) DO UPDATE
            SET tasks = tasks_tagcount.tasks + 1,
                pending = tasks_tagcount.pending + EXCLUDED.pending;
        ELSE
            SELECT CASE WHEN completed THEN 0 ELSE 1 END INTO open_task
            FROM tasks_task WHERE id = OLD.task_id;
            UPDATE tasks_tagcount
            SET tasks = tasks - 1, pending = pending - COALESCE(open_task, 0)
            WHERE tag_id = OLD.tag_id;
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE OR REPLACE FUNCTION tasks_tagcount_pending() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM 1 FROM tasks_tagcount
        WHERE tag_id IN (SELECT tag_id FROM tasks_task_tags WHERE task_id = NEW.id)
        ORDER BY tag_id FOR UPDATE;
        UPDATE tasks_tagcount
        SET pending = pending + CASE WHEN NEW.completed THEN -1 ELSE 1 END
        WHERE tag_id IN (SELECT tag_id FROM tasks_task_tags WHERE task_id = NEW.id);
        RETURN NULL;
    END $$
    """,
    "DROP TRIGGER IF EXISTS tasks_tagcount_pending ON tasks_task",
    """
    CREATE TRIGGER tasks_tagcount_pending AFTER UPDATE OF completed ON tasks_task
    FOR EACH ROW WHEN (OLD.completed IS DISTINCT FROM NEW.completed)
    EXECUTE FUNCTION tasks_tagcount_pending()
    """,
]
POSTGRES_BACKWARD = [
    "DROP TRIGGER IF EXISTS tasks_tagcount_pending ON tasks_task",
    "DROP FUNCTION IF EXISTS tasks_tagcount_pending()",
]

# SQLite rebuilds tasks_tagcount to add the column and refuses to while triggers name it:
# 0005's through triggers are dropped before and created anew after.
SQLITE_THROUGH_TRIGGERS = [
    "DROP TRIGGER IF EXISTS tasks_tagcount_insert",
    "DROP TRIGGER IF EXISTS tasks_tagcount_delete",
]
SQLITE = [
    """
    CREATE TRIGGER tasks_tagcount_insert AFTER INSERT ON tasks_task_tags
    BEGIN
        INSERT INTO tasks_tagcount (tag_id, tasks, pending)
        VALUES (
            NEW.tag_id, 1,
            COALESCE((SELECT NOT completed FROM tasks_task WHERE id = NEW.task_id), 0)
        )
        ON CONFLICT (tag_id) DO UPDATE
        SET tasks = tasks + 1, pending = pending + excluded.pending;
    END
    """,
    """
    CREATE TRIGGER tasks_tagcount_delete AFTER DELETE ON tasks_task_tags
    BEGIN
        UPDATE tasks_tagcount
        SET tasks = tasks - 1,
            pending = pending
                - COALESCE((SELECT NOT completed FROM tasks_task WHERE id = OLD.task_id), 0)
        WHERE tag_id = OLD.tag_id;
    END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS tasks_tagcount_pending AFTER UPDATE OF completed ON tasks_task
    WHEN OLD.completed IS NOT NEW.completed
    BEGIN
        UPDATE tasks_tagcount
        SET pending = pending + CASE WHEN NEW.completed THEN -1 ELSE 1 END
        WHERE tag_id IN (SELECT tag_id FROM tasks_task_tags WHERE task_id = NEW.id);
    END
    """,
]
SQLITE_BACKWARD = ["DROP TRIGGER IF EXISTS tasks_tagcount_pending", *SQLITE_THROUGH_TRIGGERS]

BOTH = [
    """
    UPDATE tasks_tagcount SET pending = (
        SELECT COUNT(*) FROM tasks_task_tags
        JOIN tasks_task ON tasks_task.id = tasks_task_tags.task_id
        WHERE tasks_task_tags.tag_id = tasks_tagcount.tag_id AND NOT tasks_task.completed
    )
    """,
]


def drop_sqlite_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for sql in SQLITE_THROUGH_TRIGGERS:
            schema_editor.execute(sql)


def restore_sqlite_triggers(apps, schema_editor):
    """Back to 0005's through triggers, once the column is gone."""
    if schema_editor.connection.vendor == "sqlite":
        for sql in importlib.import_module("tasks.migrations.0005_tag_counts").SQLITE:
            schema_editor.execute(sql)


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for sql in {"postgresql": POSTGRES, "sqlite": SQLITE}.get(vendor, []) + BOTH:
        schema_editor.execute(sql)


def backward(apps, schema_editor):
    """Back to 0005's triggers, which do not know the pending column (on SQLite, after
    the column is removed: restore_sqlite_triggers)."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        statements = (
            POSTGRES_BACKWARD + importlib.import_module("tasks.migrations.0005_tag_counts").POSTGRES
        )
    elif vendor == "sqlite":
        statements = SQLITE_BACKWARD
    else:
        statements = []
    for sql in statements:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("tasks", "0007_task_user_pending_due")]

    operations = [
        migrations.RunPython(drop_sqlite_triggers, restore_sqlite_triggers, elidable=False),
        migrations.AddField(
            model_name="tagcount",
            name="pending",
            field=models.BigIntegerField(default=0),
        ),
        migrations.RunPython(forward, backward, elidable=False),
    ]
