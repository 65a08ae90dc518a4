"""Who is acting: every service function takes an explicit Principal."""

from __future__ import annotations

from dataclasses import dataclass

from parlour.core.rls import API_KEY, DbScope
from parlour.models.user import Role

# The name the system actor signs its system messages with.
SYSTEM_DISPLAY_NAME = "Parlour"


@dataclass(frozen=True, slots=True)
class Principal:
    """A signed-in user, a tenant's service API key (`api_key_id`), or the tenant's system
    actor (`system`): webhooks, the deadline sweep, jobs and bots act as the latter. Neither a
    key nor the system actor has a `user_id`."""

    tenant_id: str
    role: str
    user_id: str | None = None
    api_key_id: str | None = None
    display_name: str = ""
    system: bool = False

    @classmethod
    def system_actor(cls, tenant_id: str) -> Principal:
        """The tenant's system principal (not a user, not an API key)."""
        return cls(
            tenant_id=tenant_id, role="system", display_name=SYSTEM_DISPLAY_NAME, system=True
        )

    @property
    def is_system(self) -> bool:
        return self.system

    @property
    def is_service(self) -> bool:
        return self.api_key_id is not None

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin

    @property
    def is_staff(self) -> bool:
        """Agents, admins, service keys and the system actor act for the business."""
        return self.is_service or self.system or self.role in (Role.agent, Role.admin)

    @property
    def is_customer(self) -> bool:
        return self.role == Role.customer and not self.is_service and not self.system


def db_scope(principal: Principal) -> DbScope:
    """rls: the row-level security scope a principal's transactions run in: a user's own role
    and id, a service key as `api_key`, the system actor as its tenant's service."""
    if principal.is_system:
        return DbScope.service(principal.tenant_id)
    if principal.is_service:
        return DbScope(API_KEY, principal.tenant_id)
    return DbScope(principal.role, principal.tenant_id, principal.user_id or "")
