"""The pusher renders through the presenters: loading it (as the worker does) loads no view."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PUSHER_MODULES = ["realtime.rendering", "realtime.handlers", "realtime.consumers"]
VIEWS = ["tasks.views", "notifications.views"]

PROBE = """
import json, sys, django
django.setup()
import importlib
for name in sys.argv[1:]:
    importlib.import_module(name)
print(json.dumps(sorted(sys.modules)))
"""


def modules_loaded_by(*names: str) -> set[str]:
    """The modules a fresh, set-up Django process holds after importing `names`."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "todo_project.settings"}
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *names],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def test_the_pusher_loads_the_presenters_and_no_view():
    loaded = modules_loaded_by(*PUSHER_MODULES)
    assert {"tasks.presenters", "notifications.presenters"} <= loaded
    assert loaded.isdisjoint(VIEWS)


def test_the_probe_sees_a_view_when_one_is_imported():
    # The probe itself can tell: importing the URLconf loads the views.
    assert set(VIEWS) <= modules_loaded_by("todo_project.urls")
