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


@pytest.mark.parametrize("path", ["/api/docs", "/admin/login/"])
def test_third_party_pages_keep_their_own_policy(client, path):
    assert "Content-Security-Policy" not in client.get(path).headers


def test_the_users_time_zone_does_not_leak_into_the_next_request(client, user):
    client.force_login(user)  # Europe/Berlin
    client.get("/tasks/")
    assert timezone.get_current_timezone_name() == "UTC"
