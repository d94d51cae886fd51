from __future__ import annotations

from django import template

from notifications.webpush import vapid_keys

register = template.Library()


@register.simple_tag
def webpush_public_key() -> str:
    """The VAPID public key browsers subscribe with; "" when web push is off."""
    keys = vapid_keys()
    return keys.public_key if keys else ""
