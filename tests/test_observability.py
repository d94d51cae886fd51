from __future__ import annotations

import asyncio
import io
import json
import logging
import logging.config
import re
import sys
from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from prometheus_client import REGISTRY

from todo_project import observability
from todo_project.observability import (
    JsonFormatter,
    MetricsMiddleware,
    TraceContextFilter,
    TraceContextMiddleware,
    current_trace_context,
    parse_traceparent,
    use_traceparent,
)

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{SPAN_ID}-01"


def latency_count(method: str, route: str, status: str) -> float:
    labels = {"method": method, "route": route, "status": status}
    return REGISTRY.get_sample_value("todo_http_request_duration_seconds_count", labels) or 0.0


# ----------------------------------------------------------------------------- /metrics


@pytest.mark.django_db
def test_metrics_endpoint_exposes_every_app_metric(client: Client) -> None:
    response = client.get("/metrics")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    body = response.content.decode()
    for name in (
        "todo_http_request_duration_seconds",
        "todo_events_published_total",
        "todo_events_publish_failed_total",
        "todo_events_consumed_total",
        "todo_outbox_backlog",
        "todo_outbox_oldest_age_seconds",
        "todo_reminder_lateness_seconds",
        "todo_websocket_connections",
    ):
        # prometheus_client names counters' TYPE line with or without "_total"
        # depending on its version.
        assert re.search(rf"^# TYPE {name.removesuffix('_total')}(_total)? ", body, re.M), name


@pytest.mark.django_db
def test_metrics_endpoint_refreshes_outbox_gauges(client: Client, monkeypatch: Any) -> None:
    monkeypatch.setattr(
        "todo_project.eventbus.selectors.outbox_stats",
        lambda: {"backlog": 3, "oldest_age_seconds": 12.5},
    )

    body = client.get("/metrics").content.decode()

    assert "todo_outbox_backlog 3.0" in body
    assert "todo_outbox_oldest_age_seconds 12.5" in body


@pytest.mark.django_db
def test_empty_outbox_reports_zero_age(client: Client, monkeypatch: Any) -> None:
    monkeypatch.setattr(
        "todo_project.eventbus.selectors.outbox_stats",
        lambda: {"backlog": 0, "oldest_age_seconds": None},
    )

    body = client.get("/metrics").content.decode()

    assert "todo_outbox_backlog 0.0" in body
    assert "todo_outbox_oldest_age_seconds 0.0" in body


def test_metrics_are_served_when_the_database_is_down(client: Client, monkeypatch: Any) -> None:
    def broken() -> dict[str, Any]:
        raise RuntimeError("database unreachable")

    monkeypatch.setattr("todo_project.eventbus.selectors.outbox_stats", broken)

    response = client.get("/metrics")

    assert response.status_code == 200
    assert b"todo_outbox_backlog" in response.content


def test_metrics_skip_outbox_gauges_when_the_selector_is_unavailable(monkeypatch: Any) -> None:
    observability.OUTBOX_BACKLOG.set(7)
    # A None entry in sys.modules makes the lazy import raise ImportError.
    monkeypatch.setitem(sys.modules, "todo_project.eventbus.selectors", None)

    body, content_type = observability.render_metrics()

    assert b"todo_outbox_backlog 7.0" in body
    assert content_type.startswith("text/plain")


def test_metrics_endpoint_only_answers_get(client: Client) -> None:
    assert client.post("/metrics").status_code == 405


def test_with_a_metrics_port_the_web_serves_metrics_there_only(
    client: Client, settings: Any
) -> None:
    settings.METRICS_PORT = 9102

    assert client.get("/metrics", SERVER_PORT="8000").status_code == 404
    served = client.get("/metrics", SERVER_PORT="9102")
    assert served.status_code == 200
    assert b"todo_outbox_backlog" in served.content


@pytest.mark.urls("todo_project.eventbus.app_channel_urls")
def test_the_worker_app_channel_serves_metrics_whatever_the_metrics_port(
    client: Client, settings: Any
) -> None:
    settings.METRICS_PORT = 9102

    assert client.get("/metrics", SERVER_PORT="8001").status_code == 200


# ---------------------------------------------------------------------- MetricsMiddleware


@pytest.mark.urls("todo_project.eventbus.app_channel_urls")  # where /job/<name> lives
def test_requests_are_labelled_by_url_pattern_not_raw_path(client: Client) -> None:
    before = latency_count("GET", "/job/<str:name>", "405")

    client.get("/job/reminder-task-1")
    client.get("/job/reminder-task-2")

    assert latency_count("GET", "/job/<str:name>", "405") == before + 2
    assert latency_count("GET", "/job/reminder-task-1", "405") == 0


def test_unmatched_paths_share_one_label(client: Client) -> None:
    before = latency_count("GET", "unmatched", "404")

    client.get("/no/such/page-1")
    client.get("/no/such/page-2")

    assert latency_count("GET", "unmatched", "404") == before + 2


def test_middleware_observes_sync_responses() -> None:
    request = RequestFactory().get("/x")
    request.resolver_match = type("Match", (), {"route": "tasks/<int:pk>/"})()
    before = latency_count("GET", "/tasks/<int:pk>/", "201")
    middleware = MetricsMiddleware(lambda r: HttpResponse(status=201))

    response = middleware(request)

    assert response.status_code == 201
    assert latency_count("GET", "/tasks/<int:pk>/", "201") == before + 1


def test_middleware_observes_async_responses() -> None:
    async def get_response(request: HttpRequest) -> HttpResponse:
        return HttpResponse(status=202)

    middleware = MetricsMiddleware(get_response)
    assert asyncio.iscoroutinefunction(middleware)
    request = RequestFactory().get("/x")
    before = latency_count("GET", "unmatched", "202")

    response = asyncio.run(middleware(request))

    assert response.status_code == 202
    assert latency_count("GET", "unmatched", "202") == before + 1


# --------------------------------------------------------------------- trace context


def test_parse_traceparent_accepts_a_valid_header() -> None:
    context = parse_traceparent(TRACEPARENT)

    assert context is not None
    assert (context.trace_id, context.span_id, context.flags) == (TRACE_ID, SPAN_ID, "01")
    assert context.traceparent == TRACEPARENT


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "garbage",
        f"00-{TRACE_ID.upper()}-{SPAN_ID}-01",
        f"00-{'0' * 32}-{SPAN_ID}-01",
        f"00-{TRACE_ID}-{'0' * 16}-01",
        f"ff-{TRACE_ID}-{SPAN_ID}-01",
        f"00-{TRACE_ID[:-1]}-{SPAN_ID}-01",
        f"00-{TRACE_ID}-{SPAN_ID}0-01",
        f"00-{TRACE_ID}-{SPAN_ID}-01-extra",
        f"0-{TRACE_ID}-{SPAN_ID}-01",
    ],
)
def test_parse_traceparent_rejects_invalid_headers(header: str | None) -> None:
    assert parse_traceparent(header) is None


def test_future_traceparent_versions_may_carry_extra_fields() -> None:
    context = parse_traceparent(f"01-{TRACE_ID}-{SPAN_ID}-01-what-comes-next")

    assert context is not None
    assert context.trace_id == TRACE_ID


def test_trace_middleware_binds_the_context_for_the_request_only() -> None:
    seen = []

    def get_response(request: HttpRequest) -> HttpResponse:
        seen.append(current_trace_context())
        return HttpResponse()

    middleware = TraceContextMiddleware(get_response)

    middleware(RequestFactory().get("/", HTTP_TRACEPARENT=TRACEPARENT))
    middleware(RequestFactory().get("/"))

    assert seen[0] is not None
    assert seen[0].trace_id == TRACE_ID
    assert seen[1] is None
    assert current_trace_context() is None


def test_trace_middleware_works_in_async_mode() -> None:
    async def get_response(request: HttpRequest) -> HttpResponse:
        context = current_trace_context()
        return HttpResponse(context.span_id if context else "")

    middleware = TraceContextMiddleware(get_response)
    assert asyncio.iscoroutinefunction(middleware)

    response = asyncio.run(middleware(RequestFactory().get("/", HTTP_TRACEPARENT=TRACEPARENT)))

    assert response.content.decode() == SPAN_ID


def test_use_traceparent_restores_the_outer_context() -> None:
    with use_traceparent(TRACEPARENT):
        with use_traceparent(None):
            assert current_trace_context() is None
        assert current_trace_context().trace_id == TRACE_ID  # type: ignore[union-attr]
    assert current_trace_context() is None


# --------------------------------------------------------------------------- logging


def make_record(message: str = "hello %s", args: tuple[Any, ...] = ("world",)) -> logging.LogRecord:
    return logging.LogRecord("todo.test", logging.WARNING, __file__, 1, message, args, None)


def test_trace_filter_adds_empty_ids_without_a_context() -> None:
    record = make_record()

    assert TraceContextFilter().filter(record) is True
    assert (record.trace_id, record.span_id) == ("", "")  # type: ignore[attr-defined]


def test_trace_filter_adds_ids_from_the_context() -> None:
    record = make_record()

    with use_traceparent(TRACEPARENT):
        TraceContextFilter().filter(record)

    assert (record.trace_id, record.span_id) == (TRACE_ID, SPAN_ID)  # type: ignore[attr-defined]


def test_json_formatter_writes_one_object_with_the_standard_fields() -> None:
    record = make_record()
    with use_traceparent(TRACEPARENT):
        TraceContextFilter().filter(record)
    record.task_id = 42

    line = JsonFormatter().format(record)

    payload = json.loads(line)
    assert "\n" not in line
    assert payload["message"] == "hello world"
    assert payload["level"] == "WARNING"
    assert payload["logger"] == "todo.test"
    assert payload["trace_id"] == TRACE_ID
    assert payload["span_id"] == SPAN_ID
    assert payload["task_id"] == 42
    assert payload["timestamp"].endswith("+00:00")


def test_json_formatter_reads_the_context_when_no_filter_ran() -> None:
    with use_traceparent(TRACEPARENT):
        payload = json.loads(JsonFormatter().format(make_record()))

    assert payload["trace_id"] == TRACE_ID


def test_json_formatter_includes_exceptions() -> None:
    try:
        raise ValueError("bad input")
    except ValueError:
        record = logging.LogRecord(
            "todo.test", logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )

    payload = json.loads(JsonFormatter().format(record))

    assert "ValueError: bad input" in payload["exc_info"]


def test_logging_config_with_dotted_paths_emits_json_with_trace_ids() -> None:
    """The shape the settings' LOGGING uses: filter and formatter built from dotted
    paths by logging.config (without reconfiguring the process's logging)."""
    configurator = logging.config.DictConfigurator({})
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(
        configurator.configure_filter({"()": "todo_project.observability.TraceContextFilter"})
    )
    handler.setFormatter(
        configurator.configure_formatter({"()": "todo_project.observability.JsonFormatter"})
    )
    logger = logging.getLogger("todo.observability.test")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        with use_traceparent(TRACEPARENT):
            logger.info("task %s saved", 7)
    finally:
        logger.removeHandler(handler)

    payload = json.loads(stream.getvalue())
    assert payload["message"] == "task 7 saved"
    assert payload["trace_id"] == TRACE_ID
    assert payload["span_id"] == SPAN_ID


def test_logs_written_during_a_request_carry_its_trace_id(
    client: Client, caplog: Any, monkeypatch: Any
) -> None:
    def broken() -> dict[str, Any]:
        raise RuntimeError("database unreachable")

    monkeypatch.setattr("todo_project.eventbus.selectors.outbox_stats", broken)
    caplog.handler.addFilter(TraceContextFilter())

    with caplog.at_level(logging.WARNING, logger="todo_project.observability"):
        client.get("/metrics", HTTP_TRACEPARENT=TRACEPARENT)

    (record,) = [r for r in caplog.records if r.name == "todo_project.observability"]
    assert (record.trace_id, record.span_id) == (TRACE_ID, SPAN_ID)  # type: ignore[attr-defined]


def test_django_response_logs_carry_the_trace_id(client: Client, caplog: Any) -> None:
    """Django logs 4xx responses after the middleware chain returned; the filter finds
    the trace context on the request passed in the record's extra."""
    caplog.handler.addFilter(TraceContextFilter())

    with caplog.at_level(logging.WARNING, logger="django.request"):
        client.get("/no/such/page", HTTP_TRACEPARENT=TRACEPARENT)

    records = [r for r in caplog.records if r.name == "django.request"]
    assert records, "Django logs 404s on django.request"
    assert records[-1].trace_id == TRACE_ID  # type: ignore[attr-defined]
    assert current_trace_context() is None
