"""manage.py webpush_keys: a key pair that the settings accept."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command

from notifications import webpush


def test_prints_a_matching_key_pair_the_settings_accept(settings):
    out = StringIO()
    call_command("webpush_keys", stdout=out)
    values = dict(line.split("=", 1) for line in out.getvalue().splitlines())
    assert set(values) == {"WEBPUSH_VAPID_PRIVATE_KEY", "WEBPUSH_VAPID_PUBLIC_KEY"}
    settings.WEBPUSH_VAPID_PRIVATE_KEY = values["WEBPUSH_VAPID_PRIVATE_KEY"]
    settings.WEBPUSH_VAPID_PUBLIC_KEY = values["WEBPUSH_VAPID_PUBLIC_KEY"]
    settings.WEBPUSH_VAPID_SUBJECT = "mailto:ops@example.com"
    assert webpush.check_vapid_settings() == []
    keys = webpush.vapid_keys()
    assert keys is not None and keys.public_key == values["WEBPUSH_VAPID_PUBLIC_KEY"]


def test_every_run_makes_a_new_pair():
    first, second = StringIO(), StringIO()
    call_command("webpush_keys", stdout=first)
    call_command("webpush_keys", stdout=second)
    assert first.getvalue() != second.getvalue()
