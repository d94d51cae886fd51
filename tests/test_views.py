"""todo_project/views.py: the pages that belong to no app."""

from __future__ import annotations

from django.test import Client


def test_favicon_ico_leads_to_the_svg_icon_the_pages_link(db):
    response = Client().get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"] == "/static/app/favicon.svg"
    assert Client().get(response["Location"]).status_code == 200
