"""Who is acting: every service function takes an explicit Principal."""

from __future__ import annotations

from dataclasses import dataclass

from parlour.models.user import Role


@dataclass(frozen=True, slots=True)
class Principal:
    """A signed-in user, or a tenant's service API key (`user_id` is None)."""

    tenant_id: str
    role: str
    user_id: str | None = None
    api_key_id: str | None = None
    display_name: str = ""

    @property
    def is_service(self) -> bool:
        return self.api_key_id is not None

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin

    @property
    def is_staff(self) -> bool:
        """Agents, admins and service keys act for the business."""
        return self.is_service or self.role in (Role.agent, Role.admin)

    @property
    def is_customer(self) -> bool:
        return self.role == Role.customer and not self.is_service
