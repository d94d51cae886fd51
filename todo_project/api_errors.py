"""Error bodies of the API, declared so that the OpenAPI document lists every status."""

from __future__ import annotations

from typing import Any

from ninja import Schema


class ErrorOut(Schema):
    detail: str


class FieldError(Schema):
    loc: list[str | int]
    msg: str
    type: str | None = None


class ValidationErrorOut(Schema):
    detail: list[FieldError]


#: Responses every endpoint may give besides its success (400: a body that is not JSON).
AUTH_ERRORS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 422: ValidationErrorOut}
#: ... and those that address one object.
OBJECT_ERRORS: dict[int, Any] = {**AUTH_ERRORS, 404: ErrorOut}

#: Deepest page offset a list accepts (deeper pages are a mistake, not a request).
MAX_OFFSET = 1_000_000
