"""The import graph of the tree: apps sit above the event bus, and nothing imports back up.

Every module of the project's packages is parsed with `ast`, imports inside functions
included, relative imports resolved, and `importlib.import_module` / `import_string` /
`__import__` calls with a literal name counted as imports too.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("tasks", "notifications", "realtime", "todo_project")
APPS = ("tasks", "notifications", "realtime", "todo_project.accounts")
EVENT_BUS = "todo_project.eventbus"
DYNAMIC_IMPORTS = frozenset({"import_module", "import_string", "__import__"})
#: A string that is nothing but a dotted path into an app ("tasks.reminders.handler").
APP_PATH = re.compile(rf"^(?:{'|'.join(re.escape(app) for app in APPS)})(?:\.\w+)*$")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[module_name(path)] = path
    return found


def imports_in(source: str, module: str, *, is_package: bool = False) -> set[str]:
    """Every module `source` imports, anywhere in it (functions and classes included):
    for `from a import b` both `a` and `a.b`, since `b` may be a module."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base_parts = parts[: len(parts) - node.level + 1]
                base = ".".join([*base_parts, node.module] if node.module else base_parts)
            else:
                base = node.module or ""
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if name in DYNAMIC_IMPORTS and isinstance(first, ast.Constant):
                found.add(str(first.value))
    return found


def app_paths_in_strings(source: str) -> set[str]:
    """String literals that name an app module or object by its dotted path (the way a
    setting or a registry would load it)."""
    return {
        node.value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and APP_PATH.match(node.value)
    }


def graph() -> dict[str, set[str]]:
    return {
        name: imports_in(path.read_text(), name, is_package=path.name == "__init__.py")
        for name, path in modules().items()
    }


def within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == package or module.startswith(f"{package}.") for package in packages)


def violations(importers: tuple[str, ...], forbidden: tuple[str, ...]) -> Iterator[str]:
    for module, imported in sorted(graph().items()):
        if within(module, importers):
            for target in sorted(imported):
                if within(target, forbidden):
                    yield f"{module} imports {target}"


def test_the_parser_sees_lazy_relative_and_dynamic_imports() -> None:
    source = """
from . import handlers
from ..eventbus.outbox import enqueue

def later():
    from tasks.reminders import ReminderScheduler
    import importlib
    return importlib.import_module("notifications.services")
"""
    found = imports_in(source, "todo_project.accounts.models")
    assert {
        "todo_project.accounts.handlers",
        "todo_project.eventbus.outbox",
        "todo_project.eventbus.outbox.enqueue",
        "tasks.reminders",
        "notifications.services",
    } <= found
    assert imports_in("from . import apps", "tasks", is_package=True) >= {"tasks.apps"}


def test_the_graph_covers_the_whole_tree() -> None:
    imported = graph()
    assert {"todo_project.eventbus.runtime", "tasks.apps", "realtime.handlers"} <= set(imported)
    # The apps register with the bus, so the edges run from them to it.
    assert "todo_project.eventbus.registry" in imported["tasks.apps"]


def test_the_event_bus_imports_no_app() -> None:
    assert list(violations((EVENT_BUS,), APPS)) == []


def test_the_event_bus_names_no_app_module_in_a_string() -> None:
    named = {
        name: app_paths_in_strings(path.read_text())
        for name, path in modules().items()
        if within(name, (EVENT_BUS,))
    }
    assert {name: paths for name, paths in named.items() if paths} == {}


def test_realtime_renders_through_presenters_not_views() -> None:
    forbidden = ("tasks.views", "notifications.views")
    assert list(violations(("realtime", EVENT_BUS), forbidden)) == []
