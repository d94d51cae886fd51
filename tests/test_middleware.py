"""todo_project/middleware.py: what every response gets on its way out."""

from __future__ import annotations

import gzip

import pytest
from django.test import Client

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.mark.django_db
class TestHtmxLoginRedirect:
    def test_htmx_post_without_a_session_navigates_to_the_login_page_and_back(self):
        response = Client().post(
            "/tasks/1/complete/",
            HTTP_HX_CURRENT_URL="http://testserver/tasks/?tag=work",
            **HTMX,
        )
        assert response.status_code == 200
        assert response["HX-Redirect"] == "/accounts/login/?next=/tasks/%3Ftag%3Dwork"
        assert response.content == b""

    def test_the_quick_add_of_an_ended_session_is_not_swapped_in(self):
        response = Client().post(
            "/tasks/quick-add/",
            {"title": "Milk"},
            HTTP_HX_CURRENT_URL="http://testserver/tasks/",
            **HTMX,
        )
        assert response["HX-Redirect"] == "/accounts/login/?next=/tasks/"
        assert b"<form" not in response.content

    def test_a_page_of_another_origin_is_not_where_the_user_returns(self):
        response = Client().get("/tasks/", HTTP_HX_CURRENT_URL="https://evil.example/x", **HTMX)
        assert response["HX-Redirect"] == "/accounts/login/"

    def test_a_full_page_request_still_gets_the_ordinary_redirect(self):
        response = Client().get("/tasks/?tag=work")
        assert response.status_code == 302
        assert response["Location"] == "/accounts/login/?next=/tasks/%3Ftag%3Dwork"

    def test_a_signed_in_users_redirect_is_left_alone(self, client, user):
        client.force_login(user)
        response = client.post("/tasks/quick-add/", {"title": "Milk"})
        assert response.status_code == 302
        assert "HX-Redirect" not in response


class TestCompression:
    def test_pages_are_gzipped_for_browsers_that_accept_it(self, client, user):
        client.force_login(user)
        response = client.get("/tasks/", HTTP_ACCEPT_ENCODING="gzip, deflate, br")
        assert response["Content-Encoding"] == "gzip"
        assert "Accept-Encoding" in response["Vary"]
        assert b"<!doctype html>" in gzip.decompress(response.content)

    def test_the_csrf_token_differs_on_every_response(self, client, user):
        """BREACH needs a secret repeated across compressed responses: Django masks it."""
        client.force_login(user)
        tokens = set()
        for _ in range(3):
            html = gzip.decompress(
                client.get("/tasks/", HTTP_ACCEPT_ENCODING="gzip").content
            ).decode()
            start = html.index('"X-CSRFToken": "') + len('"X-CSRFToken": "')
            tokens.add(html[start : html.index('"', start)])
        assert len(tokens) == 3
