"""Writes to a user's tags: rename, merge, delete, colour.

A tag's name is stored once (Tag.name), so a rename changes every task that carries it at
once; each of those tasks then gets a version bump and a TaskUpdated event with
`changed_fields: ["tags"]` through the outbox, so history, webhooks and open tabs see the
change. One transaction for the tag and all the events (never a change without its
events); inside it the tasks are locked, bumped and written out in batches of
TAG_EVENT_BATCH, so a tag on 10,000 tasks never holds 10,000 rows in memory or in one
statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .events import TASK_UPDATED, emit_task_events, task_event
from .models import Tag, TagColour, Task
from .selectors import with_tag_names, with_tag_names_loaded
from .services import clean_tags

#: Tasks locked, bumped and written out per statement.
TAG_EVENT_BATCH = 500

Through = Task.tags.through


class TagExists(Exception):
    """Renaming to the name of another of the user's tags: a merge, which must be asked for."""

    def __init__(self, existing: Tag) -> None:
        super().__init__(f"a tag named {existing.name!r} exists")
        self.existing = existing


@dataclass(frozen=True)
class TagChange:
    #: The tag as it is now (after a merge: the tag merged into).
    tag: Tag
    #: How many tasks changed (and got an event).
    tasks: int
    merged: bool = False


def clean_tag_name(value: object) -> str:
    """A tag name as task tags are cleaned (trimmed, 1-50 characters); errors on `name`."""
    try:
        return clean_tags([value])[0]
    except ValidationError as exc:
        raise ValidationError({"name": exc.message_dict["tags"]}) from None


def clean_colour(value: object) -> str:
    colour = str(value or "")
    if colour not in TagColour.values:
        names = ", ".join(c for c in TagColour.values if c)
        raise ValidationError({"colour": f"Colour must be one of {names} (or empty)."})
    return colour


def _tagged_ids(tag: Tag) -> list[int]:
    return list(
        Through.objects.filter(tag_id=tag.pk).order_by("task_id").values_list("task_id", flat=True)
    )


def _batches(ids: Sequence[int]) -> list[Sequence[int]]:
    return [ids[start : start + TAG_EVENT_BATCH] for start in range(0, len(ids), TAG_EVENT_BATCH)]


def _lock(ids: Sequence[int]) -> None:
    """Lock the tasks (in id order, as every batch does, so two tag changes cannot deadlock):
    a task change running meanwhile waits, and its snapshot then has the new tags."""
    for batch in _batches(ids):
        list(Task.objects.select_for_update().filter(pk__in=batch).order_by("pk").values("pk"))


def _announce(ids: Sequence[int]) -> None:
    """Bump the tasks' versions and write their TaskUpdated events, a batch at a time."""
    now = timezone.now()
    for batch in _batches(ids):
        Task.objects.filter(pk__in=batch).update(version=F("version") + 1, updated_at=now)
        tasks = with_tag_names_loaded(
            list(with_tag_names(Task.objects.filter(pk__in=batch).defer("search_document")))
        )
        emit_task_events(
            task_event(TASK_UPDATED, task, changed_fields=["tags"], tags=task.tag_names)
            for task in tasks
        )


def _named(user_id: int, name: str, *, besides: Tag) -> Tag | None:
    """The user's other tag with this name, case ignored (as tasks' tags compare)."""
    key = name.casefold()
    for tag in Tag.objects.filter(user_id=user_id).exclude(pk=besides.pk):
        if tag.name.casefold() == key:
            return tag
    return None


def tag_rename(*, tag: Tag, name: str, merge: bool = False) -> TagChange:
    """Rename `tag`. A name another of the user's tags has is a merge into that tag:
    TagExists unless `merge`. A change of case only is a rename."""
    new_name = clean_tag_name(name)
    with transaction.atomic():
        locked = Tag.objects.select_for_update(no_key=True).get(pk=tag.pk)
        other = _named(locked.user_id, new_name, besides=locked)
        if other is not None:
            if not merge:
                raise TagExists(other)
            return _merge(locked, other)
        if locked.name == new_name:
            return TagChange(tag=locked, tasks=0)
        ids = _tagged_ids(locked)
        _lock(ids)
        locked.name = new_name
        locked.save(update_fields=["name"])
        _announce(ids)
    return TagChange(tag=locked, tasks=len(ids))


def tag_merge(*, source: Tag, target: Tag) -> TagChange:
    """Move `source`'s tasks to `target` and delete `source`."""
    if source.user_id != target.user_id:
        raise ValidationError({"name": "Tags of different users cannot be merged."})
    if source.pk == target.pk:
        return TagChange(tag=target, tasks=0)
    with transaction.atomic():
        return _merge(source, target)


def _merge(source: Tag, target: Tag) -> TagChange:
    ids = _tagged_ids(source)
    _lock(ids)
    target = Tag.objects.select_for_update().get(pk=target.pk)
    for batch in _batches(ids):
        both = Through.objects.filter(tag_id=target.pk, task_id__in=batch).values("task_id")
        Through.objects.filter(tag_id=source.pk, task_id__in=both).delete()
        Through.objects.filter(tag_id=source.pk, task_id__in=batch).update(tag_id=target.pk)
    if not target.colour and source.colour:
        target.colour = source.colour
        target.save(update_fields=["colour"])
    Tag.objects.filter(pk=source.pk).delete()
    _announce(ids)
    return TagChange(tag=target, tasks=len(ids), merged=True)


def tag_delete(*, tag: Tag) -> int:
    """Take the tag off its tasks (they stay) and delete it; returns how many tasks changed."""
    with transaction.atomic():
        ids = _tagged_ids(tag)
        _lock(ids)
        for batch in _batches(ids):
            Through.objects.filter(tag_id=tag.pk, task_id__in=batch).delete()
        Tag.objects.filter(pk=tag.pk).delete()
        _announce(ids)
    return len(ids)


def tag_set_colour(*, tag: Tag, colour: str) -> Tag:
    """The chip's colour. The tasks do not change: no task event (pages show it on load)."""
    tag.colour = clean_colour(colour)
    tag.save(update_fields=["colour"])
    return tag


def tag_update(
    *, tag: Tag, name: str | None = None, colour: str | None = None, merge: bool = False
) -> TagChange:
    """A rename (or merge) and a colour at once, as the tags page and the API send them."""
    if colour is not None:
        clean_colour(colour)
    with transaction.atomic():
        change = TagChange(tag=tag, tasks=0)
        if name is not None:
            change = tag_rename(tag=tag, name=name, merge=merge)
        if colour is not None and (colour != change.tag.colour) and not change.merged:
            tag_set_colour(tag=change.tag, colour=colour)
        return change
