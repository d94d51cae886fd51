"""todo_project/settings.py: how static files reach the browser in development and production.

Production settings are read once at start-up (the storage, WhiteNoise's caching rules), so
each mode runs in a process of its own with the environment a deployment would give it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import json, re, django
django.setup()
from django.conf import settings
from django.core.management import call_command
from django.test import Client
if not settings.DEBUG:
    call_command("collectstatic", interactive=False, verbosity=0)
call_command("migrate", verbosity=0, interactive=False)
client = Client()
page = client.get("/accounts/login/")
links = re.findall(r'(?:href|src)="(/static/[^"]+)"', page.content.decode())
static = {}
for link in links:
    response = client.get(link, HTTP_ACCEPT_ENCODING="gzip")
    static[link] = {
        "status": response.status_code,
        "cache_control": response.get("Cache-Control", ""),
        "content_encoding": response.get("Content-Encoding", ""),
    }
print(json.dumps({"links": links, "static": static}))
"""


def probe(tmp_path: Path, **env: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "todo_project.settings",
            "DATA_DIR": str(tmp_path),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "STATIC_ROOT": str(tmp_path / "static"),
            "LOG_LEVEL": "ERROR",
            **env,
        },
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_links_hashed_names_cached_for_a_year_and_compressed(tmp_path):
    found = probe(
        tmp_path,
        DEBUG="false",
        SECRET_KEY="a production key for this test only, long enough",
        ALLOWED_HOSTS="testserver",
    )
    assert {Path(link).name.split(".")[0] for link in found["links"]} >= {"app", "favicon", "htmx"}
    for link, response in found["static"].items():
        assert re.search(r"\.[0-9a-f]{12}\.(css|js|svg)$", link), link
        assert response["status"] == 200, link
        max_age = int(re.search(r"max-age=(\d+)", response["cache_control"]).group(1))
        assert max_age >= 365 * 24 * 3600, (link, response)
        assert "immutable" in response["cache_control"], (link, response)
    assert (
        found["static"][next(link for link in found["links"] if ".css" in link)]["content_encoding"]
        == "gzip"
    )


def test_development_revalidates_the_unhashed_names(tmp_path):
    """Files change under a developer's hands: the browser asks again (and gets a 304)."""
    found = probe(tmp_path, DEBUG="true")
    for link, response in found["static"].items():
        assert not re.search(r"\.[0-9a-f]{12}\.", link), link
        assert response["status"] == 200, link
        assert "max-age=0" in response["cache_control"], (link, response)
