"""PostgreSQL only: the search index takes its entries at once instead of through GIN's
pending list.

With fastupdate (PostgreSQL's default) new index entries wait in an unordered pending
list until (auto)VACUUM or ANALYZE, or until the list reaches gin_pending_list_limit (4 MB),
and every search reads the whole list. Every save of a task writes such entries, not only
new tasks: a save changes updated_at, an indexed column, so the row version gets new
entries in every index. `make bench-api` at 100k tasks, 5,000 saves since the last VACUUM:
the search's p50 went from 17.4 to 19.9 ms with the pending list, and stays at 16.8 ms
without it. An insert costs about 40 us more.
"""

from django.db import migrations

INDEX = "task_search_document_stored"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER INDEX IF EXISTS {INDEX} SET (fastupdate = off)")
        # Merge what is pending now: with fastupdate off nothing else would until VACUUM.
        schema_editor.execute(f"SELECT gin_clean_pending_list('{INDEX}'::regclass)")


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER INDEX IF EXISTS {INDEX} RESET (fastupdate)")


class Migration(migrations.Migration):
    dependencies = [("tasks", "0005_tag_counts")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
