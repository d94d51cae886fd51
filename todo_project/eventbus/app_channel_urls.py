"""The routes of the worker's Dapr app channel (WORKER_HOST:WORKER_PORT), and only those.

Job triggers are never served by the public web app: its URLconf has no `/job/` route.
"""

from __future__ import annotations

from django.urls import path

from todo_project import health, observability
from todo_project.eventbus import views

urlpatterns = [
    # Asked by daprd when the app channel opens: no programmatic subscriptions (the worker
    # subscribes by streaming) and no app-side configuration.
    path("dapr/subscribe", views.no_subscriptions, name="dapr-subscribe"),
    path("dapr/config", views.no_app_config, name="dapr-config"),
    path("job/<str:name>", views.job_trigger, name="dapr-job"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", observability.metrics_view, name="metrics"),
]
