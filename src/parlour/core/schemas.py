"""Base classes for what crosses the wire."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

# What the published schema says of every free string: no NUL (see `InputModel._no_nul`).
NO_NUL_PATTERN = r"^[^\x00]*$"


def _document_no_nul(schema: dict[str, Any]) -> None:
    for prop in schema.get("properties", {}).values():
        for option in [prop, *prop.get("anyOf", [])]:
            free = not {"pattern", "enum", "const"} & set(option)
            if option.get("type") == "string" and free:
                option["pattern"] = NO_NUL_PATTERN


class InputModel(BaseModel):
    """Request bodies: unknown fields are an error, strings are stripped, types are strict."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        strict=True,
        json_schema_extra=_document_no_nul,
    )

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # PostgreSQL cannot store NUL in text (the query fails), SQLite would keep it: refuse it.
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value


class OutputModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody
