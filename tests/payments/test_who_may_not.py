"""Who may not, for every payments endpoint: anonymous callers, a revoked token, service API
keys, customers and agents where admins act, another customer's order, another tenant."""

from __future__ import annotations

import httpx
import pytest

from parlour.conversations import service as conversations_service
from parlour.runtime import Runtime
from tests.api.support import World, assert_error, deactivate, make_world
from tests.payments.support import ORIGIN, checkout, orders


@pytest.fixture
async def paid(offline_rt: Runtime, offline_http: httpx.AsyncClient) -> tuple[World, dict]:
    """A world, and a paid, running chat10 session of its customer."""
    world = await make_world(offline_rt)
    headers = world.headers["customer"]
    response = await checkout(offline_http, headers)
    sid = response.headers["location"].rsplit("/", 1)[-1]
    await offline_http.post(f"/checkout/test/{sid}", headers={**headers, **ORIGIN})
    [order] = await orders(offline_rt)
    assert order.conversation_id is not None
    async with offline_rt.uow() as tx:
        await conversations_service.do_join(tx, world.agent, order.conversation_id)
    plan = (await offline_http.get("/api/v1/plans")).json()[0]
    return world, {
        "sid": sid,
        "order": order.id,
        "conversation": order.conversation_id,
        "plan": plan["id"],
    }


ADMIN_ONLY = [
    ("get", "/api/v1/admin/orders"),
    ("get", "/api/v1/admin/orders/{order}/evidence"),
    ("post", "/api/v1/admin/orders/{order}/refund"),
    ("post", "/api/v1/plans"),
    ("patch", "/api/v1/plans/{plan}"),
    ("delete", "/api/v1/plans/{plan}"),
]
BODIES = {
    "/api/v1/plans": {"code": "x1", "name": "X", "kind": "consultation", "price_amount": 500},
    "/api/v1/plans/{plan}": {"price_amount": 500},
}


async def call(http: httpx.AsyncClient, method: str, path: str, ids: dict, headers: dict):
    body = BODIES.get(path)
    url = path.format(**ids)
    if method in ("post", "patch"):
        return await http.request(method, url, json=body, headers=headers)
    return await http.request(method, url, headers=headers)


@pytest.mark.parametrize(("method", "path"), ADMIN_ONLY)
async def test_admin_endpoints_refuse_everyone_else(
    offline_rt: Runtime,
    offline_http: httpx.AsyncClient,
    paid: tuple[World, dict],
    method: str,
    path: str,
) -> None:
    world, ids = paid
    assert_error(await call(offline_http, method, path, ids, {}), 401)
    for who in ("customer", "other_customer", "agent", "api_key"):
        assert_error(await call(offline_http, method, path, ids, world.headers[who]), 403)
    foreign = await call(offline_http, method, path, ids, world.headers["foreign_admin"])
    if path == "/api/v1/admin/orders":
        assert foreign.json() == []
    elif path == "/api/v1/plans" and method == "post":
        assert foreign.status_code == 201  # its own tenant's plan
    else:
        assert_error(foreign, 404)
    [order] = await orders(offline_rt)
    assert (order.status, order.refund_requested_at) == ("paid", None)


async def test_customer_endpoints_refuse_others(
    offline_rt: Runtime, offline_http: httpx.AsyncClient, paid: tuple[World, dict]
) -> None:
    world, ids = paid
    by_checkout = f"/api/v1/orders/by-checkout/{ids['sid']}"
    extension = f"/api/v1/conversations/{ids['conversation']}/extension"
    assert (await offline_http.get(by_checkout, headers=world.headers["customer"])).is_success
    offer = await offline_http.get(extension, headers=world.headers["customer"])
    assert offer.json()["available"] is True
    for who in ("other_customer", "foreign_customer", "agent", "admin", "foreign_admin"):
        assert_error(await offline_http.get(by_checkout, headers=world.headers[who]), 404)
    for who in ("other_customer", "foreign_customer"):
        assert_error(await offline_http.get(extension, headers=world.headers[who]), 404)
        bought = await checkout(offline_http, world.headers[who], extend=ids["conversation"])
        assert_error(bought, 404)
    for who in ("agent", "admin", "api_key"):
        staff = await offline_http.get(extension, headers=world.headers[who])
        assert staff.json() == {**staff.json(), "available": False, "reason": "customers_only"}
        assert_error(await checkout(offline_http, world.headers[who]), 403, "customers_only")
    assert_error(await offline_http.get(by_checkout), 401)
    assert_error(await offline_http.get(extension), 401)
    # A deactivated customer's token stops working everywhere.
    assert world.customer.user_id is not None
    await deactivate(offline_rt, world.customer.user_id)
    assert_error(await offline_http.get(by_checkout, headers=world.headers["customer"]), 401)
    assert_error(await offline_http.get(extension, headers=world.headers["customer"]), 401)
    assert len(await orders(offline_rt)) == 1
