"""Auth wire schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from annotated_types import Ge, Le
from pydantic import BeforeValidator, Field

from parlour.core.schemas import InputModel, OutputModel


class LoginIn(InputModel):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=1024)
    tenant: str | None = Field(default=None, max_length=64, description="Tenant slug (default).")


class GuestIn(InputModel):
    display_name: str | None = Field(default=None, max_length=120)
    phone: str | None = Field(default=None, max_length=32, pattern=r"^\+?[0-9 ()\-]{3,31}$")
    tenant: str | None = Field(default=None, max_length=64)


class UserRead(OutputModel):
    id: str
    tenant_id: str
    role: str
    display_name: str
    email: str | None
    phone: str | None
    is_guest: bool
    is_active: bool = True
    created_at: datetime


class TokenOut(OutputModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    user: UserRead


class MeOut(OutputModel):
    """The caller: a user, or a service key acting for its tenant (`user` is then null)."""

    tenant_id: str
    role: str
    user: UserRead | None


class PasswordChangeIn(InputModel):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


def _integral(value: object) -> object:
    # JSON Schema counts 3.0 as an integer (and JavaScript may send one); 3.5 stays wrong.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class UserUpdateIn(InputModel):
    """What an admin may change about a user: whether they may sign in, and (routing) how many
    active conversations a staff member takes at most. Give at least one."""

    is_active: bool | None = None
    # routing: the agent's capacity (maximum active conversations)
    capacity: Annotated[Annotated[int, Ge(0), Le(100)] | None, BeforeValidator(_integral)] = None


class ApiKeyRead(OutputModel):
    """A service key as admins see it (the key itself is shown only once, at creation)."""

    id: str
    tenant_id: str
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
