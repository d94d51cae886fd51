from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from py_vapid import Vapid, b64urlencode

from notifications.webpush import public_key_text


class Command(BaseCommand):
    help = (
        "Generate a VAPID key pair for web push and print it as environment settings "
        "(WEBPUSH_VAPID_PRIVATE_KEY, WEBPUSH_VAPID_PUBLIC_KEY). Keep the private key "
        "secret; changing it invalidates every browser's subscription."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        vapid = Vapid()
        vapid.generate_keys()
        private = vapid.private_key.private_numbers().private_value.to_bytes(32, "big")
        self.stdout.write(f"WEBPUSH_VAPID_PRIVATE_KEY={b64urlencode(private)}")
        self.stdout.write(f"WEBPUSH_VAPID_PUBLIC_KEY={public_key_text(vapid.public_key)}")
