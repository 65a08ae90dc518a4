"""GET /api/v1/users: the people an admin can assign; nobody else may list them."""

from __future__ import annotations

import httpx

from parlour.runtime import Runtime
from tests.factories import auth, make_tenant, make_user


async def test_admins_list_their_tenants_agents(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    admin = await make_user(runtime, "admin")
    agents = [await make_user(runtime, "agent", name=n) for n in ("Zoe", "Abe")]
    await make_user(runtime, "customer")
    await make_tenant(runtime, "elsewhere")
    await make_user(runtime, "agent", tenant="elsewhere", name="Foreign")

    response = await client.get(
        "/api/v1/users", params={"role": "agent"}, headers=auth(runtime, admin)
    )
    assert response.status_code == 200
    listed = response.json()["users"]
    assert [u["display_name"] for u in listed] == ["Abe", "Zoe"]
    assert {u["id"] for u in listed} == {a.user_id for a in agents}
    assert all("password_hash" not in u for u in listed)


async def test_who_may_not_list_users(client: httpx.AsyncClient, runtime: Runtime) -> None:
    assert (await client.get("/api/v1/users")).status_code == 401
    for role in ("customer", "agent"):
        who = await make_user(runtime, role)
        response = await client.get("/api/v1/users", headers=auth(runtime, who))
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"
