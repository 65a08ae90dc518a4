"""Logout, password change, deactivation and API-key revocation over REST, on both databases."""

from __future__ import annotations

from datetime import timedelta

import httpx
import jwt
from sqlalchemy import select

from parlour.auth.tokens import ALGORITHM
from parlour.models.revoked_token import RevokedToken
from parlour.runtime import Runtime
from tests.api.support import assert_error
from tests.factories import auth, make_user, token_for


async def test_after_logout_the_token_gets_401_and_the_row_is_pruned_after_expiry(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    customer = await make_user(runtime, "customer")
    headers = auth(runtime, customer)
    assert (await client.post("/api/v1/auth/logout", headers=headers)).status_code == 204
    assert_error(await client.get("/api/v1/me", headers=headers), 401, "invalid_token")
    # Logging out again (or without a token) is harmless.
    assert (await client.post("/api/v1/auth/logout", headers=headers)).status_code == 204
    assert (await client.post("/api/v1/auth/logout")).status_code == 204
    async with runtime.uow(write=False) as tx:
        [row] = list(await tx.session.scalars(select(RevokedToken)))
    assert row.user_id == customer.user_id
    # Once the revoked token would have expired, the next logout prunes its row.
    async with runtime.uow() as tx:
        (await tx.session.get(RevokedToken, row.jti)).expires_at = tx.now - timedelta(seconds=1)  # type: ignore[union-attr]
    other = await make_user(runtime, "customer")
    assert (
        await client.post("/api/v1/auth/logout", headers=auth(runtime, other))
    ).status_code == 204
    async with runtime.uow(write=False) as tx:
        left = [r.user_id for r in await tx.session.scalars(select(RevokedToken))]
    assert left == [other.user_id]


async def test_the_web_logout_revokes_the_cookie_token(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    customer = await make_user(runtime, "customer")
    token = token_for(runtime, customer)
    client.cookies.set("parlour_token", token)
    response = await client.post("/logout", headers={"Origin": "http://testserver"})
    assert response.status_code == 303
    client.cookies.clear()
    bearer = {"Authorization": f"Bearer {token}"}
    assert_error(await client.get("/api/v1/me", headers=bearer), 401)


async def test_a_token_without_a_jti_is_refused(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    customer = await make_user(runtime, "customer")
    now = runtime.clock.now()
    old_style = jwt.encode(
        {
            "sub": customer.user_id,
            "tid": customer.tenant_id,
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(hours=1)).timestamp()),
        },
        runtime.secret_key,
        algorithm=ALGORITHM,
    )
    response = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {old_style}"})
    assert_error(response, 401)


async def test_deactivation_rules(runtime: Runtime, client: httpx.AsyncClient) -> None:
    admin = await make_user(runtime, "admin")
    agent = await make_user(runtime, "agent")
    agent_headers = auth(runtime, agent)
    url = f"/api/v1/users/{agent.user_id}"
    self_url = f"/api/v1/users/{admin.user_id}"
    response = await client.patch(self_url, headers=auth(runtime, admin), json={"is_active": False})
    assert_error(response, 400, "cannot_deactivate_self")
    response = await client.patch(url, headers=auth(runtime, admin), json={"is_active": "no"})
    assert_error(response, 422)
    response = await client.patch(url, headers=auth(runtime, admin), json={"is_active": False})
    assert response.status_code == 200
    assert_error(await client.get("/api/v1/me", headers=agent_headers), 401)
    response = await client.patch(url, headers=auth(runtime, admin), json={"is_active": True})
    assert response.status_code == 200 and response.json()["is_active"] is True
    # Reactivated: new tokens work, the ones from before the deactivation stay dead.
    assert_error(await client.get("/api/v1/me", headers=agent_headers), 401)
    assert (await client.get("/api/v1/me", headers=auth(runtime, agent))).status_code == 200
    unknown = await client.patch(
        "/api/v1/users/" + "0" * 32, headers=auth(runtime, admin), json={"is_active": False}
    )
    assert_error(unknown, 404, "user_not_found")


async def test_concurrent_logouts_of_one_token_both_succeed_with_one_row(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    # Found by review: check-then-insert without a lock gave PostgreSQL a duplicate key (500).
    import asyncio

    customer = await make_user(runtime, "customer")
    headers = auth(runtime, customer)
    answers = await asyncio.gather(
        *(client.post("/api/v1/auth/logout", headers=headers) for _ in range(6))
    )
    assert [a.status_code for a in answers] == [204] * 6
    async with runtime.uow(write=False) as tx:
        rows = list(await tx.session.scalars(select(RevokedToken)))
    assert [r.user_id for r in rows] == [customer.user_id]


async def test_a_logout_with_a_bogus_token_opens_no_writing_transaction(
    runtime: Runtime, client: httpx.AsyncClient, monkeypatch: object
) -> None:
    # Anyone may call logout; a flood of junk must not take SQLite's write lock.
    writes = 0
    original = runtime.uow

    def counting(*, write: bool = True):  # type: ignore[no-untyped-def]
        nonlocal writes
        writes += write
        return original(write=write)

    runtime.uow = counting  # type: ignore[method-assign]
    try:
        for junk in ("x", "a.b.c", "Bearer", "pk_not_a_key"):
            response = await client.post(
                "/api/v1/auth/logout", headers={"Authorization": f"Bearer {junk}"}
            )
            assert response.status_code == 204
    finally:
        runtime.uow = original  # type: ignore[method-assign]
    assert writes == 0
