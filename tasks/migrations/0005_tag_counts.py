"""Per-tag task counts kept by triggers on the tag through table (see 0004 for why
triggers). A list filtered by one tag alone, and GET /api/tags, read the count instead of
counting through rows (3 ms for 24k rows at 100k tasks). Django never updates through
rows, it only inserts and deletes them, so those are the two triggers."""

import django.db.models.deletion
from django.db import migrations, models

POSTGRES = [
    """
    CREATE OR REPLACE FUNCTION tasks_tagcount_sync() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            INSERT INTO tasks_tagcount (tag_id, tasks) VALUES (NEW.tag_id, 1)
            ON CONFLICT (tag_id) DO UPDATE SET tasks = tasks_tagcount.tasks + 1;
        ELSE
            UPDATE tasks_tagcount SET tasks = tasks - 1 WHERE tag_id = OLD.tag_id;
        END IF;
        RETURN NULL;
    END $$
    """,
    "DROP TRIGGER IF EXISTS tasks_tagcount_sync ON tasks_task_tags",
    """
    CREATE TRIGGER tasks_tagcount_sync AFTER INSERT OR DELETE ON tasks_task_tags
    FOR EACH ROW EXECUTE FUNCTION tasks_tagcount_sync()
    """,
]
POSTGRES_BACKWARD = [
    "DROP TRIGGER IF EXISTS tasks_tagcount_sync ON tasks_task_tags",
    "DROP FUNCTION IF EXISTS tasks_tagcount_sync()",
]

SQLITE = [
    """
    CREATE TRIGGER IF NOT EXISTS tasks_tagcount_insert AFTER INSERT ON tasks_task_tags
    BEGIN
        INSERT INTO tasks_tagcount (tag_id, tasks) VALUES (NEW.tag_id, 1)
        ON CONFLICT (tag_id) DO UPDATE SET tasks = tasks + 1;
    END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS tasks_tagcount_delete AFTER DELETE ON tasks_task_tags
    BEGIN
        UPDATE tasks_tagcount SET tasks = tasks - 1 WHERE tag_id = OLD.tag_id;
    END
    """,
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS tasks_tagcount_delete",
    "DROP TRIGGER IF EXISTS tasks_tagcount_insert",
]

BOTH = [
    "DELETE FROM tasks_tagcount",
    """
    INSERT INTO tasks_tagcount (tag_id, tasks)
    SELECT tag_id, COUNT(*) FROM tasks_task_tags GROUP BY tag_id
    """,
]


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for sql in {"postgresql": POSTGRES, "sqlite": SQLITE}.get(vendor, []) + BOTH:
        schema_editor.execute(sql)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for sql in {"postgresql": POSTGRES_BACKWARD, "sqlite": SQLITE_BACKWARD}.get(vendor, []):
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("tasks", "0004_task_counts")]

    operations = [
        migrations.CreateModel(
            name="TagCount",
            fields=[
                (
                    "tag",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="usage",
                        serialize=False,
                        to="tasks.tag",
                    ),
                ),
                ("tasks", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.RunPython(forward, backward, elidable=False),
    ]
