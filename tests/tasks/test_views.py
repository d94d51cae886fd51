from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tasks import services
from tasks.models import ActivityEntry, Priority, Task
from tests.tasks.test_forms import form_data
from todo_project.eventbus.publishers import LocalBus
from todo_project.eventbus.relay import drain

pytestmark = pytest.mark.django_db

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
HTMX = {"HX-Request": "true"}


def make(user, title="Task", **data):
    return services.task_create(user=user, data={"title": title, **data})


@pytest.fixture
def client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


class TestHome:
    def test_anonymous_sees_the_landing_page(self, db):
        response = Client().get("/")
        assert response.status_code == 200
        assert b"Create an account" in response.content

    def test_signed_in_user_goes_to_the_task_list(self, client):
        response = client.get("/")
        assert response.status_code == 302
        assert response["Location"] == reverse("tasks:list")


class TestList:
    url = reverse("tasks:list")

    def test_requires_login(self, db):
        response = Client().get(self.url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))

    def test_shows_pending_tasks_by_default(self, client, user):
        make(user, "Open one")
        done = make(user, "Done one")
        services.task_complete(task=done)
        body = client.get(self.url).content.decode()
        assert "Open one" in body
        assert "Done one" not in body
        assert 'id="open-count"' in body

    def test_status_all_shows_completed_tasks_marked_done(self, client, user):
        done = make(user, "Done one")
        services.task_complete(task=done)
        body = client.get(self.url, {"status": "all"}).content.decode()
        assert f'id="task-{done.pk}"' in body
        assert "is-done" in body
        assert 'data-version="2"' in body

    def test_only_the_users_own_tasks(self, client, user, other_user):
        make(other_user, "Bob's secret")
        make(user, "Mine")
        body = client.get(self.url).content.decode()
        assert "Mine" in body
        assert "Bob&#x27;s secret" not in body and "Bob's secret" not in body

    def test_a_task_with_a_description_carries_a_labelled_mark(self, client, user):
        noted = make(user, "Noted", description="Bring the receipt")
        plain = make(user, "Plain")
        body = client.get(self.url).content.decode()
        rows = {
            task.pk: body.split(f'id="task-{task.pk}"')[1].split("</li>")[0]
            for task in (noted, plain)
        }
        assert ">Has a description<" in rows[noted.pk]
        assert "Has a description" not in rows[plain.pk]

    def test_titles_are_escaped(self, client, user):
        make(user, "<script>alert(1)</script>")
        body = client.get(self.url).content.decode()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
        assert "<script>alert(1)</script>" not in body

    def test_filters_by_priority_tag_and_search(self, client, user):
        make(user, "Quarterly report", priority="high", tags=["work"])
        make(user, "Buy milk", priority="low", tags=["home"])
        make(user, "Report bug", priority="low", tags=["work"])
        body = client.get(self.url, {"priority": "high"}).content.decode()
        assert "Quarterly report" in body and "Buy milk" not in body
        body = client.get(self.url, {"tag": "work"}).content.decode()
        assert "Report bug" in body and "Buy milk" not in body
        body = client.get(self.url, {"search": "report"}).content.decode()
        assert "Quarterly report" in body and "Report bug" in body and "Buy milk" not in body

    def test_a_priority_sort_is_most_urgent_first_unless_asked_ascending(self, client, user):
        make(user, "Low", priority="low")
        make(user, "Urgent", priority="urgent")
        for query in ({"sort_by": "priority"}, {"sort_by": "priority", "order": "desc"}):
            body = client.get(self.url, query).content.decode()
            assert body.index(">Urgent<") < body.index(">Low<"), query
        body = client.get(self.url, {"sort_by": "priority", "order": "asc"}).content.decode()
        assert body.index(">Low<") < body.index(">Urgent<")

    def test_due_and_overdue_are_shown_in_the_users_zone(self, client, user):
        past = timezone.now() - timedelta(days=3)
        make(user, "Late", due_date=past)
        body = client.get(self.url).content.decode()
        local = past.astimezone(BERLIN)
        assert "is-overdue" in body
        assert "Overdue" in body
        assert f"{local:%H:%M}" in body
        assert f'datetime="{local.isoformat()}"' in body

    def test_filter_bar_reflects_the_query(self, client, user):
        make(user, "x", tags=["home"])
        body = client.get(
            self.url, {"search": "milk", "priority": "high", "tag": "home", "overdue": "true"}
        ).content.decode()
        assert 'value="milk"' in body
        assert 'name="priority" value="high" checked' in body
        assert 'name="tag" value="home" checked' in body
        assert 'name="overdue" value="true" checked' in body
        assert "more-filters" in body and "open>" in body

    def test_invalid_filter_shows_the_error(self, client, user):
        make(user, "x")
        response = client.get(self.url, {"due_after": "not-a-date"})
        assert response.status_code == 200
        assert "Due after:" in response.content.decode()

    def test_paginates(self, client, user):
        for i in range(30):
            make(user, f"T{i:02d}")
        first = client.get(self.url).content.decode()
        assert "30 tasks" in first and "showing 1\u201325" in first
        assert 'href="/tasks/?page=2"' in first
        second = client.get(self.url, {"page": "2"}).content.decode()
        assert second.count('class="task ') == 5
        assert 'href="/tasks/"' in second  # previous page: the canonical first page

    def test_a_page_past_the_end_redirects_to_the_last_page(self, client, user):
        for i in range(30):
            make(user, f"T{i:02d}")
        response = client.get(self.url, {"page": "999", "search": "T"})
        assert response.status_code == 302 and response["Location"] == "/tasks/?search=T&page=2"
        body = client.get(response["Location"]).content.decode()
        assert "30 tasks" in body and "showing 26\u201330" in body and "Page 2 of 2" in body

    def test_an_htmx_request_past_the_end_gets_the_last_page_at_its_address(self, client, user):
        for i in range(30):
            make(user, f"T{i:02d}")
        response = client.get(self.url, {"page": "999"}, headers=HTMX)
        body = response.content.decode()
        assert "showing 26\u201330" in body and "Page 2 of 2" in body
        assert body.count('class="task ') == 5
        assert response["HX-Push-Url"] == "/tasks/?page=2"

    def test_a_page_past_the_end_of_nothing_is_the_empty_first_page(self, client, user):
        response = client.get(self.url, {"page": "7"})
        assert response.status_code == 302 and response["Location"] == "/tasks/"

    def test_htmx_request_gets_the_results_partial_and_a_canonical_url(self, client, user):
        make(user, "Buy milk", priority="high")
        response = client.get(
            self.url,
            {"search": "milk", "status": "pending", "order": "asc", "sort_by": "", "tag": ""},
            headers={**HTMX, "HX-Trigger": "filters"},
        )
        body = response.content.decode()
        assert response.status_code == 200
        assert body.lstrip().startswith('<section id="task-results"')
        assert "<html" not in body
        assert 'id="filters"' not in body  # the bar sent it; it is already right
        assert response["HX-Push-Url"] == "/tasks/?search=milk"

    def test_htmx_request_for_the_view_already_shown_replaces_the_history_entry(self, client, user):
        response = client.get(
            self.url,
            {"search": "milk", "status": "pending"},
            headers={**HTMX, "HX-Current-URL": "http://testserver/tasks/?search=milk"},
        )
        assert response["HX-Replace-Url"] == "/tasks/?search=milk"
        assert "HX-Push-Url" not in response

    def test_htmx_request_from_a_link_also_refreshes_the_filter_bar(self, client, user):
        make(user, "x", tags=["home"])
        body = client.get(self.url, {"tag": "home"}, headers=HTMX).content.decode()
        assert 'id="filters"' in body and 'hx-swap-oob="true"' in body
        assert 'name="tag" value="home" checked' in body

    def test_history_restore_gets_the_whole_page(self, client, user):
        response = client.get(self.url, headers={**HTMX, "HX-History-Restore-Request": "true"})
        assert b"<html" in response.content

    def test_the_results_name_their_view_for_the_live_pushes(self, client, user):
        assert b'data-view=""' in client.get(self.url).content
        body = client.get(self.url, {"status": "completed", "order": "asc"}).content
        assert b'data-view="status=completed"' in body


class TestQuickAdd:
    url = reverse("tasks:quick_add")

    def test_without_javascript_creates_and_redirects_back(self, client, user):
        response = client.post(
            self.url, {"title": "Buy milk #home #errands !high"}, HTTP_REFERER="/tasks/?tag=x"
        )
        assert response.status_code == 302
        assert response["Location"] == "/tasks/?tag=x"
        task = Task.objects.get(user=user)
        assert task.title == "Buy milk"
        assert task.priority == Priority.HIGH
        assert sorted(task.tag_names) == ["errands", "home"]

    def test_foreign_referer_is_not_followed(self, client, user):
        response = client.post(self.url, {"title": "x"}, HTTP_REFERER="https://evil.example/")
        assert response["Location"] == reverse("tasks:list")

    def test_htmx_gets_the_new_row_and_the_count(self, client, user):
        response = client.post(self.url, {"title": "<b>bold</b>"}, headers=HTMX)
        assert response.status_code == 201
        body = response.content.decode()
        task = Task.objects.get(user=user)
        assert f'id="task-{task.pk}"' in body
        assert "&lt;b&gt;bold&lt;/b&gt;" in body
        assert 'id="open-count" class="count" hx-swap-oob="true">1<' in body

    def htmx_from(self, view: str) -> dict[str, str]:
        return {**HTMX, "HX-Current-URL": f"http://testserver/tasks/{view}"}

    def test_htmx_from_the_open_list_gets_the_row_where_the_view_has_it(self, client, user):
        older = make(user, "Older", due_date=datetime(2030, 1, 1, tzinfo=UTC))
        response = client.post(
            self.url, {"title": "Sooner"}, headers=self.htmx_from("?sort_by=title")
        )
        assert response.status_code == 201 and response["HX-Reswap"] == "none"
        body = response.content.decode()
        task = Task.objects.get(title="Sooner")
        assert 'data-live-view="sort_by=title"' in body
        assert f'data-order="{older.pk},{task.pk}"' in body
        assert f'<li id="task-{task.pk}"' in body and f'<li id="task-{older.pk}"' not in body
        assert "2 tasks" in body
        assert 'id="open-count" class="count" hx-swap-oob="true">2<' in body

    @pytest.mark.parametrize("view", ["?status=completed", "?search=milk", "?page=2"])
    def test_htmx_from_a_view_without_it_gets_a_toast_with_a_link(self, client, user, view):
        response = client.post(self.url, {"title": "Bread <b>"}, headers=self.htmx_from(view))
        assert response.status_code == 201 and response["HX-Reswap"] == "none"
        body = response.content.decode()
        task = Task.objects.get(user=user)
        assert "<li " not in body and "live-view" not in body
        assert "Added: Bread &lt;b&gt;" in body
        assert f'href="{reverse("tasks:edit", args=[task.pk])}">Open task</a>' in body
        assert 'id="open-count" class="count" hx-swap-oob="true">1<' in body

    def test_empty_title_is_a_form_error(self, client, user):
        response = client.post(self.url, {"title": "   "}, headers=HTMX)
        assert response.status_code == 422
        assert response["HX-Retarget"] == "#quick-add"
        assert response["HX-Reswap"] == "outerHTML"
        assert b"quick-add-error" in response.content
        assert not Task.objects.exists()

    def test_empty_title_without_javascript_renders_the_page(self, client, user):
        response = client.post(self.url, {"title": ""})
        assert response.status_code == 422
        assert b"quick-add-error" in response.content and b"<html" in response.content

    def test_too_long_title_reports_the_service_error(self, client, user):
        response = client.post(self.url, {"title": "x" * 201}, headers=HTMX)
        assert response.status_code == 422
        assert b"at most 200 characters" in response.content

    def test_shorthand_only_is_a_form_error(self, client, user):
        response = client.post(self.url, {"title": "!urgent"}, headers=HTMX)
        assert response.status_code == 422
        assert b"Type a title as well as the tags, priority or date." in response.content
        assert not Task.objects.exists()

    def test_reads_the_due_date_and_repeat_in_the_users_zone(self, client, user):
        response = client.post(self.url, {"title": "Standup every weekday at 9:30"})
        assert response.status_code == 302
        task = Task.objects.get(user=user)
        assert task.title == "Standup"
        assert task.recurrence == "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"
        local = task.due_date.astimezone(BERLIN)
        assert (local.hour, local.minute, local.weekday() < 5) == (9, 30, True)
        assert local > timezone.now()

    def test_keep_leaves_the_phrase_in_the_title(self, client, user):
        client.post(self.url, {"title": "Call mom tomorrow", "keep": ["tomorrow"]})
        task = Task.objects.get(user=user)
        assert (task.title, task.due_date) == ("Call mom tomorrow", None)

    def test_literal_keeps_every_date_as_text(self, client, user):
        client.post(self.url, {"title": "Dentist next Monday at 10", "literal": "1"})
        task = Task.objects.get(user=user)
        assert (task.title, task.due_date) == ("Dentist next Monday at 10", None)

    def test_an_uncertain_phrase_is_applied_only_when_accepted(self, client, user):
        client.post(self.url, {"title": "The 5th Wave"})
        client.post(self.url, {"title": "Pay the 5th", "accept": ["the 5th"]})
        wave, pay = Task.objects.filter(user=user).order_by("id")
        assert (wave.title, wave.due_date) == ("The 5th Wave", None)
        assert pay.title == "Pay"
        assert pay.due_date.astimezone(BERLIN).day == 5

    def test_a_wall_time_that_happens_twice_asks_which(self, client, user):
        text = "Night shift 31 Oct 2027 at 2:30"
        response = client.post(self.url, {"title": text}, headers=HTMX)
        assert response.status_code == 422
        body = response.content.decode()
        assert "02:30 happens twice on 31 October 2027 in Europe/Berlin" in body
        assert 'name="fold" value="0"' in body and "02:30 CEST (the first)" in body
        assert 'name="fold" value="1"' in body and "02:30 CET (the second)" in body
        assert not Task.objects.exists()
        client.post(self.url, {"title": text, "fold": "1"})
        due = Task.objects.get(user=user).due_date
        assert due == datetime(2027, 10, 31, 1, 30, tzinfo=zoneinfo.ZoneInfo("UTC"))

    def test_a_wall_time_that_does_not_exist_is_a_form_error(self, client, user):
        response = client.post(self.url, {"title": "Call 29 March 2026 at 2:30"}, headers=HTMX)
        assert response.status_code == 422
        assert b"02:30 does not exist on 29 March 2026 in Europe/Berlin" in response.content
        assert not Task.objects.exists()

    def test_the_page_loads_the_highlight_script(self, client, user):
        body = client.get(reverse("tasks:list")).content.decode()
        assert 'src="/static/app/quickadd.js"' in body
        assert f'data-parse-url="{reverse("tasks:quick_add_parse")}"' in body


class TestQuickAddParse:
    url = reverse("tasks:quick_add_parse")

    def test_requires_login(self, db):
        assert Client().get(self.url, {"title": "x"}).status_code == 302

    def test_returns_the_recognised_phrases_and_fields(self, client, user):
        data = client.get(self.url, {"title": "Call mom tomorrow 5pm #home"}).json()
        assert [(s["text"], s["kind"], s["applied"]) for s in data["spans"]] == [
            ("tomorrow", "date", True),
            ("5pm", "time", True),
            ("#home", "tag", True),
        ]
        assert data["spans"][0]["start"] == len("Call mom ")
        assert data["title"] == "Call mom"
        assert data["due_label"] == "Tomorrow 17:00"
        assert data["tags"] == ["home"]
        assert data["errors"] == []

    def test_offsets_count_utf16_units_as_javascript_does(self, client, user):
        data = client.get(self.url, {"title": "🎉 Party tomorrow"}).json()
        assert data["spans"][0]["start"] == len("🎉 Party ".encode("utf-16-le")) // 2

    def test_offsets_count_from_the_line_as_typed(self, client, user):
        data = client.get(self.url, {"title": "  Call tomorrow "}).json()
        assert (data["spans"][0]["start"], data["spans"][0]["end"]) == (7, 15)

    def test_offsets_stay_right_when_the_line_is_refused(self, client, user):
        data = client.get(self.url, {"title": "Shift 31 Oct 2027 at 2:30"}).json()
        assert [(s["start"], s["end"]) for s in data["spans"]] == [(6, 17), (18, 25)]
        assert [c["label"] for c in data["fold_choices"]] == [
            "02:30 CEST (the first)",
            "02:30 CET (the second)",
        ]

    def test_offers_an_uncertain_phrase_without_applying_it(self, client, user):
        data = client.get(self.url, {"title": "The 5th Wave"}).json()
        assert [(s["text"], s["confident"], s["applied"]) for s in data["spans"]] == [
            ("The 5th", False, False)
        ]
        assert (data["title"], data["due"]) == ("The 5th Wave", None)

    def test_summarises_the_repeat(self, client, user):
        data = client.get(self.url, {"title": "Review every 3rd Friday"}).json()
        assert data["recurrence"] == "FREQ=MONTHLY;BYDAY=3FR"
        assert data["recurrence_summary"] == "Monthly on the third Friday"

    def test_reports_a_lone_priority(self, client, user):
        data = client.get(self.url, {"title": "!urgent"}).json()
        assert data["errors"] == ["Type a title as well as the tags, priority or date."]

    def test_an_empty_line_has_no_phrases(self, client, user):
        data = client.get(self.url, {"title": ""}).json()
        assert data["spans"] == []

    def test_csrf_is_enforced(self, user):
        client = Client(enforce_csrf_checks=True)
        client.force_login(user)
        assert client.post(self.url, {"title": "x"}).status_code == 403


class TestCreate:
    url = reverse("tasks:create")

    def test_form_page(self, client):
        response = client.get(self.url)
        assert response.status_code == 200
        body = response.content.decode()
        assert 'type="datetime-local"' in body
        assert 'id="recurrence-editor"' in body
        assert "Europe/Berlin" in body

    def test_creates_with_due_date_in_the_users_zone(self, client, user):
        response = client.post(
            self.url,
            form_data(
                title="Dentist",
                description="Bring card",
                priority="urgent",
                tags="health, errands, Health",
                due_date="2030-03-04T09:30",
            ),
        )
        assert response.status_code == 302, response.content
        task = Task.objects.get(user=user)
        assert task.due_date == datetime(2030, 3, 4, 9, 30, tzinfo=BERLIN)
        assert task.priority == Priority.URGENT
        assert sorted(task.tag_names) == ["errands", "health"]
        assert task.description == "Bring card"

    def test_weekly_recurrence_and_reminder_before(self, client, user):
        client.post(
            self.url,
            form_data(
                due_date="2030-03-04T09:30",
                recurrence_preset="weekly",
                recurrence_weekdays=["MO", "WE"],
                recurrence_end="count",
                recurrence_count="10",
                reminder="before",
                reminder_amount="2",
                reminder_unit="hours",
            ),
        )
        task = Task.objects.get(user=user)
        assert task.recurrence == "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10"
        assert task.reminder_offset_minutes == 120
        assert task.reminder_at == datetime(2030, 3, 4, 7, 30, tzinfo=BERLIN)

    @pytest.mark.parametrize(
        ("fields", "rule"),
        [
            ({"recurrence_preset": "daily", "recurrence_interval": "3"}, "FREQ=DAILY;INTERVAL=3"),
            ({"recurrence_preset": "weekdays"}, "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"),
            ({"recurrence_preset": "weekly"}, "FREQ=WEEKLY;BYDAY=MO"),  # the due date's day
            ({"recurrence_preset": "monthly_day"}, "FREQ=MONTHLY;BYMONTHDAY=4"),
            (
                {"recurrence_preset": "monthly_day", "recurrence_monthday": "-1"},
                "FREQ=MONTHLY;BYMONTHDAY=-1",
            ),
            ({"recurrence_preset": "monthly_nth"}, "FREQ=MONTHLY;BYDAY=1MO"),
            (
                {
                    "recurrence_preset": "monthly_nth",
                    "recurrence_nth": "-1",
                    "recurrence_nth_weekday": "FR",
                },
                "FREQ=MONTHLY;BYDAY=-1FR",
            ),
            (
                {
                    "recurrence_preset": "yearly",
                    "recurrence_end": "until",
                    "recurrence_until": "2035-01-01",
                },
                "FREQ=YEARLY;UNTIL=20350101",
            ),
            (
                {"recurrence_preset": "custom", "recurrence_custom": "rrule:freq=daily;count=3"},
                "FREQ=DAILY;COUNT=3",
            ),
        ],
    )
    def test_recurrence_presets(self, client, user, fields, rule):
        response = client.post(self.url, form_data(due_date="2030-03-04T09:30", **fields))
        assert response.status_code == 302, response.content.decode()
        assert Task.objects.get(user=user).recurrence == rule

    def test_reminder_at_a_time(self, client, user):
        client.post(
            self.url,
            form_data(due_date="2030-03-04T09:30", reminder="at", reminder_at="2030-03-03T20:00"),
        )
        task = Task.objects.get(user=user)
        assert task.reminder_at == datetime(2030, 3, 3, 20, 0, tzinfo=BERLIN)
        assert task.reminder_offset_minutes is None

    def test_missing_title_is_an_error(self, client, user):
        response = client.post(self.url, form_data(title=""))
        assert response.status_code == 422
        assert b"error-summary" in response.content
        assert not Task.objects.exists()

    def test_service_errors_land_on_the_fields(self, client, user):
        response = client.post(
            self.url,
            form_data(recurrence_preset="custom", recurrence_custom="FREQ=HOURLY"),
        )
        assert response.status_code == 422
        form = response.context["form"]
        assert "FREQ=HOURLY is not supported" in form.errors["recurrence_custom"][0]

    def test_repeating_without_a_due_date(self, client, user):
        response = client.post(self.url, form_data(recurrence_preset="daily"))
        assert response.status_code == 422
        assert "needs a due date" in response.context["form"].errors["recurrence_preset"][0]

    def test_reminder_before_without_due_date(self, client, user):
        response = client.post(
            self.url, form_data(reminder="before", reminder_amount="10", reminder_unit="minutes")
        )
        assert response.status_code == 422
        assert "needs a due date" in response.context["form"].errors["reminder_amount"][0]

    def test_reminder_at_needs_a_time(self, client, user):
        response = client.post(self.url, form_data(reminder="at"))
        assert response.status_code == 422
        assert "reminder_at" in response.context["form"].errors

    def test_nonexistent_local_time_is_an_error(self, client, user):
        # 02:30 on the spring-forward night does not exist in Berlin.
        response = client.post(self.url, form_data(due_date="2030-03-31T02:30"))
        assert response.status_code == 422
        assert "due_date" in response.context["form"].errors

    def test_a_nonexistent_time_says_the_clocks_skip_it(self, client, user):
        response = client.post(self.url, form_data(due_date="2030-03-31T02:30"))
        assert "(the clocks skip it)" in response.context["form"].errors["due_date"][0]
        assert b'name="due_date_fold"' not in response.content

    def test_a_time_that_happens_twice_asks_which(self, client, user):
        response = client.post(self.url, form_data(due_date="2027-10-31T02:30"))
        assert response.status_code == 422
        body = response.content.decode()
        assert "02:30 happens twice on 31 October 2027 in Europe/Berlin: choose which." in body
        assert 'type="radio" name="due_date_fold" value="0"> 02:30 CEST (the first)' in body
        assert 'type="radio" name="due_date_fold" value="1"> 02:30 CET (the second)' in body
        assert not Task.objects.exists()

    @pytest.mark.parametrize(("fold", "offset_hours"), [("0", 2), ("1", 1)])
    def test_the_answer_picks_the_instant(self, client, user, fold, offset_hours):
        response = client.post(self.url, form_data(due_date="2027-10-31T02:30", due_date_fold=fold))
        assert response.status_code == 302
        due = Task.objects.get(user=user).due_date
        assert due == datetime(2027, 10, 31, 2, 30, tzinfo=UTC) - timedelta(hours=offset_hours)

    def test_an_answer_rides_along_when_the_form_comes_back(self, client, user):
        response = client.post(
            self.url,
            form_data(
                title="",
                due_date="2027-10-31T02:30",
                reminder="at",
                reminder_at="2027-10-31T02:30",
                due_date_fold="1",
            ),
        )
        body = response.content.decode()
        assert '<input type="hidden" name="due_date_fold" value="1">' in body
        assert 'name="reminder_at_fold" value="0"' in body  # the reminder still asks

    def test_too_many_tags(self, client, user):
        tags = ", ".join(f"t{i}" for i in range(21))
        response = client.post(self.url, form_data(tags=tags))
        assert response.status_code == 422
        assert "at most 20 tags" in response.context["form"].errors["tags"][0]


class TestEdit:
    def test_a_repeated_time_left_as_it_was_keeps_its_instant(self, client, user):
        later = datetime(2027, 10, 31, 1, 30, tzinfo=UTC)  # 02:30 CET, the second one
        task = make(user, "Late", due_date=later)
        response = client.post(
            reverse("tasks:edit", args=[task.pk]),
            form_data(title="Late", due_date="2027-10-31T02:30"),
        )
        assert response.status_code == 302
        task.refresh_from_db()
        assert task.due_date == later and task.title == "Late"

    def test_shows_the_task(self, client, user):
        task = make(
            user,
            "Standup",
            due_date=datetime(2030, 3, 4, 9, 30, tzinfo=BERLIN),
            recurrence="FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
            reminder_offset_minutes=15,
            tags=["work"],
        )
        response = client.get(reverse("tasks:edit", args=[task.pk]))
        body = response.content.decode()
        assert 'name="due_date" value="2030-03-04"' in body
        assert 'name="due_date_time" value="09:30"' in body
        assert '<option value="weekdays" selected>' in body
        assert 'value="before"' in body and "checked" in body
        assert 'value="15"' in body
        assert "Weekly on weekdays" in body or "weekday" in body  # the preview summary

    def test_updates_the_task(self, client, user):
        task = make(user, "Old", tags=["a"])
        response = client.post(
            reverse("tasks:edit", args=[task.pk]),
            form_data(title="New", tags="b", priority="high"),
        )
        assert response.status_code == 302
        task.refresh_from_db()
        assert task.title == "New"
        assert task.tag_names == ["b"]
        assert task.version == 2

    def test_clearing_the_reminder(self, client, user):
        due = datetime(2030, 3, 4, 9, 30, tzinfo=BERLIN)
        task = make(user, "x", due_date=due, reminder_offset_minutes=30)
        client.post(
            reverse("tasks:edit", args=[task.pk]),
            form_data(title="x", due_date="2030-03-04T09:30", reminder="none"),
        )
        task.refresh_from_db()
        assert task.reminder_at is None and task.reminder_offset_minutes is None

    def test_unchanged_form_writes_nothing(self, client, user):
        task = make(user, "Same", due_date=datetime(2030, 3, 4, 9, 30, tzinfo=BERLIN))
        client.post(
            reverse("tasks:edit", args=[task.pk]),
            form_data(title="Same", due_date="2030-03-04T09:30"),
        )
        task.refresh_from_db()
        assert task.version == 1

    def test_validation_error_keeps_the_input(self, client, user):
        task = make(user, "x")
        response = client.post(reverse("tasks:edit", args=[task.pk]), form_data(title=""))
        assert response.status_code == 422
        task.refresh_from_db()
        assert task.title == "x"


class TestOtherUsersTask:
    @pytest.mark.parametrize(
        ("name", "method"),
        [
            ("tasks:edit", "get"),
            ("tasks:edit", "post"),
            ("tasks:complete", "post"),
            ("tasks:reopen", "post"),
            ("tasks:delete", "get"),
            ("tasks:delete", "post"),
            ("tasks:history", "get"),
        ],
    )
    def test_is_a_404(self, client, other_user, name, method):
        task = make(other_user, "Bob's")
        response = getattr(client, method)(reverse(name, args=[task.pk]))
        assert response.status_code == 404
        assert Task.objects.filter(pk=task.pk, completed=False).exists()


class TestCompleteAndReopen:
    def test_without_javascript_redirects_back(self, client, user):
        task = make(user, "x")
        response = client.post(reverse("tasks:complete", args=[task.pk]), HTTP_REFERER="/tasks/")
        assert response.status_code == 302
        task.refresh_from_db()
        assert task.completed

    def test_htmx_gets_the_row_with_its_new_version(self, client, user):
        task = make(user, "x")
        response = client.post(reverse("tasks:complete", args=[task.pk]), headers=HTMX)
        body = response.content.decode()
        assert f'id="task-{task.pk}"' in body
        assert 'data-version="2"' in body
        assert "is-done" in body
        assert reverse("tasks:reopen", args=[task.pk]) in body
        assert 'id="open-count" class="count" hx-swap-oob="true">0<' in body
        response = client.post(reverse("tasks:reopen", args=[task.pk]), headers=HTMX)
        assert 'data-version="3"' in response.content.decode()
        task.refresh_from_db()
        assert not task.completed

    def test_get_is_not_allowed(self, client, user):
        task = make(user, "x")
        assert client.get(reverse("tasks:complete", args=[task.pk])).status_code == 405


class TestDelete:
    def test_confirmation_page(self, client, user):
        task = make(user, "<i>x</i>")
        response = client.get(reverse("tasks:delete", args=[task.pk]))
        assert response.status_code == 200
        assert b"&lt;i&gt;x&lt;/i&gt;" in response.content
        assert Task.objects.filter(pk=task.pk).exists()

    def test_post_deletes_and_redirects(self, client, user):
        task = make(user, "x")
        response = client.post(reverse("tasks:delete", args=[task.pk]))
        assert response.status_code == 302
        assert response["Location"] == reverse("tasks:list")
        assert not Task.objects.filter(pk=task.pk).exists()

    def test_htmx_gets_an_out_of_band_removal(self, client, user):
        task = make(user, "x")
        response = client.post(reverse("tasks:delete", args=[task.pk]), headers=HTMX)
        body = response.content.decode()
        assert (
            f'<div id="task-{task.pk}" data-version="2" data-deleted hx-swap-oob="delete">' in body
        )
        assert "Deleted" in body

    def test_htmx_from_the_edit_page_redirects(self, client, user):
        task = make(user, "x")
        response = client.post(
            reverse("tasks:delete", args=[task.pk]), {"next": "/tasks/"}, headers=HTMX
        )
        assert response["HX-Redirect"] == "/tasks/"

    def test_foreign_next_is_ignored(self, client, user):
        task = make(user, "x")
        response = client.post(
            reverse("tasks:delete", args=[task.pk]), {"next": "https://evil.example/"}
        )
        assert response["Location"] == reverse("tasks:list")


class TestRecurrencePreview:
    url = reverse("tasks:recurrence_preview")

    def test_summary_and_next_dates(self, client):
        response = client.get(
            self.url,
            {
                "due_date": "2030-03-04T09:30",
                "recurrence_preset": "weekly",
                "recurrence_weekdays": ["MO", "WE"],
            },
        )
        body = response.content.decode()
        assert "Weekly on Monday and Wednesday" in body
        assert body.count("<li>") == 5
        assert "Mon 4 Mar 2030, 09:30" in body
        assert "Wed 6 Mar 2030, 09:30" in body

    def test_invalid_rule(self, client):
        body = client.get(
            self.url,
            {
                "due_date": "2030-03-04T09:30",
                "recurrence_preset": "custom",
                "recurrence_custom": "FREQ=HOURLY",
            },
        ).content.decode()
        assert "Cannot repeat" in body and "HOURLY" in body

    def test_needs_a_due_date(self, client):
        body = client.get(self.url, {"recurrence_preset": "daily"}).content.decode()
        assert "needs a due date" in body

    def test_no_repeat(self, client):
        assert b"Does not repeat" in client.get(self.url, {"recurrence_preset": "none"}).content

    def test_escapes_the_custom_text(self, client):
        body = client.get(
            self.url,
            {
                "due_date": "2030-03-04T09:30",
                "recurrence_preset": "custom",
                "recurrence_custom": "<script>",
            },
        ).content.decode()
        assert "<script>" not in body


class TestHistory:
    def test_lists_what_happened(self, client, user):
        task = make(user, "Draft", priority="low")
        services.task_update(task=task, data={"title": "Final", "priority": "urgent"})
        services.task_complete(task=task)
        drain(LocalBus())
        assert ActivityEntry.objects.filter(task_id=task.pk).count() == 3
        body = client.get(reverse("tasks:history", args=[task.pk])).content.decode()
        assert body.index("Completed") < body.index("Changed") < body.index("Created")
        assert "urgent" in body and "Final" in body


class TestAllDay:
    def test_the_form_saves_a_date_without_a_time_as_all_day(self, client, user):
        response = client.post(
            reverse("tasks:create"),
            form_data(title="Pay rent", due_date="2030-03-04", due_date_time=""),
        )
        assert response.status_code == 302, response.content
        task = Task.objects.get(title="Pay rent")
        assert (task.all_day, task.due_day) == (True, datetime(2030, 3, 4).date())

    def test_the_row_shows_the_day_without_a_time(self, client, user):
        tomorrow = timezone.localtime(timezone.now(), BERLIN).date() + timedelta(days=1)
        make(user, "Pay rent", due_date=tomorrow)
        body = client.get(reverse("tasks:list")).content.decode()
        assert f'<time datetime="{tomorrow:%Y-%m-%d}">Tomorrow</time>' in body
        assert "all day" in body

    def test_quick_add_without_a_time_adds_an_all_day_task(self, client, user):
        client.post(reverse("tasks:quick_add"), {"title": "buy milk tomorrow"})
        task = Task.objects.get(title="buy milk")
        tomorrow = timezone.localtime(timezone.now(), BERLIN).date() + timedelta(days=1)
        assert (task.all_day, task.due_day) == (True, tomorrow)

    def test_the_preview_of_an_all_day_series_shows_dates_only(self, client):
        body = client.get(
            reverse("tasks:recurrence_preview"),
            {"due_date": "2030-03-04", "recurrence_preset": "daily"},
        ).content.decode()
        assert "Mon 4 Mar 2030<" in body and "23:59" not in body


class TestPlanningViews:
    def local_today(self):
        return timezone.localtime(timezone.now(), BERLIN).date()

    def test_today_lists_overdue_and_due_today_with_its_title(self, client, user):
        make(user, "Late", due_date=timezone.now() - timedelta(days=2))
        make(user, "Rent", due_date=self.local_today())
        make(user, "Later", due_date=self.local_today() + timedelta(days=2))
        response = client.get(reverse("tasks:list"), {"view": "today"})
        body = response.content.decode()
        assert "<h1>Today</h1>" in body and "<title>Today · Todo</title>" in body
        assert "Late" in body and "Rent" in body and "Later" not in body
        assert (
            'aria-current="page"><svg class="icon" aria-hidden="true"><use href="#i-today"/>'
            in body
        )
        assert 'id="today-count" class="count">2<' in body
        assert 'id="upcoming-count" class="count">2<' in body
        assert 'name="view" value="today"' in body  # the filter bar keeps the view

    def test_upcoming_shows_seven_day_headings_with_their_tasks(self, client, user):
        today = self.local_today()
        make(user, "Dentist", due_date=today + timedelta(days=2))
        body = client.get(reverse("tasks:list"), {"view": "upcoming"}).content.decode()
        assert body.count('class="day-heading"') == 7
        assert f'id="day-{today:%Y-%m-%d}" class="day-heading">Today' in body
        tomorrow = today + timedelta(days=1)
        assert f'id="day-{tomorrow:%Y-%m-%d}" class="day-heading">Tomorrow' in body
        later = today + timedelta(days=2)
        section = body.split(f'id="day-{later:%Y-%m-%d}"')[1].split("</section>")[0]
        assert "Dentist" in section
        assert 'data-view="view=upcoming"' in body  # pushes follow the view (tasks.live)

    def test_an_empty_view_says_so(self, client, user):
        body = client.get(reverse("tasks:list"), {"view": "today"}).content.decode()
        assert "Nothing is due today or overdue." in body

    def test_completing_from_a_view_updates_the_view_counts(self, client, user):
        task = make(user, "Rent", due_date=self.local_today())
        response = client.post(reverse("tasks:complete", args=[task.pk]), headers=HTMX)
        body = response.content.decode()
        assert 'id="today-count" class="count" hx-swap-oob="true">0<' in body
        assert 'id="upcoming-count" class="count" hx-swap-oob="true">0<' in body

    def test_an_unknown_view_is_a_filter_error_not_a_500(self, client, user):
        response = client.get(reverse("tasks:list"), {"view": "someday"})
        assert response.status_code == 200
        assert "View:" in response.content.decode()
