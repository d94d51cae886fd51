"""The end of the schema that models.py did not know: after this migration every table,
column, index and constraint of the app is declared in tasks/models.py, and an ordinary
change to a model needs `makemigrations` only.

Dropped: the count triggers and their functions (0004, 0005, 0008), the TaskCount and
TagCount tables (list totals are now bounded counts of the filtered tasks, tag counts an
aggregate of the tag rows), the tag id array of PostgreSQL and its triggers (0009: a
task's tags are stored once, in tasks_task_tags), and the raw search column and indexes
(0002, 0003, 0006), which 0011 declares again as a GeneratedField and Meta indexes.

A task's tags stay where they were, and are now only there: the rows of Task.tags'
through table (tasks_task_tags). Its extra (tag_id, task_id) index of 0004 goes too: the
tag filter probes (task_id, tag_id), Django's own unique index of the table.

Backwards, the old objects are created again from the old migrations' own statements and
the count tables refilled from the rows.
"""

import importlib

from django.db import migrations

#: Beyond what the old migrations' own backward steps drop (drop_raw_objects).
POSTGRES_DROP = [
    # The column's own index (task_search_document_stored) goes with it.
    "ALTER TABLE tasks_task DROP COLUMN IF EXISTS search_document",
    "DROP INDEX IF EXISTS task_search_document",
    "DROP INDEX IF EXISTS task_user_due_desc",
]
BOTH_DROP = ["DROP INDEX IF EXISTS tasks_task_tags_tag_task"]

REFILL_COUNTS = [
    """
    INSERT INTO tasks_taskcount (user_id, priority, completed, tasks)
    SELECT user_id, priority, completed, COUNT(*) FROM tasks_task
    GROUP BY user_id, priority, completed
    """,
    """
    INSERT INTO tasks_tagcount (tag_id, tasks, pending)
    SELECT tasks_task_tags.tag_id, COUNT(*),
           SUM(CASE WHEN tasks_task.completed THEN 0 ELSE 1 END)
    FROM tasks_task_tags JOIN tasks_task ON tasks_task.id = tasks_task_tags.task_id
    GROUP BY tasks_task_tags.tag_id
    """,
]


def _old(name):
    return importlib.import_module(f"tasks.migrations.{name}")


def drop_raw_objects(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        statements = [
            *_old("0009_task_tag_ids").BACKWARD,
            *_old("0008_tagcount_pending").POSTGRES_BACKWARD,
            *_old("0005_tag_counts").POSTGRES_BACKWARD,
            *_old("0004_task_counts").POSTGRES_BACKWARD,
            *POSTGRES_DROP,
        ]
    elif vendor == "sqlite":
        statements = [
            *_old("0008_tagcount_pending").SQLITE_BACKWARD,
            *_old("0004_task_counts").SQLITE_BACKWARD,
        ]
    else:
        statements = []
    for sql in statements + BOTH_DROP:
        schema_editor.execute(sql)


def restore_raw_objects(apps, schema_editor):
    """The objects of 0002-0009 as 0009 left them, with counts recomputed from the rows."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        m0004, m0005, m0008 = (
            _old("0004_task_counts"),
            _old("0005_tag_counts"),
            _old("0008_tagcount_pending"),
        )
        statements = [
            # 0009 updates tasks and then indexes them: with the foreign keys checked at
            # once, no deferred check is pending when the index is built.
            "SET CONSTRAINTS ALL IMMEDIATE",
            _old("0002_postgres_indexes").INDEXES["task_user_due_desc"],
            *_old("0003_search_document_column").FORWARD,
            *m0004.POSTGRES,
            m0004.BOTH[0],
            *m0005.POSTGRES,
            *m0008.POSTGRES,
            *_old("0009_task_tag_ids").FORWARD,
        ]
    elif vendor == "sqlite":
        m0004, m0008 = _old("0004_task_counts"), _old("0008_tagcount_pending")
        statements = [*m0004.SQLITE, m0004.BOTH[0], *m0008.SQLITE]
    else:
        statements = []
    for sql in statements:
        schema_editor.execute(sql)
    if vendor == "postgresql":
        _old("0006_search_index_no_fastupdate").forward(apps, schema_editor)
    for sql in REFILL_COUNTS:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("tasks", "0009_task_tag_ids")]

    operations = [
        migrations.RunPython(drop_raw_objects, restore_raw_objects, elidable=False),
        migrations.DeleteModel(name="TaskCount"),
        migrations.DeleteModel(name="TagCount"),
    ]
