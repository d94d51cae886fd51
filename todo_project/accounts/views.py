"""Sign up, log in (rate-limited: throttle.py), log out and account settings."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_http_methods, require_POST

from todo_project.views import chrome

from .forms import AccountSettingsForm, LoginForm, SignupForm
from .models import User


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    redirect_authenticated_user = True

    def form_invalid(self, form: LoginForm) -> HttpResponse:  # type: ignore[override]
        response = super().form_invalid(form)
        if form.refused is not None:
            response.status_code = 429
            response["Retry-After"] = str(form.refused.retry_after)
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
        login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
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
        user = form.save()
        if {"morning_hour", "timezone"} & set(form.changed_data):
            from tasks.services import task_reminders_follow_morning

            task_reminders_follow_morning(user=user)
        messages.success(request, "Settings saved.")
        return redirect("account_settings")
    status = 422 if form.is_bound and form.errors else 200
    context = {"form": form, "nav": "settings", **chrome(request)}
    return render(request, "accounts/settings.html", context, status=status)


@login_required
@require_POST
def sign_out_everywhere(request: HttpRequest) -> HttpResponse:
    """End every session, API token and WebSocket of the user, this session included."""
    user = request.user
    assert isinstance(user, User)
    user.revoke_sign_ins()
    logout(request)
    messages.success(request, "You are signed out everywhere.")
    return redirect("login")
