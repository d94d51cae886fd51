from django.apps import AppConfig


class TasksConfig(AppConfig):
    name = "tasks"
    verbose_name = "Tasks"

    def ready(self) -> None:
        from todo_project.eventbus import registry

        from . import handlers, reminders

        registry.register_handlers(handlers.HANDLERS)
        # Embedded reminders: a scheduler beside the local bus. Dapr reminders: one job per
        # task, whose triggers (and the catch-up after a worker restart) come here.
        registry.register_local_loop("reminder-scheduler", reminders.ReminderScheduler)
        registry.register_job_route(
            registry.JobRoute(
                prefix=reminders.JOB_PREFIX,
                trigger=reminders.handle_job_trigger,
                catch_up=reminders.fire_missed_reminders,
            )
        )
