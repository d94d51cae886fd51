"""Where a changed task goes in one tab's view of the list, for the live pushes (the
WebSocket consumer, once per open tab) and for the quick-add response (the tab that added
it).

A tab's view is its list query: the FilterSet's parameters, the sort and the page, as the
page's canonical query string (`#task-results[data-view]`). The rule:

- The view is evaluated in the database when the change arrives: one query for the ids of
  the tab's page, in the view's order, with the view's bounded total
  (selectors.task_page_ids; the tag filter resolves tag names first, as on the page).
  Whatever the FilterSet's parameters mean (search, status, due ranges, views added
  later), the page and the push agree, because both ask the FilterSet.
- The task is "where the view would have it" when its id is among those of the tab's
  page: it is inserted or replaced there, at its position in the view's order. A task that
  belongs to an earlier or later page of the view, or to no page, is not shown; a row the
  tab shows that is no longer on its page leaves it, and a task that moved up into the page
  from the next one comes in (read from the database: the only second query, and only then).
  One exception, on the page: a row this very tab just completed, reopened or edited in
  place stays (updated) until the tab's list is next loaded, so a click can be undone where
  it was made; every other tab lets it go at once.
- The heading ("N tasks", "showing a-b") and the pagination are re-rendered from the
  same total, so they stay right on every page.
- A later page that became empty asks the tab to reload its view (which then shows the
  last page).

The row of the changed task is rendered from the event's snapshot (version N shows version
N), and the page keeps the newest version of each row, so a late or repeated push changes
nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.template.loader import render_to_string
from django.urls import reverse

from todo_project.accounts.models import User

from . import selectors
from .filters import ListStatus
from .presenters import LIST_PAGE_SIZE, LIST_TEMPLATE, TaskRow, page_info, page_number_of

#: The longest view a tab may declare (a query string).
MAX_VIEW_LENGTH = 4000


@dataclass(frozen=True)
class ListView:
    """One tab's list query: `query` as the page wrote it, parsed."""

    query: str
    params: QueryDict

    @classmethod
    def from_query(cls, query: str) -> ListView | None:
        if len(query) > MAX_VIEW_LENGTH:
            return None
        return cls(query=query, params=QueryDict(query))

    @classmethod
    def from_url(cls, url: str) -> ListView | None:
        """The view of a list page's address (HX-Current-URL), None for another page."""
        parts = urlsplit(url or "")
        if parts.path != reverse("tasks:list"):
            return None
        return cls.from_query(parts.query)

    @property
    def page_number(self) -> int:
        return page_number_of(self.params)


@dataclass(frozen=True)
class ViewUpdate:
    """What one tab's view now shows around a change."""

    view: ListView
    order: list[int]
    rows: list[TaskRow] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    refresh: bool = False

    def shows(self, task_id: int) -> bool:
        return task_id in self.order


def view_update(
    *,
    user: User,
    view: ListView,
    row: TaskRow,
    shown: Collection[int] | None = None,
    deleted: bool = False,
    tag_colours: Mapping[str, str] | None = None,
) -> ViewUpdate:
    """Where the changed task (`row`, from its event's snapshot or the task itself) goes
    in `view`, and which other rows must come in.

    `shown` are the ids the tab shows now (None: all of its page but this task, as for the
    response to the tab's own quick add); `deleted` says the task is gone; `tag_colours`
    colour the chips of rows that come in (read once per event by the push handler)."""
    filters = selectors.task_filterset(
        user=user, params=view.params, default_status=ListStatus.PENDING
    )
    page_number = view.page_number
    try:
        page = selectors.task_page_ids(
            filters=filters, limit=LIST_PAGE_SIZE, offset=(page_number - 1) * LIST_PAGE_SIZE
        )
    except ValidationError:
        return ViewUpdate(view=view, order=[])  # the page shows the errors, and no task
    task_id = row.id
    known = set(page.ids) - {task_id} if shown is None else set(shown)
    rows: list[TaskRow] = []
    if not deleted and (task_id in page.ids or task_id in known):
        # Also when it leaves the page: the tab that changed it keeps its row a while
        # (app.js), and shows it as it is now.
        rows.append(row)
    arriving = [pk for pk in page.ids if pk not in known and pk != task_id]
    if arriving:
        rows += [
            TaskRow.from_task(task, tag_colours=tag_colours)
            for task in selectors.tasks_with_tag_names(user=user, ids=arriving)
        ]
    info = page_info(
        params=view.params,
        count=page.total,
        page_number=page_number,
        page_size=LIST_PAGE_SIZE,
        shown=len(page.ids),
    )
    return ViewUpdate(
        view=view,
        order=page.ids,
        rows=rows,
        info=info,
        refresh=not page.ids and page_number > 1,
    )


def view_context(update: ViewUpdate) -> dict[str, Any]:
    """The context of the `live-view` partial of the list template."""
    return {
        **update.info,
        "view_query": update.view.query,
        "order": ",".join(str(pk) for pk in update.order),
        "live_rows": update.rows,
        "refresh": update.refresh,
    }


def render_view_update(update: ViewUpdate) -> str:
    """The fragment the page applies to its list (static/app/app.js: applyLiveView)."""
    return render_to_string(f"{LIST_TEMPLATE}#live-view", view_context(update))
