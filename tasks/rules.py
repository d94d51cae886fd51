"""Rules on a task's text fields, written once: the services enforce them and the API
schema states them (so the OpenAPI document describes exactly what is accepted)."""

from __future__ import annotations

#: White space as Unicode's White_Space property has it: what `trim` removes and what a
#: blank title consists of. Spelled out because Python's str.strip() also removes the
#: separators \\x1c-\\x1f, which JSON Schema regex engines do not count as white space.
WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680"
    + "".join(chr(c) for c in range(0x2000, 0x200B))
    + "\u2028\u2029\u202f\u205f\u3000"
)
RECURRENCE_MAX_LENGTH = 500
MAX_REMINDER_OFFSET_MINUTES = 60 * 24 * 366


def trim(text: str) -> str:
    return text.strip(WHITESPACE)


def _escape(char: str) -> str:
    # \\xHH and \\uHHHH mean the same in Python's re and in the Rust regex of pydantic-core.
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def not_blank_pattern() -> str:
    """JSON Schema pattern: no NUL, and at least one character that is not white space."""
    space = "".join(_escape(c) for c in WHITESPACE)
    return f"^[^\\x00]*[^\\x00{space}][^\\x00]*$"
