from django.urls import path

from . import calendar_views, tag_views, undo_views, views

app_name = "tasks"

urlpatterns = [
    path("", views.task_list, name="list"),
    path("new/", views.task_create, name="create"),
    path("quick-add/", views.task_quick_add, name="quick_add"),
    path("quick-add/parse/", views.quick_add_parse, name="quick_add_parse"),
    path("tags/", tag_views.tag_list, name="tags"),
    path("tags/<int:tag_id>/", tag_views.tag_update, name="tag_update"),
    path("tags/<int:tag_id>/delete/", tag_views.tag_delete, name="tag_delete"),
    path("recurrence-preview/", views.recurrence_preview, name="recurrence_preview"),
    path("<int:task_id>/edit/", views.task_edit, name="edit"),
    path("<int:task_id>/complete/", views.task_complete, name="complete"),
    path("<int:task_id>/reopen/", views.task_reopen, name="reopen"),
    path("<int:task_id>/delete/", views.task_delete, name="delete"),
    path("<int:task_id>/history/", views.task_history, name="history"),
    path("calendar/<slug:token>.ics", calendar_views.calendar_feed, name="calendar_feed"),
    path("calendar/reset/", calendar_views.calendar_feed_reset_view, name="calendar_feed_reset"),
    path("calendar/off/", calendar_views.calendar_feed_delete_view, name="calendar_feed_delete"),
    path("<int:task_id>/undo-complete/", undo_views.task_undo_complete, name="undo_complete"),
    path("<int:task_id>/restore/", undo_views.task_restore, name="restore"),
]
