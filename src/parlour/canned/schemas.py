"""Canned-response wire schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, Field

from parlour.core.schemas import InputModel, OutputModel

MAX_BODY = 4000


def _shortcut(value: str) -> str:
    # `/greeting` and `greeting` are the same shortcut; it is stored without the slash.
    return value.removeprefix("/").lower()


Shortcut = Annotated[
    str,
    Field(
        min_length=1,
        max_length=33,
        pattern=r"^/?[A-Za-z0-9][A-Za-z0-9_\-]{0,31}$",
        description="Letters, digits, `_` and `-`, up to 32; a leading `/` is dropped, case "
        "is ignored (`/Greeting` is `greeting`).",
    ),
    AfterValidator(_shortcut),
]
Title = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")]
Body = Annotated[str, Field(min_length=1, max_length=MAX_BODY)]


class CannedCreate(InputModel):
    shortcut: Shortcut
    title: Title
    body: Body


class CannedUpdate(InputModel):
    shortcut: Shortcut | None = None
    title: Title | None = None
    body: Body | None = None


class CannedRead(OutputModel):
    id: str
    shortcut: str
    title: str
    body: str
    created_at: datetime
    updated_at: datetime


class CannedList(OutputModel):
    canned_responses: list[CannedRead]
