from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "realtime"
    verbose_name = "Live updates"

    def ready(self) -> None:
        from todo_project.eventbus.registry import register_handlers

        from . import handlers, revocation

        register_handlers(handlers.HANDLERS)
        revocation.connect()
