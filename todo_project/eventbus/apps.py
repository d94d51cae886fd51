from django.apps import AppConfig


class EventBusConfig(AppConfig):
    name = "todo_project.eventbus"
    label = "eventbus"
    verbose_name = "Event bus"
