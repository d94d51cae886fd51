"""The webhook settings pages: endpoints, their secret (shown once), the test event and
the delivery log. Plain forms that work without JavaScript; with htmx the test button
and the log refresh in place."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from todo_project.views import chrome

from . import webhook_selectors, webhooks
from .webhook_forms import WebhookEndpointEditForm, WebhookEndpointForm
from .webhook_models import WebhookDelivery, WebhookEndpoint

LIST_TEMPLATE = "notifications/webhooks.html"
DETAIL_TEMPLATE = "notifications/webhooks_detail.html"
LOG_SIZE = 50
#: Session slot for a secret just made: the page after the redirect shows it, once.
NEW_SECRET = "webhook_new_secret"


def _endpoint(request: HttpRequest, endpoint_id: int) -> WebhookEndpoint:
    try:
        return webhook_selectors.webhook_endpoint_get(user=request.user, endpoint_id=endpoint_id)  # type: ignore[arg-type]
    except WebhookEndpoint.DoesNotExist:
        raise Http404("No such webhook.") from None


def _log_context(endpoint: WebhookEndpoint) -> dict[str, Any]:
    deliveries = list(webhook_selectors.webhook_delivery_log(endpoint=endpoint)[:LOG_SIZE])
    return {
        "endpoint": endpoint,
        "deliveries": deliveries,
        "log_pending": any(d.status == WebhookDelivery.Status.PENDING for d in deliveries),
    }


def _detail(
    request: HttpRequest,
    endpoint: WebhookEndpoint,
    form: WebhookEndpointEditForm | None = None,
    *,
    status: int = 200,
) -> HttpResponse:
    form = form or WebhookEndpointEditForm(
        initial={
            "url": endpoint.url,
            "description": endpoint.description,
            "events": endpoint.events,
            "enabled": endpoint.is_enabled,
        }
    )
    shown = request.session.get(NEW_SECRET)
    secret = ""
    if isinstance(shown, dict) and shown.get("endpoint") == endpoint.pk:
        secret = str(shown["secret"])
        del request.session[NEW_SECRET]
    context = {
        "form": form,
        "new_secret": secret,
        "nav": "settings",
        **_log_context(endpoint),
        **chrome(request),
    }
    return render(request, DETAIL_TEMPLATE, context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def webhook_list(request: HttpRequest) -> HttpResponse:
    form = WebhookEndpointForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        try:
            endpoint = webhooks.webhook_endpoint_create(
                user=request.user,  # type: ignore[arg-type]
                url=form.cleaned_data["url"],
                events=form.cleaned_data["events"],
                description=form.cleaned_data["description"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return _show_secret_once(request, endpoint)
    context = {
        "form": form,
        "endpoints": list(webhook_selectors.webhook_endpoint_list(user=request.user)),  # type: ignore[arg-type]
        "nav": "settings",
        **chrome(request),
    }
    status = 422 if form.is_bound and form.errors else 200
    return render(request, LIST_TEMPLATE, context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def webhook_detail(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    if request.method == "GET":
        return _detail(request, endpoint)
    form = WebhookEndpointEditForm(request.POST)
    if form.is_valid():
        try:
            webhooks.webhook_endpoint_update(endpoint=endpoint, data=form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Webhook saved.")
            return redirect("notifications:webhook_detail", endpoint_id=endpoint.pk)
    return _detail(request, endpoint, form, status=422)


@login_required
@require_POST
def webhook_test(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    try:
        webhooks.webhook_send_test(endpoint=endpoint)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if request.htmx:  # type: ignore[attr-defined]
            return _log_response(request, endpoint)
        messages.success(request, "Test event queued: its delivery shows in the log below.")
    return redirect("notifications:webhook_detail", endpoint_id=endpoint.pk)


@login_required
@require_GET
def webhook_log(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    """The log alone (htmx: after the test button, and refreshed while one is pending)."""
    return _log_response(request, _endpoint(request, endpoint_id))


def _log_response(request: HttpRequest, endpoint: WebhookEndpoint) -> HttpResponse:
    return render(request, f"{DETAIL_TEMPLATE}#delivery-log", _log_context(endpoint))


@login_required
@require_POST
def webhook_rotate(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = webhooks.webhook_secret_rotate(endpoint=_endpoint(request, endpoint_id))
    return _show_secret_once(request, endpoint)


def _show_secret_once(request: HttpRequest, endpoint: WebhookEndpoint) -> HttpResponse:
    """Redirect to the endpoint's page, which shows the new secret this once (kept in the
    server-side session until then, so a reload neither repeats the POST nor shows it)."""
    request.session[NEW_SECRET] = {"endpoint": endpoint.pk, "secret": endpoint.secret}
    return redirect("notifications:webhook_detail", endpoint_id=endpoint.pk)


@login_required
@require_POST
def webhook_delete(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    webhooks.webhook_endpoint_delete(endpoint=endpoint)
    messages.success(request, f"Webhook {endpoint.url} deleted.")
    return redirect("notifications:webhooks")
