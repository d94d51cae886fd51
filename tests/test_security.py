from __future__ import annotations

import pytest
from django.utils import timezone

pytestmark = pytest.mark.django_db


def test_pages_carry_a_strict_content_security_policy(client, user):
    client.force_login(user)
    response = client.get("/tasks/")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_admin_keeps_its_own_policy(client):
    assert "Content-Security-Policy" not in client.get("/admin/login/").headers


def test_the_api_docs_come_from_local_static_files_under_the_strict_policy(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    page = response.content.decode()
    assert 'src="/static/ninja/swagger-ui-bundle.js"' in page
    assert "cdn" not in page.lower() and "https://" not in page
    assert client.get("/static/ninja/swagger-ui-bundle.js").status_code == 200


def test_the_users_time_zone_does_not_leak_into_the_next_request(client, user):
    client.force_login(user)  # Europe/Berlin
    client.get("/tasks/")
    assert timezone.get_current_timezone_name() == "UTC"


# ------------------------------------------------------------------ safe defaults


def url_with_password(scheme: str, password_suffix: str) -> str:
    # Built here so that the password is in no source line the error page shows.
    return f"{scheme}://todo:{'s3cret'}-{password_suffix}@db:5432/todo"


def test_error_pages_mask_credentials_in_urls(rf, settings):
    import sys

    from django.views.debug import technical_500_response

    settings.DEBUG = True
    settings.DATABASE_URL = url_with_password("postgres", "db")
    settings.REDIS_URL = url_with_password("redis", "redis")
    request = rf.get("/boom")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        page = technical_500_response(request, *sys.exc_info()).content.decode()
    passwords = [f"{'s3cret'}-{suffix}" for suffix in ("db", "redis")]
    assert [p for p in passwords if p in page] == []
    assert "postgres://todo:********@db:5432/todo" in page
    assert "redis://todo:********@db:5432/todo" in page


def test_each_installation_gets_its_own_secret_key(tmp_path):
    from todo_project.installation import KEY_FILE, installation_secret_key

    first = installation_secret_key(tmp_path / "a")
    again = installation_secret_key(tmp_path / "a")
    other = installation_secret_key(tmp_path / "b")
    assert first == again != other
    assert len(first) >= 64
    assert (tmp_path / "a" / KEY_FILE).stat().st_mode & 0o777 == 0o600


def secret_key_of_a_run(data_dir) -> str:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env.update(DATA_DIR=str(data_dir), DEBUG="true", DJANGO_SETTINGS_MODULE="todo_project.settings")
    script = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.SECRET_KEY)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    return result.stdout.strip().splitlines()[-1]


def test_a_local_run_signs_with_its_installations_key(tmp_path):
    first = secret_key_of_a_run(tmp_path / "one")
    assert secret_key_of_a_run(tmp_path / "one") == first, "kept across restarts"
    assert secret_key_of_a_run(tmp_path / "two") != first, "no two installations share one"
    assert (tmp_path / "one" / "secret_key").read_text().strip() == first


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_the_demo_account_exists_for_a_loopback_run(host, capsys, settings):
    settings.DEBUG = True
    from django.core.management import call_command

    from todo_project.accounts.models import User

    call_command("ensure_demo_user", "--host", host)
    demo = User.objects.get(username="demo")
    assert demo.is_active and demo.check_password("demo") and demo.is_superuser
    assert "Demo account" in capsys.readouterr().out


def test_binding_beyond_loopback_disables_the_demo_account_and_says_so(capsys, settings):
    settings.DEBUG = True
    from django.core.management import call_command

    from todo_project.accounts.models import User

    call_command("ensure_demo_user", "--host", "127.0.0.1")
    call_command("ensure_demo_user", "--host", "0.0.0.0")
    assert not User.objects.get(username="demo").is_active
    warning = capsys.readouterr().err
    assert "WARNING: serving on 0.0.0.0" in warning and "demo account is now disabled" in warning
    # Back on loopback, the demo account works again.
    call_command("ensure_demo_user", "--host", "127.0.0.1")
    assert User.objects.get(username="demo").is_active


# ------------------------------------------------------------ operators only


PUBLIC = {"REMOTE_ADDR": "203.0.113.9"}


def test_metrics_are_for_operators_only(client, settings):
    assert client.get("/metrics", **PUBLIC).status_code == 404
    assert client.get("/metrics").status_code == 200  # loopback: a local run
    settings.OPERATOR_TOKEN = "operator-token-123"
    token = {"HTTP_AUTHORIZATION": "Bearer operator-token-123"}
    assert client.get("/metrics", **PUBLIC, **token).status_code == 200
    wrong = {"HTTP_AUTHORIZATION": "Bearer guess"}
    assert client.get("/metrics", **PUBLIC, **wrong).status_code == 404


def test_readiness_details_are_for_operators_only(client, settings):
    public = client.get("/readyz", **PUBLIC)
    assert public.status_code == 200
    assert public.json() == {"status": "ready"}
    assert "checks" in client.get("/readyz").json()
    settings.METRICS_PORT = 9102
    internal = client.get("/readyz", SERVER_PORT="9102", **PUBLIC)
    assert internal.json()["checks"]["database"] == "ok"


def test_made_up_http_methods_cannot_grow_the_metrics(client):
    from todo_project.observability import HTTP_REQUEST_LATENCY

    def label_sets() -> int:
        return len(HTTP_REQUEST_LATENCY.collect()[0].samples)

    client.generic("FOO1", "/healthz")
    before = label_sets()
    for n in range(50):
        client.generic(f"MADEUP{n}", "/healthz")
    assert label_sets() == before
    methods = {s.labels["method"] for s in HTTP_REQUEST_LATENCY.collect()[0].samples}
    assert not any(m.startswith("MADEUP") for m in methods)
    assert "other" in methods


def test_a_newline_in_a_message_cannot_forge_a_text_log_line():
    import logging

    from todo_project.observability import TextFormatter

    formatter = TextFormatter("%(levelname)s %(name)s %(message)s")
    title = "Pay rent\nINFO django.security Admin logged in"
    record = logging.LogRecord("tasks", logging.INFO, __file__, 1, "created %s", (title,), None)
    line = formatter.format(record)
    assert "\n" not in line
    assert line == "INFO tasks created Pay rent\\nINFO django.security Admin logged in"
