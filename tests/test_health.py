from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tasks import services
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


def test_readyz_checks_the_sidecar_in_dapr_mode(client, settings, fake_dapr):
    settings.EVENT_BACKEND = "dapr"
    assert client.get("/readyz").json()["checks"]["dapr_sidecar"] == "ok"
    fake_dapr.down()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["dapr_sidecar"].startswith("error")


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
