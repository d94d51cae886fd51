"""Forms of the browser UI. They parse what a person typed into the shape the services take;
the services still do all validation that matters, and their errors land on these fields."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from . import quickadd, walltime
from . import recurrence as rrules
from .models import DESCRIPTION_MAX_LENGTH, TITLE_MAX_LENGTH, Priority

PRIORITY_CHOICES = [(p.slug, p.slug.title()) for p in sorted(Priority, key=lambda p: -p.value)]

WEEKDAY_CODES = rrules.WEEKDAY_CODES
WEEKDAY_CHOICES = list(
    zip(WEEKDAY_CODES, ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"), strict=True)
)
#: BYDAY=MO,TU,WE,TH,FR as the parsed rule holds it.
WORKWEEK = tuple((day, 0) for day in range(5))
WEEKDAY_NAMES = dict(
    zip(
        WEEKDAY_CODES,
        ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
        strict=True,
    )
)

PRESET_NONE = "none"
PRESET_DAILY = "daily"
PRESET_WEEKDAYS = "weekdays"
PRESET_WEEKLY = "weekly"
PRESET_MONTHLY_DAY = "monthly_day"
PRESET_MONTHLY_NTH = "monthly_nth"
PRESET_YEARLY = "yearly"
PRESET_CUSTOM = "custom"
PRESET_CHOICES = [
    (PRESET_NONE, "Does not repeat"),
    (PRESET_DAILY, "Daily"),
    (PRESET_WEEKDAYS, "Every weekday (Mon to Fri)"),
    (PRESET_WEEKLY, "Weekly on chosen days"),
    (PRESET_MONTHLY_DAY, "Monthly on day N"),
    (PRESET_MONTHLY_NTH, "Monthly on the nth weekday"),
    (PRESET_YEARLY, "Yearly"),
    (PRESET_CUSTOM, "Custom rule (RRULE)"),
]
#: "" (first, so a form posted untouched sends it) repeats on the due date's day.
MONTHDAY_CHOICES = [
    ("", "Same day as the due date"),
    *((str(n), str(n)) for n in range(1, 32)),
    ("-1", "Last day of the month"),
]
NTH_CHOICES = [("1", "first"), ("2", "second"), ("3", "third"), ("4", "fourth"), ("-1", "last")]
END_CHOICES = [("never", "Never"), ("count", "After a number of times"), ("until", "On a date")]

REMINDER_NONE = "none"
REMINDER_AT = "at"
REMINDER_BEFORE = "before"
REMINDER_CHOICES = [
    (REMINDER_NONE, "No reminder"),
    (REMINDER_AT, "At a time"),
    (REMINDER_BEFORE, "Before the due date"),
]
UNIT_MINUTES = {"minutes": 1, "hours": 60, "days": 60 * 24}
UNIT_CHOICES = [("minutes", "minutes"), ("hours", "hours"), ("days", "days")]

DATETIME_LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
DATETIME_INPUT_FORMATS = [DATETIME_LOCAL_FORMAT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format=DATETIME_LOCAL_FORMAT)


class WallClockField:
    """A form field whose value is a wall-clock time in the current time zone (the
    signed-in user's, UserTimezoneMiddleware). A time that does not exist there is an
    error; one that happens twice is a question (`fold_choices`) until the form posts
    `<name>_fold`, or the value is the instant the field started from (an edit left as it
    was). bind_folds() tells the field both."""

    def init_folds(self) -> None:
        #: Set by the form: the answer posted, and the instant shown before the edit.
        self.fold: int | None = None
        self.shown: datetime | None = None
        #: After cleaning a repeated time without an answer: the answers to offer.
        self.fold_choices: list[tuple[int, str]] = []

    def wall_time(self, naive: datetime) -> datetime:
        zone = timezone.get_current_timezone()
        try:
            return walltime.resolve(naive, zone, self.fold)
        except walltime.WallTimeError as error:
            raise ValidationError(str(error), code="nonexistent") from None
        except walltime.AmbiguousWallTime as question:
            shown = self.shown
            if shown is not None and timezone.localtime(shown, zone).replace(tzinfo=None) == naive:
                return shown
            self.fold_choices = walltime.fold_labels(*question.instants)
            raise ValidationError(str(question), code="ambiguous") from None


class LocalDateTimeField(WallClockField, forms.DateTimeField):
    """A `datetime-local` value, read as a wall-clock time (WallClockField)."""

    widget = DateTimeLocalInput

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("input_formats", DATETIME_INPUT_FORMATS)
        super().__init__(**kwargs)
        self.init_folds()

    def to_python(self, value: Any) -> datetime | None:
        try:
            return super().to_python(value)
        except ValidationError as exc:
            if exc.code != "ambiguous_timezone":
                raise
            naive = exc.params["datetime"]  # type: ignore[index]
        return self.wall_time(naive)


def bind_folds(form: forms.Form) -> None:
    """Tell each WallClockField of a form which instant a repeated time means: the answer
    posted as `<name>_fold`, or the instant the field was showing."""
    for name, field in form.fields.items():
        if not isinstance(field, WallClockField):
            continue
        posted = form.data.get(f"{name}_fold") if form.is_bound else None
        field.fold = int(posted) if posted in ("0", "1") else None
        initial = form.initial.get(name)
        field.shown = initial if isinstance(initial, datetime) else None


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%H:%M")


class DueWidget(forms.MultiWidget):
    """A date input named like the field and an optional time input (`<name>_time`),
    each with its label."""

    template_name = "tasks/widgets/due.html"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__({"": DateInput(), "time": TimeInput()}, attrs)

    def decompress(self, value: Any) -> list[Any]:
        if isinstance(value, datetime):
            local = timezone.localtime(value)
            return [local.date(), local.time().replace(second=0, microsecond=0)]
        if isinstance(value, date):
            return [value, None]
        return [None, None]


class DueField(WallClockField, forms.MultiValueField):
    """A due date with an optional time: a date alone is an all-day task (a `date`), a
    date and a time are a wall-clock time in the user's zone (an aware `datetime`, asking
    which one a repeated time means: WallClockField). The date input also takes a whole
    `YYYY-MM-DDTHH:MM` (a client posting one value)."""

    widget = DueWidget
    default_error_messages = {
        "invalid_date": "Enter a valid date.",
        "invalid_time": "Enter a valid time.",
        "time_without_date": "Choose a date for this time.",
    }

    def __init__(self, **kwargs: Any) -> None:
        fields = (forms.CharField(required=False), forms.CharField(required=False))
        super().__init__(fields=fields, require_all_fields=False, **kwargs)
        self.init_folds()

    def compress(self, data_list: list[Any]) -> date | datetime | None:
        day_text, time_text = ([*data_list, "", ""])[:2]
        day_text, time_text = (day_text or "").strip(), (time_text or "").strip()
        if not day_text:
            if time_text:
                raise ValidationError(self.error_messages["time_without_date"], code="time")
            return None
        if "T" in day_text or " " in day_text:
            try:
                whole = datetime.fromisoformat(day_text)
            except ValueError:
                raise ValidationError(self.error_messages["invalid_date"], code="invalid") from None
            return whole if timezone.is_aware(whole) else self.wall_time(whole)
        try:
            day = date.fromisoformat(day_text)
        except ValueError:
            raise ValidationError(self.error_messages["invalid_date"], code="invalid") from None
        if not time_text:
            return day
        try:
            clock = time.fromisoformat(time_text)
        except ValueError:
            raise ValidationError(self.error_messages["invalid_time"], code="invalid") from None
        return self.wall_time(datetime.combine(day, clock))


def is_all_day(due: Any) -> bool:
    """A due value of the form without a time (a date)."""
    return isinstance(due, date) and not isinstance(due, datetime)


def split_tags(text: str) -> list[str]:
    """'home, errands,,  ' -> ['home', 'errands']; the service checks lengths and limits."""
    return [part.strip() for part in text.split(",") if part.strip()]


# --- recurrence -------------------------------------------------------------------------


class RecurrenceForm(forms.Form):
    """The due date and the recurrence editor: enough to build and preview a rule."""

    due_date = DueField(required=False, label="Due")
    recurrence_preset = forms.ChoiceField(
        choices=PRESET_CHOICES, initial=PRESET_NONE, required=False, label="Repeat"
    )
    recurrence_interval = forms.IntegerField(
        min_value=1, max_value=999, initial=1, required=False, label="Every"
    )
    recurrence_weekdays = forms.MultipleChoiceField(
        choices=WEEKDAY_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="On",
    )
    recurrence_monthday = forms.ChoiceField(
        choices=MONTHDAY_CHOICES, required=False, label="On day"
    )
    recurrence_nth = forms.ChoiceField(choices=NTH_CHOICES, required=False, label="On the")
    recurrence_nth_weekday = forms.ChoiceField(
        choices=[(code, WEEKDAY_NAMES[code]) for code in WEEKDAY_CODES],
        required=False,
        label="Weekday",
    )
    recurrence_end = forms.ChoiceField(
        choices=END_CHOICES, initial="never", required=False, label="Ends"
    )
    recurrence_count = forms.IntegerField(
        min_value=1, max_value=1000, required=False, label="Number of times"
    )
    recurrence_until = forms.DateField(
        required=False, widget=DateInput, label="Last date", input_formats=["%Y-%m-%d"]
    )
    recurrence_custom = forms.CharField(
        required=False,
        max_length=500,
        label="Rule",
        help_text="An RFC 5545 RRULE, e.g. FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bind_folds(self)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        try:
            cleaned["recurrence"] = build_rule(cleaned)
        except ValidationError as exc:
            for message in exc.messages:
                self.add_error(recurrence_error_field(cleaned), message)
        return cleaned


def recurrence_error_field(cleaned: dict[str, Any]) -> str:
    preset = cleaned.get("recurrence_preset") or PRESET_NONE
    return "recurrence_custom" if preset == PRESET_CUSTOM else "recurrence_preset"


def build_rule(cleaned: dict[str, Any]) -> str:
    """The RRULE text for the editor's choices ('' for a one-off task).

    Defaults come from the due date in the user's zone: 'monthly on day N' with no N
    repeats on the due date's day, 'weekly' with no day on the due date's weekday. The
    custom text is passed on as typed: the service checks and normalises it.
    """
    preset = cleaned.get("recurrence_preset") or PRESET_NONE
    if preset == PRESET_NONE:
        return ""
    if preset == PRESET_CUSTOM:
        text = (cleaned.get("recurrence_custom") or "").strip()
        if not text:
            raise ValidationError("Type a rule, e.g. FREQ=WEEKLY;BYDAY=MO,WE.")
        return text
    try:
        return _preset_rule(preset, cleaned).text
    except rrules.RecurrenceError as exc:
        raise ValidationError(str(exc)) from None


def _preset_rule(preset: str, cleaned: dict[str, Any]) -> rrules.Rule:
    due: date | datetime | None = cleaned.get("due_date")
    local_due: date | None = None
    if due is not None:
        local_due = due if is_all_day(due) else timezone.localtime(due)  # type: ignore[arg-type]
    parts: dict[str, Any] = {"interval": cleaned.get("recurrence_interval") or 1}
    if preset == PRESET_DAILY:
        freq = "DAILY"
    elif preset == PRESET_WEEKDAYS:
        freq = "WEEKLY"
        parts.update(interval=1, byday=WORKWEEK)
    elif preset == PRESET_WEEKLY:
        freq = "WEEKLY"
        chosen = cleaned.get("recurrence_weekdays") or []
        days = [WEEKDAY_CODES.index(code) for code in WEEKDAY_CODES if code in chosen]
        if not days and local_due is not None:
            days = [local_due.weekday()]
        parts["byday"] = tuple((day, 0) for day in days)
    elif preset == PRESET_MONTHLY_DAY:
        freq = "MONTHLY"
        day = cleaned.get("recurrence_monthday") or (str(local_due.day) if local_due else "")
        parts["bymonthday"] = (int(day),) if day else ()
    elif preset == PRESET_MONTHLY_NTH:
        freq = "MONTHLY"
        nth = cleaned.get("recurrence_nth")
        weekday = cleaned.get("recurrence_nth_weekday")
        if local_due is not None:
            default_nth = (local_due.day - 1) // 7 + 1
            nth = nth or str(-1 if default_nth == 5 else default_nth)
            weekday = weekday or WEEKDAY_CODES[local_due.weekday()]
        if not nth or not weekday:
            raise ValidationError("Choose which weekday of the month.")
        parts["byday"] = ((WEEKDAY_CODES.index(weekday), int(nth)),)
    elif preset == PRESET_YEARLY:
        freq = "YEARLY"
    else:  # pragma: no cover - ChoiceField refuses anything else
        raise ValidationError("Unknown repeat choice.")
    end = cleaned.get("recurrence_end") or "never"
    if end == "count":
        parts["count"] = cleaned.get("recurrence_count")
        if not parts["count"]:
            raise ValidationError("Say how many times it repeats.")
    elif end == "until":
        parts["until"] = cleaned.get("recurrence_until")
        if parts["until"] is None:
            raise ValidationError("Choose the last date.")
    return rrules.compose_rule(freq, **parts)


def editor_initial(rule: str, due: datetime | None) -> dict[str, Any]:
    """The editor's fields for a stored rule: a preset when the rule has that exact shape,
    otherwise the custom text (nothing a person wrote is silently rewritten)."""
    if not rule:
        return {"recurrence_preset": PRESET_NONE}
    custom = {"recurrence_preset": PRESET_CUSTOM, "recurrence_custom": rule}
    try:
        parsed = rrules.parse_rule(rule)
    except rrules.RecurrenceError:
        return custom
    if (
        isinstance(parsed.until, datetime)  # the date field holds a date, not an instant
        or parsed.bymonth
        or parsed.byweekno
        or parsed.byyearday
        or parsed.bysetpos
        or parsed.wkst is not None
    ):
        return custom  # only the custom editor can show these faithfully
    initial: dict[str, Any] = {
        "recurrence_end": "never",
        "recurrence_interval": parsed.interval,
    }
    if parsed.count is not None:
        initial.update(recurrence_end="count", recurrence_count=parsed.count)
    if parsed.until is not None:
        initial.update(recurrence_end="until", recurrence_until=parsed.until)
    preset = _preset_of(parsed, timezone.localtime(due) if due is not None else None)
    return {**initial, **preset} if preset else custom


def _preset_of(rule: rrules.Rule, local_due: datetime | None) -> dict[str, Any] | None:
    """The preset fields that rebuild `rule` (whose parts other than these are unset)."""
    byday, bymonthday = rule.byday, rule.bymonthday
    if rule.freq == "DAILY" and not byday and not bymonthday:
        return {"recurrence_preset": PRESET_DAILY}
    if rule.freq == "WEEKLY" and not bymonthday:
        if byday == WORKWEEK and rule.interval == 1:
            return {"recurrence_preset": PRESET_WEEKDAYS}
        days = [day for day, _ in byday]
        if not days and local_due is not None:
            days = [local_due.weekday()]
        return {
            "recurrence_preset": PRESET_WEEKLY,
            "recurrence_weekdays": [WEEKDAY_CODES[day] for day in days],
        }
    if rule.freq == "MONTHLY" and not byday:
        if not bymonthday and local_due is not None:
            bymonthday = (local_due.day,)
        if len(bymonthday) == 1 and str(bymonthday[0]) in dict(MONTHDAY_CHOICES):
            return {
                "recurrence_preset": PRESET_MONTHLY_DAY,
                "recurrence_monthday": str(bymonthday[0]),
            }
    if rule.freq == "MONTHLY" and len(byday) == 1 and not bymonthday:
        weekday, nth = byday[0]
        if str(nth) in dict(NTH_CHOICES):
            return {
                "recurrence_preset": PRESET_MONTHLY_NTH,
                "recurrence_nth": str(nth),
                "recurrence_nth_weekday": WEEKDAY_CODES[weekday],
            }
    if rule.freq == "YEARLY" and not byday and not bymonthday:
        return {"recurrence_preset": PRESET_YEARLY}
    return None


# --- the task form ----------------------------------------------------------------------


class TaskForm(RecurrenceForm):
    title = forms.CharField(max_length=TITLE_MAX_LENGTH, label="Title")
    description = forms.CharField(
        required=False,
        max_length=DESCRIPTION_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        label="Description",
    )
    priority = forms.ChoiceField(choices=PRIORITY_CHOICES, initial="medium", label="Priority")
    tags = forms.CharField(
        required=False,
        max_length=2000,
        label="Tags",
        help_text="Separate tags with commas, e.g. home, errands",
    )
    reminder = forms.ChoiceField(
        choices=REMINDER_CHOICES,
        initial=REMINDER_NONE,
        required=False,
        widget=forms.RadioSelect,
        label="Reminder",
    )
    reminder_at = LocalDateTimeField(required=False, label="Remind me at")
    reminder_amount = forms.IntegerField(
        min_value=0, max_value=100_000, required=False, label="Amount"
    )
    reminder_unit = forms.ChoiceField(
        choices=UNIT_CHOICES, initial="minutes", required=False, label="Unit"
    )

    field_order = [
        "title",
        "description",
        "priority",
        "tags",
        "due_date",
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["title"].widget.attrs.update(autocomplete="off")
        self.fields["tags"].widget.attrs.update(autocomplete="off", placeholder="home, errands")
        self.fields["recurrence_custom"].widget.attrs.update(
            placeholder="FREQ=WEEKLY;BYDAY=MO,WE", spellcheck="false", autocomplete="off"
        )

    @classmethod
    def initial_for(cls, task: Any) -> dict[str, Any]:
        """Field values that show `task` as it is stored."""
        initial: dict[str, Any] = {
            "title": task.title,
            "description": task.description,
            "priority": task.priority_name,
            "tags": ", ".join(task.tag_names),
            "due_date": task.due_day if task.all_day else task.due_date,
            **editor_initial(task.recurrence, task.due_date),
        }
        if task.reminder_offset_minutes is not None:
            amount, unit = task.reminder_offset_minutes, "minutes"
            for name in ("days", "hours"):
                size = UNIT_MINUTES[name]
                if amount and amount % size == 0:
                    amount, unit = amount // size, name
                    break
            initial.update(reminder=REMINDER_BEFORE, reminder_amount=amount, reminder_unit=unit)
        elif task.reminder_at is not None:
            initial.update(reminder=REMINDER_AT, reminder_at=task.reminder_at)
        else:
            initial["reminder"] = REMINDER_NONE
        return initial

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        mode = cleaned.get("reminder") or REMINDER_NONE
        if (
            mode == REMINDER_AT
            and not cleaned.get("reminder_at")
            and "reminder_at" not in (self.errors)
        ):
            self.add_error("reminder_at", "Choose when to be reminded.")
        if (
            mode == REMINDER_BEFORE
            and cleaned.get("reminder_amount") is None
            and ("reminder_amount" not in self.errors)
        ):
            self.add_error("reminder_amount", "Say how long before the due date.")
        return cleaned

    def service_data(self, *, for_update: bool) -> dict[str, Any]:
        """The cleaned form as `task_create`/`task_update` data."""
        cleaned = self.cleaned_data
        data: dict[str, Any] = {
            "title": cleaned["title"],
            "description": cleaned.get("description") or "",
            "priority": cleaned["priority"],
            "tags": split_tags(cleaned.get("tags") or ""),
            "due_date": cleaned.get("due_date"),
            "all_day": is_all_day(cleaned.get("due_date")),
            "recurrence": cleaned.get("recurrence") or "",
        }
        mode = cleaned.get("reminder") or REMINDER_NONE
        if mode == REMINDER_AT:
            data["reminder_at"] = cleaned["reminder_at"]
            if for_update:
                data["reminder_offset_minutes"] = None
        elif mode == REMINDER_BEFORE:
            unit = cleaned.get("reminder_unit") or "minutes"
            data["reminder_offset_minutes"] = cleaned["reminder_amount"] * UNIT_MINUTES[unit]
        elif for_update:
            data.update(reminder_at=None, reminder_offset_minutes=None)
        return data

    def add_service_errors(self, exc: ValidationError) -> None:
        """Put a service's ValidationError (keyed by task field) on the matching inputs."""
        if not hasattr(exc, "error_dict"):
            for message in exc.messages:
                self.add_error(None, message)
            return
        for field, messages in exc.message_dict.items():
            target = SERVICE_FIELD_MAP.get(field, field)
            if target == "recurrence":
                target = recurrence_error_field(self.cleaned_data)
            if target not in self.fields:
                target = None
            for message in messages:
                self.add_error(target, message)


SERVICE_FIELD_MAP = {
    "reminder_offset_minutes": "reminder_amount",
    "timezone": None,
}


# --- quick add --------------------------------------------------------------------------


class PhraseListField(forms.Field):
    """Repeated hidden inputs, one recognised phrase each ("keep as text", "use as date")."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[str]:
        if not value:
            return []
        values = value if isinstance(value, list | tuple) else [value]
        return [str(item)[:200] for item in values[:50] if str(item).strip()]


class QuickAddForm(forms.Form):
    """One line: the title, with `#tag` and `!priority` words and the due date, time and
    repeat in words (tasks/quickadd.py). Without JavaScript the server reads the same line
    on submit; `keep`, `accept` and `literal` carry the person's choices."""

    title = forms.CharField(max_length=1000, label="New task")
    keep = PhraseListField(required=False)
    accept = PhraseListField(required=False)
    literal = forms.BooleanField(required=False, label="Keep dates as text")
    fold = forms.TypedChoiceField(
        choices=[("", ""), ("0", "earlier"), ("1", "later")],
        coerce=int,
        empty_value=None,
        required=False,
    )

    def __init__(
        self, *args: Any, user: Any = None, now: datetime | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.now = now
        self.parsed: quickadd.QuickAdd | None = None
        self.fold_choices: list[tuple[int, str]] = []

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        text = cleaned.get("title")
        if not text:
            return cleaned
        parsed = read_quick_add(
            text,
            user=self.user,
            now=self.now,
            keep=cleaned.get("keep") or (),
            accept=cleaned.get("accept") or (),
            literal=bool(cleaned.get("literal")),
            fold=cleaned.get("fold"),
        )
        self.parsed = parsed
        if not parsed.title:
            self.add_error("title", "Type a title as well as the tags, priority or date.")
        elif parsed.problem:
            self.add_error("title", parsed.problem)
        elif parsed.ambiguous:
            self.add_error("title", walltime.ambiguous_message(parsed.ambiguous[0]))
            self.fold_choices = walltime.fold_labels(*parsed.ambiguous)
        return cleaned

    def service_data(self) -> dict[str, Any]:
        parsed = self.parsed
        assert parsed is not None, "call is_valid() first"
        data: dict[str, Any] = {"title": parsed.title}
        if parsed.tags:
            data["tags"] = list(parsed.tags)
        if parsed.priority:
            data["priority"] = parsed.priority
        if parsed.due is not None:
            # A date without a time ("tomorrow") is an all-day task.
            data["due_date"] = parsed.due
            data["all_day"] = not parsed.has_time
        if parsed.recurrence:
            data["recurrence"] = parsed.recurrence
        return data


def read_quick_add(
    text: str,
    *,
    user: Any,
    now: datetime | None = None,
    keep: Any = (),
    accept: Any = (),
    literal: bool = False,
    fold: int | None = None,
) -> quickadd.QuickAdd:
    """`text` read in the user's time zone and date order (UTC and DMY without a user)."""
    return quickadd.parse(
        text,
        now=now or timezone.now(),
        tz=getattr(user, "timezone", None) or "UTC",
        date_order=getattr(user, "date_order", None) or "DMY",
        keep=keep,
        accept=accept,
        literal=literal,
        fold=fold,
    )
