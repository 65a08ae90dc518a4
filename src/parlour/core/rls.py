"""Who the database lets a transaction see (PostgreSQL row-level security; SQLite ignores it).

Every unit of work starts, on PostgreSQL, with one statement that copies its `DbScope` into
three transaction-local settings the policies read (`parlour.role`, `parlour.tenant_id`,
`parlour.user_id`; see docs/row-level-security.md and `parlour.models.rls`). They end with the
transaction, so a pooled connection carries nothing over to its next user.

Where the scope comes from: the unit of work takes the one its creator passes, else the one in
the `current` context variable. The edges set that variable for the code they run: the auth
dependency (parlour/deps.py) and the WebSocket gateway from the caller's Principal, the job
worker, the deadline sweep, the group-commit writers and domain hooks as the service. A context
variable is copied into every task created under it, so work a request spawns keeps the
request's scope; each HTTP request and socket starts from no scope at all (`ResetScope`), and no
scope means the policies show nothing.
"""

from __future__ import annotations

import contextvars
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import ASGIApp, Receive, Scope, Send

# The values of `parlour.role`. `service` acts for one tenant (a webhook for tenant X, a job of
# tenant X); `service_all` for every tenant at once (the job claimer, the deadline sweep, the
# group-commit writers, credential look-ups before the tenant is known, the CLI).
CUSTOMER = "customer"
AGENT = "agent"
ADMIN = "admin"
API_KEY = "api_key"
SERVICE = "service"
SERVICE_ALL = "service_all"
# Nobody signed in, on a tenant's public pages (its plans, its experts' availability).
VISITOR = "visitor"
ROLES = (CUSTOMER, AGENT, ADMIN, API_KEY, SERVICE, SERVICE_ALL, VISITOR)


@dataclass(frozen=True, slots=True)
class DbScope:
    """The role, tenant and user the row-level security policies see for one transaction."""

    role: str
    tenant_id: str = ""
    user_id: str = ""

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown database role {self.role!r}")
        if self.role != SERVICE_ALL and not self.tenant_id:
            raise ValueError(f"the {self.role!r} database scope needs a tenant")

    @classmethod
    def service(cls, tenant_id: str | None = None) -> DbScope:
        """The service for one tenant, or for all of them when `tenant_id` is None."""
        return cls(SERVICE, tenant_id) if tenant_id else cls(SERVICE_ALL)


ALL_TENANTS = DbScope(SERVICE_ALL)

# Where a unit of work keeps its scope on the session (`as_service` goes back to it).
SESSION_SCOPE_KEY = "parlour_db_scope"

current: contextvars.ContextVar[DbScope | None] = contextvars.ContextVar(
    "parlour_db_scope", default=None
)

# One round trip: all three settings in one statement, local to the transaction (`true`).
SET_SCOPE_SQL = (
    "SELECT set_config('parlour.role', :role, true), "
    "set_config('parlour.tenant_id', :tenant_id, true), "
    "set_config('parlour.user_id', :user_id, true)"
)


def scope_params(scope: DbScope | None) -> dict[str, str]:
    """The bind parameters of SET_SCOPE_SQL; no scope sets empty values, which match nothing."""
    if scope is None:
        return {"role": "", "tenant_id": "", "user_id": ""}
    return {"role": scope.role, "tenant_id": scope.tenant_id, "user_id": scope.user_id}


def batch_scope(tenant_ids: set[str]) -> DbScope:
    """A group-commit batch's scope: its tenant's service when every request in it comes from
    one tenant, else every tenant's. Safe because the batch runs only the service rule, which
    checks each request against its own Principal; the scope just cannot narrow to one user
    when several users' sends share the transaction."""
    return DbScope.service(next(iter(tenant_ids))) if len(tenant_ids) == 1 else ALL_TENANTS


@asynccontextmanager
async def as_service(session: AsyncSession, tenant_id: str | None) -> AsyncIterator[None]:
    """Inside the caller's transaction, act as the tenant's service (every tenant's when
    `tenant_id` is None) for the block, then go back to the transaction's own scope. For the
    few reads the system makes on a user's behalf (a tenant's secret: its Stripe key; a tenant
    by its public slug), never for what the user asked."""
    bind = session.bind
    if bind is None or not dialect_uses_rls(bind.dialect.name):
        yield
        return
    own = session.info.get(SESSION_SCOPE_KEY)
    await session.execute(text(SET_SCOPE_SQL), scope_params(DbScope.service(tenant_id)))
    try:
        yield
    finally:
        await session.execute(text(SET_SCOPE_SQL), scope_params(own))


def enter(scope: DbScope | None) -> contextvars.Token[DbScope | None]:
    """Make `scope` the current one for this task (and the tasks it creates from now on)."""
    return current.set(scope)


@contextmanager
def acting_as(scope: DbScope | None) -> Iterator[None]:
    """Run the block's units of work in `scope`, then restore the previous one."""
    token = current.set(scope)
    try:
        yield
    finally:
        current.reset(token)


class ResetScope:
    """Pure ASGI middleware: every request and socket starts with no database scope, whatever
    the task that runs it had (a test client runs the app in the test's own task)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        token = current.set(None)
        try:
            await self.app(scope, receive, send)
        finally:
            current.reset(token)


def dialect_uses_rls(dialect_name: str) -> bool:
    return dialect_name == "postgresql"
