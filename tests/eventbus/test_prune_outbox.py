from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from tasks import services
from todo_project.eventbus.models import OutboxMessage

pytestmark = pytest.mark.django_db


def test_prunes_only_old_published_rows(user):
    for title in ("old", "recent", "pending"):
        services.task_create(user=user, data={"title": title})
    long_ago = timezone.now() - timedelta(days=30)
    OutboxMessage.objects.filter(envelope__payload__title="old").update(published_at=long_ago)
    OutboxMessage.objects.filter(envelope__payload__title="recent").update(
        published_at=timezone.now()
    )
    OutboxMessage.objects.filter(envelope__payload__title="pending").update(created_at=long_ago)
    out = StringIO()
    call_command("prune_outbox", "--days", "7", stdout=out)
    left = sorted(r.envelope["payload"]["title"] for r in OutboxMessage.objects.all())
    assert left == ["pending", "pending", "recent", "recent"]
    assert "deleted 2 published outbox rows" in out.getvalue()
