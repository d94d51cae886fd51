from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from todo_project.accounts.models import User

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo"


class Command(BaseCommand):
    help = "Create the demo account demo/demo (embedded mode only) and print how to use it."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.EVENT_BACKEND != "local" or not settings.DEBUG:
            raise CommandError("The demo account exists only in embedded mode with DEBUG on.")
        user, created = User.objects.get_or_create(
            username=DEMO_USERNAME,
            defaults={"is_staff": True, "is_superuser": True, "email": "demo@localhost"},
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo account: username '{DEMO_USERNAME}', password '{DEMO_PASSWORD}' "
                "(also an admin at /admin/)."
            )
        )
