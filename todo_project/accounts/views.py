"""Sign up, log in (rate-limited), log out and account settings."""

from __future__ import annotations

import hashlib
from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_http_methods

from todo_project.views import chrome

from .forms import AccountSettingsForm, LoginForm, SignupForm

#: Failed sign-ins allowed per username and client address within the window.
LOGIN_MAX_FAILURES = 5
LOGIN_WINDOW_SECONDS = 5 * 60


class LoginThrottle:
    """Counts failed sign-ins per (username, client address) in the cache.

    The window starts at the first failure and is not extended by later ones, so a
    locked-out person knows when to retry. Keyed on both so that a stranger hammering
    your username from elsewhere cannot lock you out, and one address cannot try many
    passwords for one account. REMOTE_ADDR, not X-Forwarded-For, which clients forge.
    """

    def __init__(self, request: HttpRequest, username: str) -> None:
        address = request.META.get("REMOTE_ADDR", "")
        digest = hashlib.sha256(f"{username.strip().casefold()}|{address}".encode()).hexdigest()
        self.key = f"login-failures:{digest}"

    def blocked(self) -> bool:
        return int(cache.get(self.key, 0)) >= LOGIN_MAX_FAILURES

    def record_failure(self) -> None:
        if not cache.add(self.key, 1, LOGIN_WINDOW_SECONDS):
            try:
                cache.incr(self.key)
            except ValueError:  # expired between add() and incr()
                cache.add(self.key, 1, LOGIN_WINDOW_SECONDS)

    def reset(self) -> None:
        cache.delete(self.key)


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    redirect_authenticated_user = True

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        if self.request.method == "POST":
            username = str(self.request.POST.get("username", ""))
            kwargs["throttle"] = LoginThrottle(self.request, username)
        return kwargs

    def form_valid(self, form: LoginForm) -> HttpResponse:  # type: ignore[override]
        if form.throttle is not None:
            form.throttle.reset()  # type: ignore[attr-defined]
        return super().form_valid(form)

    def form_invalid(self, form: LoginForm) -> HttpResponse:  # type: ignore[override]
        response = super().form_invalid(form)
        response.status_code = 429 if form.throttled else 200
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("account_settings")

    def form_valid(self, form: Any) -> HttpResponse:
        messages.success(self.request, "Password changed.")
        return super().form_valid(form)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "nav": "settings", **chrome(self.request)}


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("tasks:list")
    form = SignupForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome, {user.get_username()}! Add your first task below.")
        return redirect("tasks:list")
    status = 422 if form.is_bound and form.errors else 200
    return render(request, "registration/signup.html", {"form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def account_settings(request: HttpRequest) -> HttpResponse:
    data = request.POST if request.method == "POST" else None
    form = AccountSettingsForm(data, instance=request.user)
    if form.is_bound and form.is_valid():
        form.save()
        messages.success(request, "Settings saved.")
        return redirect("account_settings")
    status = 422 if form.is_bound and form.errors else 200
    context = {"form": form, "nav": "settings", **chrome(request)}
    return render(request, "accounts/settings.html", context, status=status)
