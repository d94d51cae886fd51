"""Web push subscriptions over the API (the settings page uses notifications.webpush_views)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from todo_project.api_errors import AUTH_ERRORS, OBJECT_ERRORS, ErrorOut
from todo_project.api_types import Instant

from . import webpush
from .webpush_models import PushSubscription

router = Router(tags=["web push"])
OFF = {409: ErrorOut}
OFF_DETAIL = "Web push is not enabled on this server."


class PushKeyOut(Schema):
    enabled: bool
    #: The applicationServerKey to subscribe with (base64url), null when push is off.
    public_key: str | None


class SubscriptionKeys(Schema):
    p256dh: str = Field(..., max_length=200)
    auth: str = Field(..., max_length=100)


class SubscriptionIn(Schema):
    """A browser's PushSubscription.toJSON()."""

    endpoint: str = Field(..., max_length=2000)
    keys: SubscriptionKeys


class SubscriptionOut(Schema):
    id: int
    endpoint: str
    user_agent: str
    created_at: Instant
    last_success_at: Instant | None


@router.get("/push/key", response={200: PushKeyOut, **AUTH_ERRORS}, summary="VAPID public key")
def push_key(request: HttpRequest) -> dict[str, object]:
    keys = webpush.vapid_keys()
    return {"enabled": keys is not None, "public_key": keys.public_key if keys else None}


@router.get(
    "/push/subscriptions",
    response={200: list[SubscriptionOut], **AUTH_ERRORS},
    summary="Your push subscriptions",
)
def list_subscriptions(request: HttpRequest) -> list[PushSubscription]:
    return webpush.push_subscription_list(user=request.user)  # type: ignore[arg-type]


@router.post(
    "/push/subscriptions",
    response={201: SubscriptionOut, **AUTH_ERRORS, **OFF},
    summary="Subscribe a browser to push reminders",
)
def subscribe(request: HttpRequest, body: SubscriptionIn) -> Status[object]:
    if not webpush.push_enabled():
        return Status(409, {"detail": OFF_DETAIL})
    subscription = webpush.push_subscription_save(
        user=request.user,  # type: ignore[arg-type]
        endpoint=body.endpoint,
        p256dh=body.keys.p256dh,
        auth=body.keys.auth,
        user_agent=request.headers.get("User-Agent", ""),
    )
    return Status(201, subscription)


@router.delete(
    "/push/subscriptions/{subscription_id}",
    response={204: None, **OBJECT_ERRORS},
    summary="Remove a push subscription",
)
def unsubscribe(request: HttpRequest, subscription_id: int) -> Status[None]:
    subscription = webpush.push_subscription_get(
        user=request.user,  # type: ignore[arg-type]
        subscription_id=subscription_id,
    )
    subscription.delete()
    return Status(204, None)
