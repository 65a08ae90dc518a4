"""The application's side: which scope a unit of work runs in, on both backends (on SQLite the
scope changes nothing; on PostgreSQL, connected as the app role, it decides what is seen)."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from parlour.auth.principal import db_scope
from parlour.core import rls
from parlour.models.conversation import Conversation
from parlour.models.user import User
from parlour.runtime import Runtime
from tests.factories import auth, make_conversation, make_user


def _postgres(rt: Runtime) -> bool:
    return rt.engine.dialect.name == "postgresql"


async def _count(rt: Runtime, model: type, scope: rls.DbScope | None) -> int:
    with rls.acting_as(scope):
        async with rt.uow(write=False) as tx:
            return int(await tx.session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_unit_of_work_without_a_scope_sees_nothing_on_postgresql(runtime: Runtime) -> None:
    await make_user(runtime)
    assert await _count(runtime, User, rls.ALL_TENANTS) == 1
    assert await _count(runtime, User, None) == (0 if _postgres(runtime) else 1)


async def test_a_customer_scope_sees_only_their_own_conversations(runtime: Runtime) -> None:
    agent = await make_user(runtime, "agent")
    mine, theirs = await make_user(runtime), await make_user(runtime)
    await make_conversation(runtime, mine, agent=agent)
    await make_conversation(runtime, theirs, agent=agent)
    seen = await _count(runtime, Conversation, db_scope(mine))
    assert seen == (1 if _postgres(runtime) else 2)
    assert await _count(runtime, Conversation, db_scope(agent)) == 2


async def test_a_request_leaves_no_scope_behind(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    """The test client runs the app in the test's own task: the request's scope (set by the
    auth dependency) must end with the request (rls.ResetScope)."""
    customer = await make_user(runtime)
    before = rls.current.get()
    response = await client.get("/api/v1/conversations", headers=auth(runtime, customer))
    assert response.status_code == 200, response.text
    assert rls.current.get() == before == rls.ALL_TENANTS


def test_a_batch_from_one_tenant_runs_as_that_tenant_and_a_mixed_one_as_every_tenant() -> None:
    assert rls.batch_scope({"t1"}) == rls.DbScope(rls.SERVICE, "t1")
    assert rls.batch_scope({"t1", "t2"}) == rls.ALL_TENANTS


def test_scopes_other_than_the_all_tenant_service_need_a_tenant() -> None:
    for role in (rls.CUSTOMER, rls.AGENT, rls.ADMIN, rls.API_KEY, rls.SERVICE, rls.VISITOR):
        try:
            rls.DbScope(role)
        except ValueError:
            continue
        raise AssertionError(f"{role} without a tenant was accepted")
