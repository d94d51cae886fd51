"""The webhooks API: a user's endpoints, their secret (shown on create and rotate only),
the test event and the delivery log."""

from __future__ import annotations

from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import ConfigDict, Field, StrictBool

from todo_project.api_errors import AUTH_ERRORS, MAX_OFFSET, OBJECT_ERRORS, ErrorOut
from todo_project.api_types import NO_NUL, Instant

from . import webhook_selectors, webhooks
from .webhook_models import WebhookDelivery, WebhookEndpoint, WebhookEvent

router = Router(tags=["webhooks"])


class EndpointOut(Schema):
    id: int
    url: str
    description: str
    events: list[str]
    enabled: bool
    consecutive_failures: int
    disabled_at: Instant | None
    disabled_reason: str
    previous_secret_expires_at: Instant | None
    created_at: Instant

    @staticmethod
    def resolve_enabled(obj: WebhookEndpoint) -> bool:
        return obj.is_enabled


class EndpointWithSecretOut(EndpointOut):
    secret: str


#: The URL of a receiver: https (http too where operators allow private targets), on an
#: address that resolves to a public one (checked on registration and before each send).
TargetUrl = Annotated[
    str,
    Field(min_length=1, max_length=2000, pattern=r"^[Hh][Tt][Tt][Pp][Ss]?://[^\x00-\x20\x7f]+$"),
]
EventNames = Annotated[list[WebhookEvent], Field(min_length=1)]
Description = Annotated[str, Field(max_length=200, pattern=NO_NUL)]


class EndpointIn(Schema):
    model_config = ConfigDict(extra="forbid")

    url: TargetUrl
    events: EventNames
    description: Description = ""


class EndpointPatch(Schema):
    """The fields to change; `enabled: true` re-enables an endpoint that was disabled."""

    model_config = ConfigDict(extra="forbid")

    url: TargetUrl | None = None
    events: EventNames | None = None
    description: Description | None = None
    enabled: StrictBool | None = None


class AttemptOut(Schema):
    attempted_at: Instant
    status_code: int | None
    duration_ms: int
    error: str


class DeliveryOut(Schema):
    id: int
    event_id: str
    type: str
    status: str
    next_attempt_at: Instant | None
    created_at: Instant
    finished_at: Instant | None
    attempts: list[AttemptOut]

    @staticmethod
    def resolve_event_id(obj: WebhookDelivery) -> str:
        return str(obj.event_id)

    @staticmethod
    def resolve_type(obj: WebhookDelivery) -> str:
        return obj.event_type

    @staticmethod
    def resolve_attempts(obj: WebhookDelivery) -> list[Any]:
        return list(obj.attempts.all())


class DeliveryListOut(Schema):
    items: list[DeliveryOut]
    count: int
    limit: int
    offset: int


def _endpoint(request: HttpRequest, endpoint_id: int) -> WebhookEndpoint:
    return webhook_selectors.webhook_endpoint_get(user=request.user, endpoint_id=endpoint_id)  # type: ignore[arg-type]


@router.get("/webhooks", response={200: list[EndpointOut], **AUTH_ERRORS}, summary="Your webhooks")
def list_webhooks(request: HttpRequest) -> list[WebhookEndpoint]:
    return list(webhook_selectors.webhook_endpoint_list(user=request.user))  # type: ignore[arg-type]


@router.post(
    "/webhooks",
    response={201: EndpointWithSecretOut, 409: ErrorOut, **AUTH_ERRORS},
    summary="Register a webhook",
)
def create_webhook(request: HttpRequest, body: EndpointIn) -> Status[WebhookEndpoint]:
    """`events`: any of task.created, task.updated, task.completed, task.deleted,
    reminder.fired. The answer carries the signing `secret`: it is shown this once."""
    try:
        endpoint = webhooks.webhook_endpoint_create(
            user=request.user,  # type: ignore[arg-type]
            url=body.url,
            events=[str(event.value) for event in body.events],
            description=body.description,
        )
    except webhooks.EndpointLimitReached as exc:
        raise HttpError(409, exc.messages[0]) from None
    return Status(201, endpoint)


@router.get(
    "/webhooks/{endpoint_id}", response={200: EndpointOut, **OBJECT_ERRORS}, summary="A webhook"
)
def read_webhook(request: HttpRequest, endpoint_id: int) -> WebhookEndpoint:
    return _endpoint(request, endpoint_id)


@router.patch(
    "/webhooks/{endpoint_id}",
    response={200: EndpointOut, **OBJECT_ERRORS},
    summary="Change a webhook",
)
def patch_webhook(request: HttpRequest, endpoint_id: int, body: EndpointPatch) -> WebhookEndpoint:
    data = body.model_dump(mode="json", exclude_unset=True, exclude_none=True)
    return webhooks.webhook_endpoint_update(endpoint=_endpoint(request, endpoint_id), data=data)


@router.delete(
    "/webhooks/{endpoint_id}", response={204: None, **OBJECT_ERRORS}, summary="Delete a webhook"
)
def delete_webhook(request: HttpRequest, endpoint_id: int) -> Status[None]:
    webhooks.webhook_endpoint_delete(endpoint=_endpoint(request, endpoint_id))
    return Status(204, None)


@router.post(
    "/webhooks/{endpoint_id}/rotate-secret",
    response={200: EndpointWithSecretOut, **OBJECT_ERRORS},
    summary="Rotate the secret",
)
def rotate_webhook_secret(request: HttpRequest, endpoint_id: int) -> WebhookEndpoint:
    """A new secret, shown this once; the old one still signs until
    `previous_secret_expires_at`."""
    return webhooks.webhook_secret_rotate(endpoint=_endpoint(request, endpoint_id))


@router.post(
    "/webhooks/{endpoint_id}/test",
    response={202: DeliveryOut, **OBJECT_ERRORS},
    summary="Send a test event",
)
def test_webhook(request: HttpRequest, endpoint_id: int) -> Status[WebhookDelivery]:
    """Queues a `webhook.test` delivery; its outcome shows in the delivery log."""
    return Status(202, webhooks.webhook_send_test(endpoint=_endpoint(request, endpoint_id)))


@router.get(
    "/webhooks/{endpoint_id}/deliveries",
    response={200: DeliveryListOut, **OBJECT_ERRORS},
    summary="Delivery log",
)
def webhook_deliveries(
    request: HttpRequest,
    endpoint_id: int,
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> dict[str, object]:
    """Newest first, each with its attempts: status code (null: no answer), response time
    in milliseconds and the error."""
    log = webhook_selectors.webhook_delivery_log(endpoint=_endpoint(request, endpoint_id))
    return {
        "items": list(log[offset : offset + limit]),
        "count": log.count(),
        "limit": limit,
        "offset": offset,
    }
