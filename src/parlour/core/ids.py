"""Identifiers: random, URL-safe, unguessable (ids leak nothing about other rows)."""

from __future__ import annotations

import uuid


def new_id() -> str:
    """A new primary key (UUID4 hex, 32 characters)."""
    return uuid.uuid4().hex
