from django.urls import path

from . import views, webhook_views, webpush_views

app_name = "notifications"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("<int:notification_id>/read/", views.mark_read, name="mark_read"),
    path("read-all/", views.mark_all_read, name="mark_all_read"),
    path("push/sw.js", webpush_views.service_worker, name="push_sw"),
    path("push/subscribe/", webpush_views.subscribe, name="push_subscribe"),
    path("push/unsubscribe/", webpush_views.unsubscribe, name="push_unsubscribe"),
    path("webhooks/", webhook_views.webhook_list, name="webhooks"),
    path("webhooks/<int:endpoint_id>/", webhook_views.webhook_detail, name="webhook_detail"),
    path("webhooks/<int:endpoint_id>/test/", webhook_views.webhook_test, name="webhook_test"),
    path("webhooks/<int:endpoint_id>/log/", webhook_views.webhook_log, name="webhook_log"),
    path("webhooks/<int:endpoint_id>/rotate/", webhook_views.webhook_rotate, name="webhook_rotate"),
    path("webhooks/<int:endpoint_id>/delete/", webhook_views.webhook_delete, name="webhook_delete"),
    path("<int:notification_id>/snooze/", views.snooze, name="snooze"),
]
