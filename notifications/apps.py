from django.apps import AppConfig
from django.core import checks


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from todo_project.eventbus import registry

        from . import email, handlers, webhook_worker, webpush

        registry.register_handlers(handlers.HANDLERS)
        checks.register(webpush.check_vapid_settings)
        # Web push: sent beside the local bus, or retried by Dapr jobs in the worker.
        registry.register_local_loop("webpush-delivery", webpush.PushDeliveryLoop)
        registry.register_job_route(
            registry.JobRoute(
                prefix=webpush.JOB_PREFIX,
                trigger=webpush.handle_job_trigger,
                catch_up=webpush.catch_up,
            )
        )
        # Webhooks: a loop wherever the handlers run (beside the local bus, and in the
        # Dapr worker), polling its deliveries table.
        registry.register_worker_loop("webhook-delivery", webhook_worker.WebhookDeliveryLoop)
        # E-mail: the sender runs wherever the handlers run.
        registry.register_worker_loop("email-sender", email.EmailSender)
