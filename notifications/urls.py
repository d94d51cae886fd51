from django.urls import path

from . import views, webpush_views

app_name = "notifications"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("<int:notification_id>/read/", views.mark_read, name="mark_read"),
    path("read-all/", views.mark_all_read, name="mark_all_read"),
    path("push/sw.js", webpush_views.service_worker, name="push_sw"),
    path("push/subscribe/", webpush_views.subscribe, name="push_subscribe"),
    path("push/unsubscribe/", webpush_views.unsubscribe, name="push_unsubscribe"),
]
