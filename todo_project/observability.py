"""Prometheus metrics, W3C trace context and JSON logging shared by web and worker.

Metrics live in prometheus_client's default registry so any module can import and
update them; ``/metrics`` (web) and the worker's app channel both expose that registry.
Labels are bounded on purpose: requests are labelled by their URL *pattern*, never by
the raw path, so one metric series exists per route rather than per task id.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from todo_project.operators import is_operator

try:  # python-json-logger >= 3.1
    from pythonjsonlogger.json import JsonFormatter as _BaseJsonFormatter
except ImportError:  # pragma: no cover - older python-json-logger
    from pythonjsonlogger.jsonlogger import JsonFormatter as _BaseJsonFormatter

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------- metrics

HTTP_REQUEST_LATENCY = Histogram(
    "todo_http_request_duration_seconds",
    "Time spent serving an HTTP request, by method, URL pattern and status code.",
    ["method", "route", "status"],
)
EVENTS_PUBLISHED = Counter(
    "todo_events_published_total",
    "Events the outbox relay handed to the event bus, by topic.",
    ["topic"],
)
EVENTS_PUBLISH_FAILED = Counter(
    "todo_events_publish_failed_total",
    "Attempts to publish an outbox event that failed (the row stays queued), by topic.",
    ["topic"],
)
EVENTS_CONSUMED = Counter(
    "todo_events_consumed_total",
    "Events delivered to a handler, by topic, handler and outcome "
    "(success, duplicate, retry, dead_letter).",
    ["topic", "handler", "outcome"],
)
OUTBOX_BACKLOG = Gauge(
    "todo_outbox_backlog",
    "Outbox messages not yet published (refreshed on every scrape).",
)
OUTBOX_OLDEST_AGE = Gauge(
    "todo_outbox_oldest_age_seconds",
    "Age of the oldest unpublished outbox message, 0 when the outbox is empty.",
)
REMINDER_LATENESS = Histogram(
    "todo_reminder_lateness_seconds",
    "Delay between a reminder's scheduled time and the moment it was handled.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
)
WEBSOCKET_CONNECTIONS = Gauge(
    "todo_websocket_connections",
    "WebSocket connections currently open in this process.",
)

UNMATCHED_ROUTE = "unmatched"


def refresh_outbox_gauges() -> None:
    """Set the outbox gauges from the database just before a scrape.

    The selector is imported lazily so this module stays importable before the event
    bus app is, and a scrape never fails because the database is unreachable: the
    gauges then keep their previous values and /readyz reports the outage.
    """
    try:
        from todo_project.eventbus.selectors import outbox_stats
    except ImportError:
        return
    try:
        stats = outbox_stats()
    except Exception:  # a scrape must not fail because the DB is down
        logger.warning("could not read outbox stats for /metrics", exc_info=True)
        return
    OUTBOX_BACKLOG.set(stats.get("backlog") or 0)
    OUTBOX_OLDEST_AGE.set(stats.get("oldest_age_seconds") or 0)


def render_metrics() -> tuple[bytes, str]:
    """Return the Prometheus exposition body and its content type.

    Used by the Django view and by the worker's plain HTTP app channel.
    """
    refresh_outbox_gauges()
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """/metrics of the worker's app channel, which no ingress reaches."""
    body, content_type = render_metrics()
    return HttpResponse(body, content_type=content_type)


@require_GET
def web_metrics_view(request: HttpRequest) -> HttpResponse:
    """/metrics of the web app, for operators only (operators.py): with METRICS_PORT set,
    only on that port, so the port an ingress routes to never serves it."""
    if settings.METRICS_PORT and request.META.get("SERVER_PORT") != str(settings.METRICS_PORT):
        raise Http404("metrics are served on the metrics port")
    if not is_operator(request):
        raise Http404("metrics are for operators")
    return metrics_view(request)


def _route_label(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    route = getattr(match, "route", None) if match is not None else None
    if not route:
        return UNMATCHED_ROUTE
    return "/" + route.lstrip("^/")


#: Method label values: anything else (a client may send any token as a method) is
#: "other", so no client can grow the metrics without bound.
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class MetricsMiddleware:
    """Observe request latency per resolved URL pattern.

    ``request.resolver_match`` is only set once URL resolution has happened inside
    ``get_response``, so the label is computed after the response is produced. Requests
    that match no pattern are labelled ``unmatched``.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        started = time.perf_counter()
        response = self.get_response(request)
        self._observe(request, response, started)
        return response

    async def __acall__(self, request: HttpRequest) -> Any:
        started = time.perf_counter()
        response = await self.get_response(request)
        self._observe(request, response, started)
        return response

    @staticmethod
    def _observe(request: HttpRequest, response: HttpResponse, started: float) -> None:
        HTTP_REQUEST_LATENCY.labels(
            method=request.method if request.method in HTTP_METHODS else "other",
            route=_route_label(request),
            status=str(response.status_code),
        ).observe(time.perf_counter() - started)


# --------------------------------------------------------------------------- tracing


@dataclass(frozen=True)
class TraceContext:
    trace_id: str
    span_id: str
    flags: str = "01"

    @property
    def traceparent(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-{self.flags}"


_TRACEPARENT_RE = re.compile(
    r"^(?P<version>[0-9a-f]{2})-(?P<trace_id>[0-9a-f]{32})-"
    r"(?P<span_id>[0-9a-f]{16})-(?P<flags>[0-9a-f]{2})(?P<rest>-.*)?$"
)
_ZERO_TRACE_ID = "0" * 32
_ZERO_SPAN_ID = "0" * 16

_trace_context: contextvars.ContextVar[TraceContext | None] = contextvars.ContextVar(
    "todo_trace_context", default=None
)


def parse_traceparent(value: str | None) -> TraceContext | None:
    """Parse a W3C ``traceparent`` header; return None when it is absent or invalid.

    Follows W3C Trace Context level 1: lowercase hex only, version ``ff`` is invalid,
    version ``00`` has exactly four fields (later versions may append more), and
    all-zero trace or parent ids are invalid.
    """
    if not value:
        return None
    match = _TRACEPARENT_RE.match(value.strip())
    if match is None:
        return None
    version = match["version"]
    if version == "ff" or (version == "00" and match["rest"] is not None):
        return None
    if match["trace_id"] == _ZERO_TRACE_ID or match["span_id"] == _ZERO_SPAN_ID:
        return None
    return TraceContext(trace_id=match["trace_id"], span_id=match["span_id"], flags=match["flags"])


def current_trace_context() -> TraceContext | None:
    """The trace context of the request or event being handled, if any."""
    return _trace_context.get()


@contextlib.contextmanager
def use_traceparent(value: str | None) -> Iterator[TraceContext | None]:
    """Bind the trace context from ``value`` (e.g. a CloudEvent's ``traceparent``).

    Lets the worker tag the logs of one delivered event with the trace Dapr carried.
    """
    token = _trace_context.set(parse_traceparent(value))
    try:
        yield _trace_context.get()
    finally:
        _trace_context.reset(token)


class TraceContextMiddleware:
    """Bind the incoming ``traceparent`` to the request so log lines carry its ids.

    The context variable is reset when the response leaves the middleware, so nothing
    leaks into the next request served by the same thread. The context is also kept on
    ``request.trace_context``: Django logs 4xx/5xx responses (logger ``django.request``,
    with the request in ``extra``) after the middleware chain has returned, and
    TraceContextFilter falls back to it.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        with use_traceparent(request.headers.get("traceparent")) as context:
            request.trace_context = context  # type: ignore[attr-defined]
            return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> Any:
        with use_traceparent(request.headers.get("traceparent")) as context:
            request.trace_context = context  # type: ignore[attr-defined]
            return await self.get_response(request)


class TraceContextFilter(logging.Filter):
    """Add ``trace_id`` and ``span_id`` ("" when absent) to every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _trace_context.get()
        if context is None:
            context = getattr(getattr(record, "request", None), "trace_context", None)
            if not isinstance(context, TraceContext):
                context = None
        record.trace_id = context.trace_id if context else ""
        record.span_id = context.span_id if context else ""
        return True


# --------------------------------------------------------------------------- logging

JSON_LOG_FIELDS = ("levelname", "name", "message", "trace_id", "span_id")


class TextFormatter(logging.Formatter):
    """Plain lines in which a message cannot start a line of its own: CR and LF in it
    (a task title, a username) are written as \\r and \\n. Tracebacks stay multi-line."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = record.message.replace("\r", "\\r").replace("\n", "\\n")
        return super().formatMessage(record)


class JsonFormatter(_BaseJsonFormatter):
    """One JSON object per line: timestamp, level, logger, message, trace_id, span_id.

    Extra attributes passed with ``logger.info(..., extra={...})`` are included too.
    Trace ids come from the record (set by TraceContextFilter) or, when the handler
    has no filter, straight from the context variable.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if not args and "fmt" not in kwargs:
            kwargs["fmt"] = list(JSON_LOG_FIELDS)
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", True)
        super().__init__(*args, **kwargs)

    def add_fields(
        self,
        log_data: dict[str, Any],
        record: logging.LogRecord,
        message_dict: dict[str, Any],
    ) -> None:
        if not hasattr(record, "trace_id"):
            TraceContextFilter().filter(record)
        super().add_fields(log_data, record, message_dict)


def json_formatter_factory(**kwargs: Any) -> JsonFormatter:
    """Factory usable as ``{"()": "todo_project.observability.json_formatter_factory"}``."""
    return JsonFormatter(**kwargs)
