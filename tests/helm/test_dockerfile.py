"""The Dockerfile, kept honest without a container engine: what it copies exists, it runs
the chart's commands as the chart's user, and the web command it runs serves here."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.helm.chart import ROOT, Rendered, render

DOCKERFILE = ROOT / "Dockerfile"


def instructions() -> list[str]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    logical: list[str] = []
    buffer = ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        buffer += stripped.removesuffix("\\") + " "
        if not stripped.endswith("\\"):
            logical.append(buffer.strip())
            buffer = ""
    return logical


def stages() -> list[tuple[str, list[str]]]:
    found: list[tuple[str, list[str]]] = []
    for instruction in instructions():
        if instruction.upper().startswith("FROM "):
            found.append((instruction, []))
        elif found:
            found[-1][1].append(instruction)
    return found


def runtime_stage() -> list[str]:
    return stages()[-1][1]


def exec_form(prefix: str) -> list[str]:
    line = next(i for i in runtime_stage() if i.startswith(prefix + " "))
    parsed: list[str] = json.loads(line[len(prefix) + 1 :])
    return parsed


def env_of_image() -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction in runtime_stage():
        if instruction.startswith("ENV "):
            for pair in instruction[4:].split():
                key, _, value = pair.partition("=")
                env[key] = value
    return env


def test_the_image_runs_the_web_command_the_chart_runs() -> None:
    rendered = render("default")
    assert exec_form("CMD") == rendered.container("web")["args"]
    assert exec_form("ENTRYPOINT") == ["/usr/bin/tini", "--"], "the chart's args keep tini as PID 1"
    metrics = rendered.container("web")["env"]
    assert {"name": "METRICS_PORT", "value": env_of_image()["METRICS_PORT"]} in metrics


def test_the_image_user_is_the_one_the_chart_runs_as() -> None:
    user = next(i for i in runtime_stage() if i.startswith("USER ")).split()[1]
    uid, _, gid = user.partition(":")
    for name in ("default", "cloud"):
        context = render(name).pod("web")["securityContext"]
        assert (context["runAsUser"], context["runAsGroup"]) == (int(uid), int(gid))
    assert "--uid 10001" in " ".join(runtime_stage())


def test_the_image_exposes_every_port_the_chart_uses() -> None:
    rendered = render("default")
    exposed = {int(p) for i in runtime_stage() if i.startswith("EXPOSE ") for p in i.split()[1:]}
    ports = {p["containerPort"] for c in ("web", "worker") for p in rendered.container(c)["ports"]}
    assert ports <= exposed


def test_the_other_processes_the_chart_runs_exist_in_the_project(rendered: Rendered) -> None:
    commands = [rendered.container("worker")["args"]]
    commands += [
        d["spec"]["template"]["spec"]["containers"][0]["args"] for d in rendered.all("Job")
    ]
    commands += [d["spec"]["containers"][0]["args"] for d in rendered.all("Pod")]
    from django.core.management import get_commands

    for args in commands:
        assert args[:2] == ["python", "manage.py"], args
        assert args[2] in get_commands(), f"no management command {args[2]!r}"


def test_every_path_it_copies_exists() -> None:
    for instruction in instructions():
        if instruction.startswith("COPY ") and "--from=" not in instruction:
            *sources, _dest = (w for w in instruction.split()[1:] if not w.startswith("--"))
            for source in sources:
                assert source == "." or (ROOT / source).exists(), source


def test_it_is_multi_stage_with_a_slim_runtime_without_build_tools() -> None:
    found = stages()
    assert len(found) >= 3
    assert any(f.startswith("FROM node:") for f, _ in found)
    assert found[-1][0].startswith("FROM python:${PYTHON_VERSION}-slim")
    assert "ARG PYTHON_VERSION=3.11" in DOCKERFILE.read_text()
    runtime = " ".join(runtime_stage())
    for tool in ("gcc", "build-essential", "g++", "make ", "npm"):
        assert tool not in runtime, f"{tool} in the runtime stage"


def test_dockerignore_keeps_what_the_build_needs() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for needed in ("manage.py", "todo_project", "static", "pyproject.toml", "templates"):
        assert needed not in ignored
    for heavy in (".git", ".venv", "static/node_modules", "staticfiles", ".runtime"):
        assert heavy in ignored


# ------------------------------------------------------- the web command, run for real


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.fixture
def web_command(tmp_path: Any) -> Iterator[tuple[int, int]]:
    """The image's CMD, as the chart runs it, with this machine's free ports."""
    app_port, metrics_port = free_port(), free_port()
    args = [
        a.replace("8000", str(app_port)).replace("9102", str(metrics_port))
        for a in exec_form("CMD")
    ]
    env = {
        **os.environ,
        "METRICS_PORT": str(metrics_port),
        "DEBUG": "false",
        "SECRET_KEY": "s" * 50,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "RUN_EMBEDDED_WORKER": "false",
        "DATA_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    env.pop("REDIS_URL", None)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
    )
    daphne = os.path.join(os.path.dirname(sys.executable), args[0])
    process = subprocess.Popen(
        [daphne, *args[1:]],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                get(f"http://127.0.0.1:{app_port}/healthz")
                get(f"http://127.0.0.1:{metrics_port}/healthz")
                break
            except OSError as exc:
                if process.poll() is not None or time.monotonic() > deadline:
                    stderr = process.stderr.read().decode() if process.stderr else ""
                    raise AssertionError(stderr) from exc
                time.sleep(0.2)
        yield app_port, metrics_port
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_the_web_command_keeps_metrics_off_the_public_port(web_command: tuple[int, int]) -> None:
    app_port, metrics_port = web_command
    assert get(f"http://127.0.0.1:{app_port}/healthz")[0] == 200
    assert get(f"http://127.0.0.1:{app_port}/metrics")[0] == 404
    status, body = get(f"http://127.0.0.1:{metrics_port}/metrics")
    assert status == 200
    assert b"todo_outbox_backlog" in body
