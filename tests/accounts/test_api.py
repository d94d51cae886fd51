"""todo_project.accounts.api: what /api/me tells a client about its user."""

from __future__ import annotations


def test_me_includes_the_morning_hour(api, user):
    user.morning_hour = 7
    user.save()
    body = api.get("/api/me").json()
    assert (body["timezone"], body["morning_hour"]) == ("Europe/Berlin", 7)
