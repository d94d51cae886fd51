from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tasks import services
from tests.sidecar_health import HealthEndpoint, closed_port
from todo_project.eventbus.models import OutboxMessage

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_touching_anything(client):
    response = client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readyz_reports_database_channel_layer_and_outbox(client, user):
    services.task_create(user=user, data={"title": "pending event"})
    OutboxMessage.objects.update(created_at=timezone.now() - timedelta(seconds=30))
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["channel_layer"] == "ok"
    outbox = body["checks"]["outbox"]
    assert outbox["backlog"] == 2
    assert outbox["oldest_age_seconds"] >= 30
    assert "dapr_sidecar" not in body["checks"]


def test_readyz_is_503_when_the_database_fails(client, monkeypatch):
    from todo_project import health

    def broken() -> str:
        raise OSError("connection refused")

    monkeypatch.setattr(health, "_check_database", broken)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"].startswith("error: OSError")


def test_readyz_is_ready_in_dapr_mode_when_the_sidecar_answers(
    client, settings, dapr_http_port, health_endpoint: HealthEndpoint, monkeypatch
):
    settings.EVENT_BACKEND = "dapr"
    dapr_http_port(health_endpoint.port)
    monkeypatch.setenv("DAPR_API_TOKEN", "sidecar-token")
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ready"
    assert response.json()["checks"]["dapr_sidecar"] == "ok"
    assert health_endpoint.headers[-1]["dapr-api-token"] == "sidecar-token"


def test_readyz_is_degraded_but_200_when_only_the_sidecar_is_down(client, settings, dapr_http_port):
    """Writes still land in the outbox and the relay delivers them once the sidecar is
    back, so the pod stays in service."""
    settings.EVENT_BACKEND = "dapr"
    dapr_http_port(closed_port())
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["dapr_sidecar"].startswith("error")
    assert body["checks"]["database"] == "ok"


def test_readyz_is_503_when_the_database_fails_even_if_the_sidecar_is_down(
    client, settings, dapr_http_port, monkeypatch
):
    from todo_project import health

    def broken() -> str:
        raise OSError("connection refused")

    settings.EVENT_BACKEND = "dapr"
    dapr_http_port(closed_port())
    monkeypatch.setattr(health, "_check_database", broken)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


def test_readyz_is_503_when_the_channel_layer_fails(client, monkeypatch):
    from todo_project import health

    def broken() -> str:
        raise RuntimeError("redis gone")

    monkeypatch.setattr(health, "_channel_layer_check", broken)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["channel_layer"] == "error: RuntimeError: redis gone"


def test_settings_refuse_the_development_key_without_debug():
    import os
    import subprocess
    import sys

    env = {**os.environ, "DEBUG": "false", "SECRET_KEY": ""}
    env.pop("SECRET_KEY")
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ['DJANGO_SETTINGS_MODULE']="
            "'todo_project.settings'; django.setup()",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
