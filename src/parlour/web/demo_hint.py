"""The demo accounts, offered on the login page while the demo is on (PARLOUR_DEMO=1, which
`make run` sets) and `parlour demo` data is installed, so a first visitor can try Parlour without
reading anything. Without PARLOUR_DEMO the page offers nothing, whatever accounts exist."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from parlour.auth.service import get_tenant_by_slug
from parlour.config import Settings
from parlour.core.errors import NotFound
from parlour.demo import DEMO_ACCOUNTS, DEMO_PASSWORD
from parlour.models.user import Role, User

ORDER: list[str] = [Role.customer, Role.agent, Role.admin]


@dataclass(frozen=True, slots=True)
class DemoLogin:
    role: str
    email: str
    display_name: str
    password: str = DEMO_PASSWORD


async def demo_logins(
    session: AsyncSession, settings: Settings, *, tenant: str | None
) -> list[DemoLogin]:
    """The demo accounts present in the tenant: none unless the demo is on, and none once an
    operator removes them."""
    if not settings.demo:
        return []
    try:
        found = await get_tenant_by_slug(session, tenant)
    except NotFound:
        return []
    emails = [email for _, email, _ in DEMO_ACCOUNTS]
    present = set(
        await session.scalars(
            select(User.email).where(
                User.tenant_id == found.id, User.email.in_(emails), User.is_active.is_(True)
            )
        )
    )
    logins = [
        DemoLogin(role=str(role), email=email, display_name=name)
        for role, email, name in DEMO_ACCOUNTS
        if email in present
    ]
    # The order a visitor tries them in: the customer first.
    return sorted(logins, key=lambda d: ORDER.index(d.role))
