from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from todo_project import health, observability, views
from todo_project.api import api
from todo_project.eventbus import views as eventbus_views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", observability.metrics_view, name="metrics"),
    path("job/<str:name>", eventbus_views.job_trigger, name="dapr-job"),
]
