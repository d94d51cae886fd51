"""The demo account demo/demo of `make run`: only for a local embedded run on loopback.

`make run` passes its HOST. Bound to a loopback address, the account is created (or
enabled again) and printed; bound beyond loopback (HOST=0.0.0.0), anyone who reaches the
machine could sign in as this administrator, so an existing demo account is disabled
and the command says loudly what binding there means.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from todo_project.accounts.models import User

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Command(BaseCommand):
    help = "Create the demo account demo/demo (embedded mode on loopback only) and print it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="The address `make run` binds.")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.EVENT_BACKEND != "local" or not settings.DEBUG:
            raise CommandError("The demo account exists only in embedded mode with DEBUG on.")
        host = options["host"]
        if not is_loopback(host):
            disabled = User.objects.filter(username=DEMO_USERNAME, is_active=True).update(
                is_active=False
            )
            self.stderr.write(
                self.style.WARNING(
                    f"WARNING: serving on {host}, beyond this machine. Anyone who can reach it "
                    "can use the app, and DEBUG is on: error pages show code and settings "
                    "(credentials in them are masked). The demo account is "
                    f"{'now disabled' if disabled else 'not created'}; create your own "
                    "administrator with `.venv/bin/python manage.py createsuperuser`. For "
                    "anything shared, deploy with DEBUG=false (README, Deploy)."
                )
            )
            return
        user, created = User.objects.get_or_create(
            username=DEMO_USERNAME,
            defaults={"is_staff": True, "is_superuser": True, "email": "demo@localhost"},
        )
        if created or not user.is_active:
            user.is_active = True
            user.set_password(DEMO_PASSWORD)
            user.save()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo account: username '{DEMO_USERNAME}', password '{DEMO_PASSWORD}' "
                "(also an admin at /admin/)."
            )
        )
