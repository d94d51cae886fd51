from django.apps import AppConfig


class TasksConfig(AppConfig):
    name = "tasks"
    verbose_name = "Tasks"

    def ready(self) -> None:
        from todo_project.eventbus.registry import register_handlers

        from . import handlers

        register_handlers(handlers.HANDLERS)
