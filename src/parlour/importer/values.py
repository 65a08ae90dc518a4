"""Reading one cell of a source row: PostgreSQL hands typed values, CSV exports hand text.
A value that cannot be read raises `BadValue` naming the column and why, which the importer
reports as a skipped row."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

Row = Mapping[str, Any]
# A time followed by an hours-only offset (`12:00:00.5+02`).
_SHORT_OFFSET = re.compile(r"T[0-9:.]+[+-][0-9]{2}$")


class BadValue(ValueError):
    """A cell the importer cannot use; the message says which and why."""


def _raw(row: Row, column: str) -> Any:
    value = row.get(column)
    if isinstance(value, str) and value.strip() == "":
        return None  # CSV exports write NULL as an empty cell
    return value


def text(row: Row, *columns: str, required: bool = False) -> str | None:
    """The first of `columns` that holds a value, as stripped text."""
    for column in columns:
        value = _raw(row, column)
        if value is not None:
            found = str(value).strip()
            if "\x00" in found:  # PostgreSQL cannot store it; SQLite could: refused on both
                raise BadValue(f"{column} contains a NUL character")
            return found
    if required:
        raise BadValue(f"{' / '.join(columns)} is empty")
    return None


def ident(row: Row, column: str) -> str:
    """A row's id or reference, as text (uuids and serials alike); required."""
    value = text(row, column, required=True)
    assert value is not None
    if len(value) > 200:
        raise BadValue(f"{column} is longer than 200 characters")
    return value


def moment(row: Row, *columns: str, required: bool = False) -> datetime | None:
    """A timestamp: a datetime (PostgreSQL) or ISO 8601 / PostgreSQL text (CSV), in UTC.
    One without an offset is taken as UTC (Supabase stores `timestamptz` in UTC)."""
    for column in columns:
        value = _raw(row, column)
        if value is None:
            continue
        if isinstance(value, str):
            cleaned = value.strip().replace(" ", "T", 1)
            if _SHORT_OFFSET.search(cleaned):
                cleaned += ":00"  # PostgreSQL's text output writes +00, ISO wants +00:00
            try:
                value = datetime.fromisoformat(cleaned.replace("Z", "+00:00"))
            except ValueError:
                raise BadValue(f"{column} is not a timestamp: {value!r}") from None
        if not isinstance(value, datetime):
            raise BadValue(f"{column} is not a timestamp: {value!r}")
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if required:
        raise BadValue(f"{' / '.join(columns)} is empty")
    return None


def flag(row: Row, column: str) -> bool:
    """A boolean: true/false, t/f, 1/0, yes/no; empty is false."""
    value = _raw(row, column)
    if value is None or isinstance(value, bool):
        return bool(value)
    lowered = str(value).strip().lower()
    if lowered in ("true", "t", "1", "yes", "y"):
        return True
    if lowered in ("false", "f", "0", "no", "n"):
        return False
    raise BadValue(f"{column} is not a boolean: {value!r}")


def document(row: Row, column: str) -> dict[str, Any]:
    """A json/jsonb cell as a dict ({} when empty)."""
    value = _raw(row, column)
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise BadValue(f"{column} is not JSON") from None
    if not isinstance(value, dict):
        raise BadValue(f"{column} is not a JSON object")
    return value


def choice(value: str | None, table: Mapping[str, str], *, column: str) -> str:
    """`value` (case-insensitive) through `table`, or BadValue listing what is known."""
    found = table.get((value or "").strip().lower())
    if found is None:
        known = ", ".join(sorted(table))
        raise BadValue(f"unknown {column} {value!r} (known: {known})")
    return found
