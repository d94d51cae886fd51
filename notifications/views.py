"""The notification inbox. Its item partial is also what the live pusher inserts
(notifications.presenters)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import reswap

from todo_project.views import chrome

from . import selectors, services
from .models import Notification
from .presenters import INBOX_TEMPLATE, NotificationItem

PAGE_SIZE = 50


def _inbox_context(request: HttpRequest) -> dict[str, Any]:
    queryset = selectors.notification_list(user=request.user)  # type: ignore[arg-type]
    # get_page: a page that is no number, or past the last, shows the nearest real page.
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    return {
        "items": [NotificationItem.from_notification(n) for n in page.object_list],
        "total": page.paginator.count,
        "page_number": page.number,
        "has_prev": page.has_previous(),
        "has_next": page.has_next(),
        "nav": "inbox",
        **chrome(request),
    }


def _notification_or_404(request: HttpRequest, notification_id: int) -> Notification:
    try:
        return selectors.notification_get(
            user=request.user,  # type: ignore[arg-type]
            notification_id=notification_id,
        )
    except Notification.DoesNotExist:
        raise Http404("No such notification.") from None


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    return render(request, INBOX_TEMPLATE, _inbox_context(request))


@login_required
@require_POST
def mark_read(request: HttpRequest, notification_id: int) -> HttpResponse:
    notification = _notification_or_404(request, notification_id)
    notification = services.notification_mark_read(notification=notification)
    if request.htmx:  # type: ignore[attr-defined]
        context = {"item": NotificationItem.from_notification(notification), **chrome(request)}
        return render(request, f"{INBOX_TEMPLATE}#item-response", context)
    return redirect("notifications:inbox")


@login_required
@require_POST
def mark_all_read(request: HttpRequest) -> HttpResponse:
    marked = services.notification_mark_all_read(user=request.user)  # type: ignore[arg-type]
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, f"{INBOX_TEMPLATE}#inbox-list-response", _inbox_context(request))
    if marked:
        messages.success(request, f"Marked {marked} notification{'s' if marked != 1 else ''} read.")
    return redirect("notifications:inbox")


@login_required
@require_POST
def snooze(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Remind again in 10 minutes, in an hour or tomorrow morning (`snooze`), from the
    inbox or from the reminder's toast (`from=toast`); the notification is then read."""
    from tasks.presenters import when_label

    notification = _notification_or_404(request, notification_id)
    from_toast = request.POST.get("from") == "toast"
    try:
        notification, task = services.notification_snooze(
            notification=notification, choice=request.POST.get("snooze", "")
        )
    except ValidationError as exc:
        text = " ".join(exc.messages)
        if request.htmx:  # type: ignore[attr-defined]
            refused: dict[str, Any] = {"toast_kind": "error", "toast_text": text}
            response = render(request, f"{INBOX_TEMPLATE}#snooze-refused", refused, status=422)
            return reswap(response, "none")
        messages.error(request, text)
        return redirect(_back(request))
    text = f"Snoozed “{task.title}” until {when_label(task.reminder_at, timezone.now())}."
    if request.htmx:  # type: ignore[attr-defined]
        context = {
            "item": NotificationItem.from_notification(notification),
            "from_toast": from_toast,
            "toast_kind": "success",
            "toast_text": text,
            **chrome(request),
        }
        return render(request, f"{INBOX_TEMPLATE}#snooze-response", context)
    messages.success(request, text)
    return redirect(_back(request))


def _back(request: HttpRequest) -> str:
    """The page the form was on (a toast can be on any), else the inbox."""
    referer = request.META.get("HTTP_REFERER", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return referer
    return reverse("notifications:inbox")
