from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from todo_project.eventbus.registry import register_handlers, register_worker_loop

        from . import email, handlers

        register_handlers(handlers.HANDLERS)
        register_worker_loop("email-sender", email.EmailSender)
