from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import jsonschema
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tasks import days, services
from tasks.models import Task

pytestmark = pytest.mark.django_db


def make(user, title="Task", **data):
    return services.task_create(user=user, data={"title": title, **data})


def ids(response):
    assert response.status_code == 200, response.content
    return [item["title"] for item in response.json()["items"]]


class TestCreate:
    def test_create_returns_201_with_the_task(self, api):
        response = api.post(
            "/api/todos",
            {
                "title": "  Buy milk  ",
                "priority": "high",
                "tags": ["Home", "errands"],
                "due_date": "2026-12-01T09:00:00+01:00",
            },
        )
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["title"] == "Buy milk"
        assert body["priority"] == "high"
        assert body["tags"] == ["errands", "Home"]
        assert body["due_date"].startswith("2026-12-01T08:00:00")
        assert body["version"] == 1
        assert body["timezone"] == "Europe/Berlin"  # the user's zone by default
        assert body["completed"] is False

    @pytest.mark.parametrize(
        ("payload", "field"),
        [
            ({"title": "   "}, "title"),
            ({"title": "x" * 201}, "title"),
            ({"title": "ok", "description": "d" * 10_001}, "description"),
            ({"title": "ok", "priority": "critical"}, "priority"),
            ({"title": "ok", "tags": ["a" * 51]}, "tags"),
            ({"title": "ok", "tags": [" "]}, "tags"),
            ({"title": "ok", "tags": [f"t{i}" for i in range(21)]}, "tags"),
            ({"title": "ok", "due_date": "2026-12-01T09:00:00"}, "due_date"),
            ({"title": "ok", "reminder_at": "2026-12-01T09:00:00"}, "reminder_at"),
            ({"title": "ok", "timezone": "Mars/Olympus"}, "timezone"),
            ({"title": "ok", "recurrence": "FREQ=WEEKLY"}, "recurrence"),
            (
                {"title": "ok", "recurrence": "FREQ=HOURLY", "due_date": "2026-12-01T09:00Z"},
                "recurrence",
            ),
            ({"title": "ok", "reminder_offset_minutes": 30}, "reminder_offset_minutes"),
            ({"title": "ok", "reminder_offset_minutes": -1}, "reminder_offset_minutes"),
            ({}, "title"),
        ],
    )
    def test_invalid_input_is_422_naming_the_field_and_writes_nothing(self, api, payload, field):
        response = api.post("/api/todos", payload)
        assert response.status_code == 422, response.content
        locations = [error["loc"][1] for error in response.json()["detail"]]
        assert field in locations
        assert Task.objects.count() == 0

    def test_tags_are_case_insensitively_unique(self, api):
        response = api.post("/api/todos", {"title": "t", "tags": ["Work", "work", " WORK "]})
        assert response.json()["tags"] == ["Work"]

    def test_tags_reuse_the_users_existing_spelling(self, api, user):
        make(user, tags=["Work"])
        response = api.post("/api/todos", {"title": "t", "tags": ["work"]})
        assert response.json()["tags"] == ["Work"]

    def test_reminder_offset_sets_reminder_before_due(self, api):
        response = api.post(
            "/api/todos",
            {"title": "t", "due_date": "2026-12-01T09:00:00Z", "reminder_offset_minutes": 30},
        )
        assert response.json()["reminder_at"].startswith("2026-12-01T08:30:00")

    def test_recurring_task_gets_a_summary(self, api):
        response = api.post(
            "/api/todos",
            {
                "title": "t",
                "due_date": "2026-12-07T09:00:00+01:00",
                "recurrence": "freq=weekly;interval=2;byday=MO,WE",
                "timezone": "Europe/Berlin",
            },
        )
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["recurrence"].startswith("FREQ=WEEKLY")
        assert body["recurrence_summary"] == "Every 2 weeks on Monday and Wednesday"


class TestReadUpdateDelete:
    def test_another_users_task_is_404_for_every_verb(self, api, other_user):
        task = make(other_user)
        url = f"/api/todos/{task.pk}"
        assert api.get(url).status_code == 404
        assert api.patch(url, {"title": "x"}).status_code == 404
        assert api.put(url, {"title": "x"}).status_code == 404
        assert api.delete(url).status_code == 404
        assert api.post(url + "/complete").status_code == 404
        assert api.post(url + "/reopen").status_code == 404
        assert api.get(url + "/activity").status_code == 404
        task.refresh_from_db()
        assert task.title == "Task" and task.version == 1

    def test_patch_changes_only_given_fields_and_bumps_version(self, api, user):
        task = make(user, description="keep", priority="low")
        response = api.patch(f"/api/todos/{task.pk}", {"title": "New"})
        assert response.status_code == 200
        body = response.json()
        assert (body["title"], body["description"], body["priority"]) == ("New", "keep", "low")
        assert body["version"] == 2

    def test_patch_with_nothing_changed_keeps_version(self, api, user):
        task = make(user, title="Same")
        assert api.patch(f"/api/todos/{task.pk}", {"title": "Same"}).json()["version"] == 1

    def test_patch_null_title_is_422(self, api, user):
        task = make(user)
        response = api.patch(f"/api/todos/{task.pk}", {"title": None})
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"][-1] == "title"

    def test_put_replaces_all_fields(self, api, user):
        task = make(user, description="old", tags=["a"], priority="urgent")
        response = api.put(f"/api/todos/{task.pk}", {"title": "Replaced"})
        body = response.json()
        assert (body["description"], body["tags"], body["priority"]) == ("", [], "medium")

    def test_delete_is_204_then_404(self, api, user):
        task = make(user)
        assert api.delete(f"/api/todos/{task.pk}").status_code == 204
        assert api.get(f"/api/todos/{task.pk}").status_code == 404

    def test_complete_and_reopen_are_idempotent(self, api, user):
        task = make(user)
        first = api.post(f"/api/todos/{task.pk}/complete").json()
        second = api.post(f"/api/todos/{task.pk}/complete").json()
        assert first["completed"] and second["completed"]
        assert first["version"] == second["version"] == 2
        assert first["completed_at"] == second["completed_at"]
        reopened = api.post(f"/api/todos/{task.pk}/reopen").json()
        again = api.post(f"/api/todos/{task.pk}/reopen").json()
        assert reopened["completed"] is False and reopened["completed_at"] is None
        assert reopened["version"] == again["version"] == 3

    def test_unknown_task_is_404_json(self, api):
        response = api.get("/api/todos/999999")
        assert response.status_code == 404
        assert response.json() == {"detail": "Not found."}


class TestListFilters:
    @pytest.fixture
    def tasks(self, user, other_user):
        now = timezone.now()
        make(
            user,
            "Write quarterly report",
            priority="high",
            tags=["work", "writing"],
            due_date=now + timedelta(days=2),
        )
        make(user, "Buy milk", priority="low", tags=["home"], due_date=now - timedelta(days=1))
        make(
            user,
            "Call plumber",
            priority="urgent",
            tags=["home", "urgent-ish"],
            description="kitchen sink leaks",
        )
        done = make(
            user, "Pay rent", priority="medium", tags=["home"], due_date=now - timedelta(days=3)
        )
        services.task_complete(task=done)
        make(other_user, "Bob's secret report", tags=["work"])

    def test_default_lists_all_of_the_users_tasks_only(self, api, tasks):
        response = api.get("/api/todos")
        assert response.json()["count"] == 4
        assert "Bob's secret report" not in ids(response)

    def test_priority_any_of(self, api, tasks):
        assert sorted(ids(api.get("/api/todos?priority=low&priority=urgent"))) == [
            "Buy milk",
            "Call plumber",
        ]

    def test_tag_all_of_case_insensitive(self, api, tasks):
        assert ids(api.get("/api/todos?tag=HOME&tag=urgent-ish")) == ["Call plumber"]
        assert sorted(ids(api.get("/api/todos?tag=home"))) == [
            "Buy milk",
            "Call plumber",
            "Pay rent",
        ]

    def test_search_words_in_title_or_description(self, api, tasks):
        assert ids(api.get("/api/todos?search=REPORT")) == ["Write quarterly report"]
        assert ids(api.get("/api/todos?search=sink")) == ["Call plumber"]
        assert ids(api.get("/api/todos?search=plumber kitchen")) == ["Call plumber"]
        assert ids(api.get("/api/todos?search=plumber report")) == []

    def test_search_matches_word_prefixes(self, api, tasks):
        assert ids(api.get("/api/todos?search=quart")) == ["Write quarterly report"]

    def test_search_of_punctuation_only_lists_everything(self, api, tasks):
        assert api.get("/api/todos?search=%26%7C!:*").json()["count"] == 4

    def test_status(self, api, tasks):
        assert ids(api.get("/api/todos?status=completed")) == ["Pay rent"]
        assert len(ids(api.get("/api/todos?status=pending"))) == 3
        assert len(ids(api.get("/api/todos?status=all"))) == 4

    def test_due_range(self, api, tasks):
        now = timezone.now()
        after = (now - timedelta(days=2)).isoformat()
        before = (now + timedelta(days=1)).isoformat()
        response = api.get("/api/todos", data={"due_after": after, "due_before": before})
        assert ids(response) == ["Buy milk"]

    def test_overdue_excludes_completed_and_undated(self, api, tasks):
        assert ids(api.get("/api/todos?overdue=true")) == ["Buy milk"]

    def test_combined_filters(self, api, tasks):
        response = api.get("/api/todos?tag=home&status=pending&priority=urgent&search=sink")
        assert ids(response) == ["Call plumber"]

    @pytest.mark.parametrize(
        ("query", "field"),
        [
            ("priority=critical", "priority"),
            ("status=open", "status"),
            ("sort_by=colour", "sort_by"),
            ("order=sideways", "order"),
            ("limit=0", "limit"),
            ("limit=201", "limit"),
            ("offset=-1", "offset"),
            ("due_before=soon", "due_before"),
            ("overdue=maybe", "overdue"),
        ],
    )
    def test_bad_parameters_are_422_naming_the_parameter(self, api, tasks, query, field):
        response = api.get(f"/api/todos?{query}")
        assert response.status_code == 422, response.content
        assert any(field in error["loc"] for error in response.json()["detail"])


class TestListSorting:
    @pytest.fixture
    def dated(self, user):
        base = datetime(2026, 12, 1, 9, tzinfo=UTC)
        make(user, "no due A", priority="low")
        make(user, "late", priority="medium", due_date=base + timedelta(days=3))
        make(user, "early", priority="urgent", due_date=base)
        make(user, "no due B", priority="urgent")
        make(user, "middle", priority="high", due_date=base + timedelta(days=1))

    def test_due_date_ascending_puts_undated_last(self, api, dated):
        assert ids(api.get("/api/todos?sort_by=due_date&order=asc")) == [
            "early",
            "middle",
            "late",
            "no due A",
            "no due B",
        ]

    def test_due_date_descending_still_puts_undated_last(self, api, dated):
        assert ids(api.get("/api/todos?sort_by=due_date&order=desc")) == [
            "late",
            "middle",
            "early",
            "no due B",
            "no due A",
        ]

    def test_priority_sorts_by_urgency_not_alphabet(self, api, dated):
        # Low < medium < high < urgent: descending (the default) is most urgent first.
        urgent_first = ["early", "no due B", "middle", "late", "no due A"]
        assert ids(api.get("/api/todos?sort_by=priority")) == urgent_first
        assert ids(api.get("/api/todos?sort_by=priority&order=desc")) == urgent_first
        assert ids(api.get("/api/todos?sort_by=priority&order=asc")) == [
            "no due A",
            "late",
            "middle",
            "no due B",
            "early",
        ]

    def test_title_sort_ignores_case(self, api, user):
        for title in ["banana", "Apple", "cherry"]:
            make(user, title)
        assert ids(api.get("/api/todos?sort_by=title")) == ["Apple", "banana", "cherry"]

    def test_created_and_updated_sorts(self, api, dated, user):
        assert ids(api.get("/api/todos?sort_by=created_at"))[0] == "no due A"
        task = Task.objects.get(title="late")
        services.task_update(task=task, data={"title": "late!"})
        assert ids(api.get("/api/todos?sort_by=updated_at&order=desc"))[0] == "late!"

    def test_pages_never_overlap_on_ties(self, api, user):
        for i in range(7):
            make(user, f"same {i}", priority="high")
        seen = []
        for offset in range(0, 7, 3):
            seen += ids(api.get(f"/api/todos?sort_by=priority&limit=3&offset={offset}"))
        assert sorted(seen) == sorted(f"same {i}" for i in range(7))

    def test_pagination_edges(self, api, dated):
        body = api.get("/api/todos?limit=2&offset=4").json()
        assert (body["count"], len(body["items"]), body["limit"], body["offset"]) == (5, 1, 2, 4)
        body = api.get("/api/todos?limit=2&offset=50").json()
        assert (body["count"], body["items"]) == (5, [])
        assert api.get("/api/todos?limit=200").json()["limit"] == 200


def test_list_query_count_is_constant_whatever_the_page_size(api, user):
    for i in range(30):
        make(user, f"t{i}", tags=[f"tag{i % 4}", "all"])

    def queries(limit: int) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert api.get(f"/api/todos?limit={limit}&tag=all").status_code == 200
        return len(ctx.captured_queries)

    assert queries(1) == queries(30)
    assert queries(30) <= 5  # user, count, page, tags (+ savepoint-free)


def test_tags_endpoint_counts_the_users_tags(api, user, other_user):
    make(user, tags=["work", "home"])
    make(user, tags=["work"])
    make(other_user, tags=["work", "secret"])
    response = api.get("/api/tags")
    assert sorted((t["name"], t["count"]) for t in response.json()) == [("home", 1), ("work", 2)]


def test_me(api, user):
    body = api.get("/api/me").json()
    assert body == {
        "id": user.pk,
        "username": "alice",
        "email": "alice@example.com",
        "timezone": "Europe/Berlin",
        "morning_hour": 9,
    }


def test_openapi_document_and_docs_are_served(client, db):
    assert client.get("/api/openapi.json").status_code == 200
    assert client.get("/api/docs").status_code == 200


class TestHostileInput:
    """Inputs schemathesis found: each is a 4xx naming the field, never a 500."""

    @pytest.mark.parametrize("field", ["title", "description", "timezone", "recurrence"])
    def test_nul_characters_are_refused(self, api, field):
        payload = {"title": "ok", field: "a\x00b"}
        response = api.post("/api/todos", payload)
        assert response.status_code == 422
        assert field in [e["loc"][-1] for e in response.json()["detail"]]

    def test_nul_in_a_tag_is_refused(self, api):
        response = api.post("/api/todos", {"title": "ok", "tags": ["a\x00b"]})
        assert response.status_code == 422

    @pytest.mark.parametrize("query", ["search=a%00b", "tag=a%00b"])
    def test_nul_in_list_parameters_is_refused(self, api, query):
        assert api.get(f"/api/todos?{query}").status_code == 422

    def test_offsets_beyond_what_postgresql_stores_are_normalised(self, api):
        response = api.get("/api/todos?due_after=0500-08-23T07:05:28-20:06")
        assert response.status_code == 200
        created = api.post(
            "/api/todos", {"title": "far east", "due_date": "2026-12-01T09:00:00+23:30"}
        )
        assert created.status_code == 201
        assert created.json()["due_date"] == "2026-11-30T09:30:00.000000Z"

    def test_date_at_the_edge_of_the_calendar_is_422(self, api):
        response = api.get("/api/todos?due_after=0001-01-01T00:00:00%2B05:00")
        assert response.status_code == 422

    def test_absurd_offset_is_422(self, api):
        assert api.get("/api/todos?offset=1575805356040342716475768832").status_code == 422
        assert api.get("/api/notifications?offset=99999999999").status_code == 422


class TestContract:
    """Findings of issue 12: the API does what its OpenAPI document says, and no more."""

    @pytest.mark.parametrize("body", ['"hello world"', "[null, null]", "42", "null"])
    def test_a_body_that_is_not_an_object_is_422_and_creates_nothing(self, api, body):
        response = api.client.post(
            "/api/todos", data=body, content_type="application/json", headers=api.headers
        )
        assert response.status_code == 422, response.content
        assert response.json()["detail"][0]["loc"] == ["body"]
        assert Task.objects.count() == 0

    def test_unknown_fields_are_422_naming_them(self, api):
        response = api.post("/api/todos", {"title": "x", "colour": "red"})
        assert response.status_code == 422
        assert [e["loc"] for e in response.json()["detail"]] == [["body", "colour"]]
        task = api.post("/api/todos", {"title": "x"}).json()
        patched = api.patch(f"/api/todos/{task['id']}", {"colour": "red"})
        assert patched.status_code == 422
        assert patched.json()["detail"][0]["loc"] == ["body", "colour"]

    def test_unknown_query_parameters_are_422_naming_them(self, api):
        response = api.get("/api/todos?stauts=done&status=completed")
        assert response.status_code == 422
        assert response.json()["detail"] == [
            {
                "loc": ["query", "stauts"],
                "msg": "Unknown query parameter.",
                "type": "extra_forbidden",
            }
        ]
        # Also where the operation declares no query parameter at all.
        created = api.post("/api/todos?draft=1", {"title": "x"})
        assert created.status_code == 422
        assert created.json()["detail"][0]["loc"] == ["query", "draft"]
        assert Task.objects.count() == 0
        assert api.get("/api/todos?status=completed&tag=a&tag=b").status_code == 200

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("due_date", 0),  # lax pydantic: 1970-01-01
            ("due_date", 1.5e9),
            ("reminder_offset_minutes", False),  # lax pydantic: 0
            ("reminder_offset_minutes", "30"),
            ("reminder_offset_minutes", 2.5),
        ],
    )
    def test_values_must_have_their_json_type(self, api, field, value):
        body = {"title": "x", "due_date": "2027-01-31T09:30:00Z", field: value}
        response = api.post("/api/todos", body)
        assert response.status_code == 422, response.content
        assert response.json()["detail"][0]["loc"] == ["body", field]
        assert Task.objects.count() == 0

    def test_an_integral_number_is_an_integer(self, api):
        # JSON Schema counts 30.0 as an integer, so a client generated from it may send it.
        body = {"title": "x", "due_date": "2027-01-31T09:30:00Z", "reminder_offset_minutes": 30.0}
        response = api.post("/api/todos", body)
        assert response.status_code == 201
        assert response.json()["reminder_at"] == "2027-01-31T09:00:00.000000Z"

    def test_the_document_states_the_rules_between_fields(self, api):
        rules = api.get("/api/openapi.json").json()["components"]["schemas"]["TaskWrite"]["allOf"]
        described = {rule["description"] for rule in rules}
        assert described == {
            "Give either reminder_at or reminder_offset_minutes, not both.",
            "A reminder before the due date needs a due date.",
            "A recurring task needs a due date.",
            "An all-day task needs a due date.",
            "A due date without a time is all-day: not with all_day false.",
        }
        validator = jsonschema.Draft202012Validator({"allOf": rules})
        due = "2027-01-31T09:30:00Z"
        assert validator.is_valid({"title": "x", "recurrence": "FREQ=DAILY", "due_date": due})
        assert validator.is_valid({"title": "x", "recurrence": "  ", "due_date": None})
        assert validator.is_valid(
            {"title": "x", "reminder_at": due, "reminder_offset_minutes": None}
        )
        for body in (
            {"title": "x", "recurrence": "FREQ=DAILY"},
            {"title": "x", "reminder_offset_minutes": 5, "due_date": None},
            {"title": "x", "reminder_at": due, "reminder_offset_minutes": 5, "due_date": due},
            {"title": "x", "all_day": True},
            {"title": "x", "all_day": False, "due_date": "2027-01-31"},
        ):
            assert not validator.is_valid(body), body
            assert api.post("/api/todos", body).status_code == 422, body
        assert Task.objects.count() == 0

    def test_patch_with_a_non_object_changes_nothing(self, api):
        task = api.post("/api/todos", {"title": "keep me"}).json()
        for body in ('"hello"', "[null, null]"):
            response = api.client.patch(
                f"/api/todos/{task['id']}", data=body, content_type="application/json",
                headers=api.headers,
            )  # fmt: skip
            assert response.status_code == 422
        assert api.get(f"/api/todos/{task['id']}").json()["version"] == 1

    def test_schema_and_business_errors_share_one_location_format(self, api):
        schema_error = api.post("/api/todos", {"title": 5})
        business_error = api.post("/api/todos", {"title": "   "})
        assert schema_error.json()["detail"][0]["loc"] == ["body", "title"]
        assert business_error.json()["detail"][0]["loc"] == ["body", "title"]

    def test_the_openapi_document_states_the_limits_the_api_enforces(self, client):
        spec = client.get("/api/openapi.json").json()["components"]["schemas"]
        write, patch = spec["TaskWrite"], spec["TaskPatch"]
        assert write["additionalProperties"] is False and patch["additionalProperties"] is False
        title = write["properties"]["title"]
        assert (title["minLength"], title["maxLength"]) == (1, 200)
        assert "\\x00" in title["pattern"]
        assert "Europe/Berlin" in str(write["properties"]["timezone"])
        for field in ("title", "description", "priority", "tags", "timezone"):
            assert "null" not in json.dumps(patch["properties"][field]), field
            assert "default" not in patch["properties"][field], field
        assert write["properties"]["recurrence"]["anyOf"][0]["maxLength"] == 500

    @pytest.mark.parametrize(
        ("field", "value"),
        [("priority", None), ("title", None), ("tags", None), ("timezone", None)],
    )
    def test_patch_refuses_null_where_the_document_says_so(self, api, field, value):
        task = api.post("/api/todos", {"title": "x"}).json()
        response = api.patch(f"/api/todos/{task['id']}", {field: value})
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["body", field]

    def test_a_rule_over_500_characters_is_422_not_500(self, api):
        rule = "FREQ=WEEKLY;BYDAY=" + ",".join(["MO"] * 200)
        response = api.post(
            "/api/todos", {"title": "x", "due_date": "2026-12-01T09:00Z", "recurrence": rule}
        )
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["body", "recurrence"]

    def test_a_reminder_offset_before_the_year_1_is_422_not_500(self, api):
        response = api.post(
            "/api/todos",
            {
                "title": "x",
                "due_date": "0001-01-01T12:00:00Z",
                "reminder_offset_minutes": 60 * 24 * 365,
            },
        )
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["body", "reminder_offset_minutes"]

    def test_every_date_time_is_rfc3339_utc_with_microseconds(self, api):
        task = api.post(
            "/api/todos",
            {
                "title": "x",
                "due_date": "2026-12-01T09:00:00.5+01:00",
                "recurrence": "FREQ=DAILY",
                "timezone": "Europe/Berlin",
            },
        ).json()
        assert task["due_date"] == "2026-12-01T08:00:00.500000Z"
        occurrences = api.get(f"/api/todos/{task['id']}/occurrences?limit=2").json()
        assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", o)
                   for o in occurrences["occurrences"]), occurrences  # fmt: skip
        assert occurrences["occurrences"][0].endswith("T08:00:00.500000Z")


class TestOptimisticConcurrency:
    def test_reads_and_changes_carry_the_version_as_etag(self, api):
        task = api.post("/api/todos", {"title": "x"}).json()
        assert api.get(f"/api/todos/{task['id']}")["ETag"] == '"1"'
        assert api.patch(f"/api/todos/{task['id']}", {"title": "y"})["ETag"] == '"2"'
        assert api.post(f"/api/todos/{task['id']}/complete")["ETag"] == '"3"'

    def test_a_change_against_an_old_version_is_412_and_changes_nothing(self, api):
        task = api.post("/api/todos", {"title": "x"}).json()
        url = f"/api/todos/{task['id']}"
        assert api.patch(url, {"title": "mine"}, HTTP_IF_MATCH='"1"').status_code == 200
        late = api.patch(url, {"title": "theirs"}, HTTP_IF_MATCH='"1"')  # read before mine
        assert late.status_code == 412
        assert late["ETag"] == '"2"'
        assert "version 2" in late.json()["detail"]
        assert api.get(url).json()["title"] == "mine"
        assert api.delete(url, HTTP_IF_MATCH='"1"').status_code == 412
        assert api.delete(url, HTTP_IF_MATCH='"2"').status_code == 204

    @pytest.mark.parametrize("header", ["*", '"7", "1"'])
    def test_a_star_or_a_list_with_the_current_version_matches(self, api, header):
        task = api.post("/api/todos", {"title": "x"}).json()
        response = api.put(f"/api/todos/{task['id']}", {"title": "y"}, HTTP_IF_MATCH=header)
        assert response.status_code == 200

    @pytest.mark.parametrize("header", ['W/"1"', "1", '"one"', ""])
    def test_a_tag_that_names_no_version_never_matches(self, api, header):
        task = api.post("/api/todos", {"title": "x"}).json()
        response = api.patch(f"/api/todos/{task['id']}", {"title": "y"}, HTTP_IF_MATCH=header)
        assert response.status_code == 412


@pytest.mark.django_db(transaction=True)
def test_concurrent_patches_with_if_match_cannot_both_win(user):
    """Five clients read version 1 and change the title at once: exactly one succeeds, the
    others get 412 (on SQLite the writes queue; on PostgreSQL the row lock decides)."""
    import threading

    from django.db import connection as main_connection

    from tests.conftest import ApiClient

    task = services.task_create(user=user, data={"title": "start"})
    results: list[int] = []
    barrier = threading.Barrier(5)

    def change(n: int) -> None:
        client = ApiClient(user)
        barrier.wait()
        try:
            response = client.patch(
                f"/api/todos/{task.pk}", {"title": f"writer {n}"}, HTTP_IF_MATCH='"1"'
            )
            results.append(response.status_code)
        finally:
            from django.db import connection

            connection.close()

    threads = [threading.Thread(target=change, args=(n,)) for n in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    main_connection.close()
    assert sorted(results) == [200, 412, 412, 412, 412], results
    task.refresh_from_db()
    assert task.version == 2


class TestUndo:
    def test_undo_complete_reopens_at_the_completed_version(self, api, user):
        task = make(user, "Call mom")
        done = api.post(f"/api/todos/{task.pk}/complete").json()
        response = api.post(f"/api/todos/{task.pk}/undo-complete", {"version": done["version"]})
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["completed"] is False and body["version"] == done["version"] + 1
        assert response["ETag"] == f'"{body["version"]}"'

    def test_undo_complete_of_a_changed_task_is_a_409(self, api, user):
        task = make(user, "Call mom")
        done = api.post(f"/api/todos/{task.pk}/complete").json()
        api.patch(f"/api/todos/{task.pk}", {"title": "Call dad"})
        response = api.post(f"/api/todos/{task.pk}/undo-complete", {"version": done["version"]})
        assert response.status_code == 409
        assert "changed since it was completed" in response.json()["detail"]

    def test_undo_complete_needs_a_version(self, api, user):
        task = make(user, "Call mom")
        api.post(f"/api/todos/{task.pk}/complete")
        response = api.post(f"/api/todos/{task.pk}/undo-complete", {})
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["body", "version"]

    def test_restore_brings_the_task_back_under_its_id(self, api, user):
        task = make(user, "Old plan", tags=["home"], priority="high")
        assert api.delete(f"/api/todos/{task.pk}").status_code == 204
        response = api.post(f"/api/todos/{task.pk}/restore")
        assert response.status_code == 201, response.content
        body = response.json()
        assert (body["id"], body["title"], body["tags"], body["priority"]) == (
            task.pk,
            "Old plan",
            ["home"],
            "high",
        )
        assert api.get(f"/api/todos/{task.pk}").status_code == 200

    def test_restore_of_a_task_never_deleted_or_not_yours_is_a_404(self, api, other_api, user):
        task = make(user, "Mine")
        assert api.post(f"/api/todos/{task.pk}/restore").status_code == 404
        api.delete(f"/api/todos/{task.pk}")
        assert other_api.post(f"/api/todos/{task.pk}/restore").status_code == 404

    def test_restore_too_late_is_a_409(self, api, user):
        from tasks.models import DeletedTask

        task = make(user, "Old plan")
        api.delete(f"/api/todos/{task.pk}")
        DeletedTask.objects.update(deleted_at=timezone.now() - timedelta(hours=1))
        response = api.post(f"/api/todos/{task.pk}/restore")
        assert response.status_code == 409
        assert "can no longer be restored" in response.json()["detail"]

    def test_the_openapi_document_lists_both_with_their_refusals(self, api):
        paths = api.get("/api/openapi.json").json()["paths"]
        for path in ("/api/todos/{task_id}/undo-complete", "/api/todos/{task_id}/restore"):
            responses = paths[path]["post"]["responses"]
            assert {"404", "409"} <= set(responses), path


class TestTags:
    def tag_id(self, api, name):
        rows = api.get("/api/tags", data={"include_unused": "true"}).json()
        return next(row["id"] for row in rows if row["name"] == name)

    def test_list_has_ids_colours_and_unused_on_request(self, api, user):
        task = make(user, tags=["work", "gone"])
        services.task_update(task=task, data={"tags": ["work"]})
        used = api.get("/api/tags").json()
        assert [(t["name"], t["count"], t["colour"]) for t in used] == [("work", 1, "")]
        every = api.get("/api/tags", data={"include_unused": "true"}).json()
        assert [(t["name"], t["count"]) for t in every] == [("gone", 0), ("work", 1)]

    def test_patch_renames_and_colours(self, api, user):
        task = make(user, tags=["wrk"])
        response = api.patch(
            f"/api/tags/{self.tag_id(api, 'wrk')}", {"name": "work", "colour": "blue"}
        )
        assert response.status_code == 200, response.content
        assert {k: response.json()[k] for k in ("name", "count", "colour")} == {
            "name": "work",
            "count": 1,
            "colour": "blue",
        }
        body = api.get(f"/api/todos/{task.pk}").json()
        assert body["tags"] == ["work"] and body["version"] == 2

    def test_patch_to_an_existing_name_is_a_409_until_merge_is_sent(self, api, user):
        make(user, tags=["Job"])
        make(user, tags=["work"])
        url = f"/api/tags/{self.tag_id(api, 'Job')}"
        response = api.patch(url, {"name": "work"})
        assert response.status_code == 409
        assert "merge: true" in response.json()["detail"]
        merged = api.patch(url, {"name": "work", "merge": True})
        assert merged.status_code == 200
        assert (merged.json()["name"], merged.json()["count"]) == ("work", 2)
        assert merged.json()["id"] == self.tag_id(api, "work")

    @pytest.mark.parametrize(
        ("body", "field"),
        [({"name": " "}, "name"), ({"colour": "mauve"}, "colour"), ({"x": 1}, "x")],
    )
    def test_patch_with_bad_input_is_a_422_naming_the_field(self, api, user, body, field):
        make(user, tags=["work"])
        response = api.patch(f"/api/tags/{self.tag_id(api, 'work')}", body)
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"][-1] == field

    def test_delete_takes_the_tag_off_its_tasks(self, api, user):
        task = make(user, tags=["old", "keep"])
        assert api.delete(f"/api/tags/{self.tag_id(api, 'old')}").status_code == 204
        assert api.get(f"/api/todos/{task.pk}").json()["tags"] == ["keep"]

    def test_another_users_tag_is_a_404(self, api, other_api, user):
        make(user, tags=["mine"])
        tag_id = self.tag_id(api, "mine")
        assert other_api.patch(f"/api/tags/{tag_id}", {"colour": "red"}).status_code == 404
        assert other_api.delete(f"/api/tags/{tag_id}").status_code == 404

    def test_the_colour_names_are_the_models(self):
        from typing import get_args

        from tasks.models import TagColour
        from tasks.schemas import TagColourName

        assert list(get_args(TagColourName)) == list(TagColour.values)


class TestAllDay:
    def test_a_date_without_a_time_creates_an_all_day_task(self, api):
        response = api.post("/api/todos", {"title": "Pay rent", "due_date": "2026-12-01"})
        assert response.status_code == 201, response.content
        body = response.json()
        assert (body["all_day"], body["due_day"]) == (True, "2026-12-01")
        assert datetime.fromisoformat(body["due_date"]) == datetime(
            2026, 12, 1, 22, 59, 59, 999999, tzinfo=UTC
        )

    def test_patch_all_day_keeps_the_date_and_a_date_time_makes_it_timed(self, api):
        created = api.post(
            "/api/todos", {"title": "t", "due_date": "2026-12-01T15:00:00+01:00"}
        ).json()
        body = api.patch(f"/api/todos/{created['id']}", {"all_day": True}).json()
        assert (body["all_day"], body["due_day"]) == (True, "2026-12-01")
        body = api.patch(f"/api/todos/{created['id']}", {"due_date": "2026-12-02T10:00:00Z"}).json()
        assert (body["all_day"], body["due_day"]) == (False, None)

    @pytest.mark.parametrize(
        ("payload", "field"),
        [
            ({"title": "t", "all_day": True}, "all_day"),
            ({"title": "t", "due_date": "2026-12-01", "all_day": False}, "due_date"),
            ({"title": "t", "due_date": "2026-12-01T00:00"}, "due_date"),  # naive, no date
            ({"title": "t", "due_date": "2026-13-01"}, "due_date"),
            ({"title": "t", "due_date": "2026-12-01", "all_day": "sometimes"}, "all_day"),
        ],
    )
    def test_bad_combinations_are_422_naming_the_field(self, api, payload, field):
        response = api.post("/api/todos", payload)
        assert response.status_code == 422, response.content
        assert field in [error["loc"][1] for error in response.json()["detail"]]
        assert Task.objects.count() == 0

    def test_patch_null_all_day_is_refused(self, api):
        created = api.post("/api/todos", {"title": "t", "due_date": "2026-12-01"}).json()
        response = api.patch(f"/api/todos/{created['id']}", {"all_day": None})
        assert response.status_code == 422

    def test_the_openapi_schema_documents_all_day(self, api):
        schema = api.get("/api/openapi.json").json()
        components = schema["components"]["schemas"]
        assert "all_day" in components["TaskOut"]["required"]
        assert "all_day" in components["TaskWrite"]["properties"]
        assert "all_day" in components["TaskPatch"]["properties"]
        due = json.dumps(components["TaskWrite"]["properties"]["due_date"])
        assert '"format": "date"' in due and '"format": "date-time"' in due


class TestPlanningViews:
    def test_view_today_and_upcoming_use_the_users_days(self, api, user):
        today = days.local_day(timezone.now(), user.timezone)
        make(user, "late", due_date=timezone.now() - timedelta(days=1))
        make(user, "rent", due_date=today)
        make(user, "dentist", due_date=today + timedelta(days=3))
        make(user, "far", due_date=today + timedelta(days=9))
        assert ids(api.get("/api/todos?view=today")) == ["late", "rent"]
        assert ids(api.get("/api/todos?view=upcoming")) == ["rent", "dentist"]

    def test_an_unknown_view_is_422(self, api):
        response = api.get("/api/todos?view=someday")
        assert response.status_code == 422


class TestSnooze:
    def test_snooze_by_choice_or_until(self, api, user):
        task = make(user, reminder_at=timezone.now() - timedelta(minutes=1))
        body = api.post(f"/api/todos/{task.pk}/snooze", {"snooze": "10m"}).json()
        moved = datetime.fromisoformat(body["reminder_at"])
        assert timedelta(minutes=9) < moved - timezone.now() <= timedelta(minutes=10)
        until = (timezone.now() + timedelta(days=2)).replace(microsecond=0)
        response = api.post(f"/api/todos/{task.pk}/snooze", {"until": until.isoformat()})
        assert response.status_code == 200
        assert datetime.fromisoformat(response.json()["reminder_at"]) == until
        assert response["ETag"] == '"3"'

    @pytest.mark.parametrize(
        ("payload", "field"),
        [
            ({}, "snooze"),
            ({"snooze": "10m", "until": "2030-01-01T00:00Z"}, "snooze"),
            ({"snooze": "forever"}, "snooze"),
            ({"until": "2000-01-01T00:00Z"}, "reminder_at"),
            ({"until": "2030-01-01T00:00"}, "until"),
        ],
    )
    def test_bad_snoozes_are_422_naming_the_field(self, api, user, payload, field):
        task = make(user, reminder_at=timezone.now())
        response = api.post(f"/api/todos/{task.pk}/snooze", payload)
        assert response.status_code == 422, response.content
        assert field in [error["loc"][-1] for error in response.json()["detail"]]

    def test_another_users_task_is_404(self, api, other_user):
        task = make(other_user, reminder_at=timezone.now())
        assert api.post(f"/api/todos/{task.pk}/snooze", {"snooze": "1h"}).status_code == 404
