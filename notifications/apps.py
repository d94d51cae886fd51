from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from todo_project.eventbus.registry import register_handlers

        from . import handlers

        register_handlers(handlers.HANDLERS)
