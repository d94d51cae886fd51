"""PostgreSQL-only indexes: full-text search, and due dates descending with nulls last.

SQLite searches with LIKE and cannot index NULLS LAST, so it gets neither. The search
expression must stay identical to tasks.filters.search_vector().
"""

from django.db import migrations

INDEXES = {
    "task_search_document": (
        "CREATE INDEX IF NOT EXISTS task_search_document ON tasks_task USING gin "
        "((to_tsvector('simple'::regconfig, COALESCE(title, '') || ' ' || "
        "COALESCE(description, ''))))"
    ),
    "task_user_due_desc": (
        "CREATE INDEX IF NOT EXISTS task_user_due_desc ON tasks_task "
        "(user_id, due_date DESC NULLS LAST, id DESC)"
    ),
}


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in INDEXES.values():
            schema_editor.execute(sql)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("tasks", "0001_initial")]

    operations = [migrations.RunPython(create_index, drop_index, elidable=False)]
