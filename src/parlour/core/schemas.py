"""Base classes for what crosses the wire."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class InputModel(BaseModel):
    """Request bodies: unknown fields are an error, strings are stripped, types are strict."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)


class OutputModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody
