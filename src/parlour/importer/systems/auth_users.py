"""Supabase's `auth.users` (id, email, raw_user_meta_data), where the source has it: the names
and emails of the people the chat tables know only by id. Passwords are never read."""

from __future__ import annotations

from dataclasses import dataclass

from parlour.importer import values
from parlour.importer.sources import Source

TABLE = "auth.users"


@dataclass(frozen=True)
class AuthUser:
    email: str | None
    name: str | None
    phone: str | None


async def load(source: Source) -> dict[str, AuthUser]:
    """Every auth user by id ({} when the source has no auth.users)."""
    if not await source.has_table(TABLE):
        return {}
    found: dict[str, AuthUser] = {}
    async for row in source.rows(TABLE):
        try:
            meta = values.document(row, "raw_user_meta_data")
        except values.BadValue:
            meta = {}
        name = meta.get("full_name") or meta.get("name")
        found[values.ident(row, "id")] = AuthUser(
            email=values.text(row, "email"),
            name=str(name).strip() if name else None,
            phone=values.text(row, "phone"),
        )
    return found


def fallback_name(role: str, user_id: str) -> str:
    """A name for someone the source knows only by id."""
    return f"{role.capitalize()} {user_id[:8]}"
