"""The JSON API: one NinjaAPI, one router per app, JSON errors that name the field."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import pydantic_core
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.renderers import JSONRenderer
from ninja.responses import NinjaJSONEncoder

from notifications.api import router as notifications_router
from notifications.webhook_api import router as webhooks_router
from notifications.webpush_api import router as webpush_router
from tasks.api import router as tasks_router
from tasks.services import VersionConflict
from todo_project.accounts.api import JWTAuth
from todo_project.accounts.api import router as accounts_router
from todo_project.accounts.middleware import too_many
from todo_project.accounts.throttle import RateLimited


class FastJSONRenderer(JSONRenderer):
    """JSON written by pydantic-core (Rust) instead of the json module: a task list page
    renders several times faster. Date-times keep their microseconds (RFC 3339, "Z" for
    UTC); anything pydantic-core does not know goes through ninja's encoder."""

    _fallback = NinjaJSONEncoder().default

    def render(self, request: HttpRequest, data: Any, *, response_status: int) -> bytes:
        return pydantic_core.to_json(data, fallback=self._fallback)


api = NinjaAPI(
    title="Todo API",
    version="1.0.0",
    description=(
        "Tasks, tags and notifications. Get a token from `POST /api/auth/token`, then send "
        "`Authorization: Bearer <access>`."
    ),
    auth=JWTAuth(),
    renderer=FastJSONRenderer(),
    urls_namespace="api",
    # No deep links: Swagger UI puts each one, a link, inside its operation's toggle button
    # (a control in a control, which screen readers cannot reach).
    docs=Swagger(settings={"deepLinking": False}),
)


UNKNOWN_PARAMETER = "Unknown query parameter."
View = Callable[..., HttpResponse]


def refuse_unknown_query_parameters(run: View) -> View:
    """A query parameter the operation does not declare is a 422 that names it, like an
    unknown body field: a typo (`?stauts=done`) must not silently list everything.

    A ninja "view" decorator: it wraps each operation's run, which is bound to the
    operation, so the declared names come from the operation's own query model.
    """
    operation = run.__self__  # type: ignore[attr-defined]
    declared = frozenset(
        name
        for model in operation.models
        if model.__ninja_param_source__ == "query"
        for name in model.__ninja_flatten_map__
    )

    @functools.wraps(run)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        unknown = sorted(set(request.GET) - declared)
        if unknown:
            detail = [
                {"loc": ["query", name], "msg": UNKNOWN_PARAMETER, "type": "extra_forbidden"}
                for name in unknown
            ]
            return api.create_response(request, {"detail": detail}, status=422)
        return run(request, *args, **kwargs)

    return checked


api.add_decorator(refuse_unknown_query_parameters, mode="view")
api.add_router("", accounts_router)
api.add_router("", tasks_router)
api.add_router("", notifications_router)
api.add_router("", webpush_router)
api.add_router("", webhooks_router)


def _validation_detail(exc: ValidationError, location: str) -> list[dict[str, object]]:
    if hasattr(exc, "error_dict"):
        return [
            {"loc": [location, field], "msg": message, "type": "value_error"}
            for field, messages in exc.message_dict.items()
            for message in messages
        ]
    return [{"loc": [location], "msg": message, "type": "value_error"} for message in exc.messages]


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    location = "query" if request.method == "GET" else "body"
    return api.create_response(request, {"detail": _validation_detail(exc, location)}, status=422)


def _location(loc: list[str | int]) -> list[str | int]:
    """ninja puts the body parameter's own name after "body" (["body", "body", "title"]);
    the API names the field as the business rules do: ["body", "title"]."""
    if len(loc) >= 2 and loc[0] == "body" and loc[1] in BODY_PARAMETERS:
        return [loc[0], *loc[2:]]
    return loc


#: The name every endpoint gives its JSON body parameter.
BODY_PARAMETERS = {"body", "credentials"}


@api.exception_handler(NinjaValidationError)
def on_schema_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    detail = [
        {
            "loc": _location(list(error.get("loc", []))),
            "msg": error.get("msg", ""),
            "type": error.get("type"),
        }
        for error in exc.errors
    ]
    return api.create_response(request, {"detail": detail}, status=422)


@api.exception_handler(ObjectDoesNotExist)
def on_not_found(request: HttpRequest, exc: ObjectDoesNotExist) -> HttpResponse:
    return api.create_response(request, {"detail": "Not found."}, status=404)


@api.exception_handler(AuthenticationError)
def on_auth_failed(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    message = exc.message if exc.message != "Unauthorized" else "Missing or invalid token."
    response = api.create_response(request, {"detail": message}, status=401)
    response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


@api.exception_handler(RateLimited)
def on_rate_limited(request: HttpRequest, exc: RateLimited) -> HttpResponse:
    # ninja catches the refusal before the throttle's middleware could: the same answer.
    return too_many(request, exc)


@api.exception_handler(VersionConflict)
def on_version_conflict(request: HttpRequest, exc: VersionConflict) -> HttpResponse:
    message = f"The task changed meanwhile: it is at version {exc.current}. Read it again."
    response = api.create_response(request, {"detail": message}, status=412)
    response["ETag"] = f'"{exc.current}"'
    return response
