"""The ASGI process start-up."""

from __future__ import annotations

import gc

from todo_project.asgi import freeze_long_lived_objects


def test_long_lived_objects_are_kept_out_of_full_collections() -> None:
    gc.unfreeze()
    try:
        freeze_long_lived_objects()
        # Django, the URL patterns and the API schemas: far more than a bare interpreter.
        assert gc.get_freeze_count() > 50_000
        assert gc.get_count()[2] == 0
    finally:
        gc.unfreeze()
