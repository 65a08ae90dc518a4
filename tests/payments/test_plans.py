"""Plans: the defaults every tenant starts with, the admins' CRUD, and who may not."""

from __future__ import annotations

import httpx
import pytest

from parlour.runtime import Runtime
from tests.api.support import assert_error, make_member
from tests.factories import auth, make_tenant

NEW_PLAN = {"code": "chat30", "name": "Long Chat", "kind": "consultation", "price_amount": 2499}


@pytest.fixture
async def cast(offline_rt: Runtime) -> dict:
    await make_tenant(offline_rt)
    await make_tenant(offline_rt, "elsewhere")
    return {
        "customer": await make_member(offline_rt, "customer", name="Cara"),
        "agent": await make_member(offline_rt, "agent", name="Abe"),
        "admin": await make_member(offline_rt, "admin", name="Ada"),
        "foreign_admin": await make_member(offline_rt, "admin", name="Fay", tenant="elsewhere"),
    }


async def test_every_tenant_starts_with_the_default_plans(
    offline_http: httpx.AsyncClient, cast: dict
) -> None:
    plans = (await offline_http.get("/api/v1/plans")).json()
    fields = ("code", "name", "kind", "price_amount", "currency")
    limits = ("time_limit_minutes", "after_payment")
    assert [tuple(p[f] for f in (*fields, *limits)) for p in plans] == [
        ("chat10", "Quick Chat", "consultation", 999, "USD", 10, "chat"),
        ("video15", "Live Video", "video", 2999, "USD", 15, "call"),
        ("diagnostic", "Diagnostic Session", "diagnostic", 4999, "USD", None, "thank_you"),
    ]
    theirs = (await offline_http.get("/api/v1/plans", params={"tenant": "elsewhere"})).json()
    assert [p["code"] for p in theirs] == ["chat10", "video15", "diagnostic"]
    assert {p["id"] for p in theirs}.isdisjoint({p["id"] for p in plans})
    assert_error(await offline_http.get("/api/v1/plans", params={"tenant": "nowhere"}), 404)


async def test_admins_edit_plans_and_customers_see_only_active_ones(
    offline_rt: Runtime, offline_http: httpx.AsyncClient, cast: dict
) -> None:
    admin = auth(offline_rt, cast["admin"])
    created = await offline_http.post("/api/v1/plans", json=NEW_PLAN, headers=admin)
    assert created.status_code == 201, created.text
    plan = created.json()
    assert (plan["currency"], plan["active"], plan["after_payment"]) == ("USD", True, "chat")
    again = await offline_http.post("/api/v1/plans", json=NEW_PLAN, headers=admin)
    assert_error(again, 409, "plan_exists")
    changed = await offline_http.patch(
        f"/api/v1/plans/{plan['id']}",
        json={"price_amount": 1999, "active": False, "time_limit_minutes": 30},
        headers=admin,
    )
    assert changed.json()["price_amount"] == 1999 and changed.json()["active"] is False
    customer = auth(offline_rt, cast["customer"])
    visible = (await offline_http.get("/api/v1/plans", headers=customer)).json()
    assert "chat30" not in [p["code"] for p in visible]
    everything = (await offline_http.get("/api/v1/plans?all=true", headers=admin)).json()
    assert "chat30" in [p["code"] for p in everything]
    assert_error(await offline_http.get("/api/v1/plans?all=true", headers=customer), 403)
    assert_error(await offline_http.get("/api/v1/plans?all=true"), 403)
    # An inactive plan cannot be bought.
    bought = await offline_http.get("/api/v1/checkout?plan=chat30", headers=customer)
    assert_error(bought, 404, "plan_not_found")
    deleted = await offline_http.delete(f"/api/v1/plans/{plan['id']}", headers=admin)
    assert deleted.status_code == 204


async def test_who_may_not_edit_plans(
    offline_rt: Runtime, offline_http: httpx.AsyncClient, cast: dict
) -> None:
    admin = auth(offline_rt, cast["admin"])
    [chat10, *_] = (await offline_http.get("/api/v1/plans", headers=admin)).json()
    url = f"/api/v1/plans/{chat10['id']}"
    for who in ("customer", "agent"):
        headers = auth(offline_rt, cast[who])
        assert_error(await offline_http.post("/api/v1/plans", json=NEW_PLAN, headers=headers), 403)
        assert_error(
            await offline_http.patch(url, json={"price_amount": 100}, headers=headers), 403
        )
        assert_error(await offline_http.delete(url, headers=headers), 403)
    assert_error(await offline_http.post("/api/v1/plans", json=NEW_PLAN), 401)
    foreign = auth(offline_rt, cast["foreign_admin"])
    patched = await offline_http.patch(url, json={"price_amount": 100}, headers=foreign)
    assert_error(patched, 404, "plan_not_found")
    assert_error(await offline_http.delete(url, headers=foreign), 404, "plan_not_found")
    assert_error(
        await offline_http.patch(url, json={"price_amount": 1}, headers=admin), 422
    )  # below Stripe's minimum
    price = (await offline_http.get("/api/v1/plans", headers=admin)).json()[0]["price_amount"]
    assert price == 999


async def test_a_plan_with_orders_is_kept(
    offline_rt: Runtime, offline_http: httpx.AsyncClient, cast: dict
) -> None:
    customer = auth(offline_rt, cast["customer"])
    assert (
        await offline_http.get("/api/v1/checkout?plan=chat10", headers=customer)
    ).status_code == 303
    admin = auth(offline_rt, cast["admin"])
    [chat10, *_] = (await offline_http.get("/api/v1/plans", headers=admin)).json()
    response = await offline_http.delete(f"/api/v1/plans/{chat10['id']}", headers=admin)
    assert_error(response, 409, "plan_in_use")


async def test_plan_pages(offline_rt: Runtime, offline_http: httpx.AsyncClient, cast: dict) -> None:
    admin = auth(offline_rt, cast["admin"])
    page = await offline_http.get("/admin/plans", headers=admin)
    assert page.status_code == 200 and "chat10" in page.text
    customer = auth(offline_rt, cast["customer"])
    assert (await offline_http.get("/admin/plans", headers=customer)).status_code == 403
    plans = await offline_http.get("/plans", headers=customer)
    assert plans.status_code == 200 and "Buy Quick Chat" in plans.text
    staff = await offline_http.get("/plans", headers=auth(offline_rt, cast["agent"]))
    assert "Buy Quick Chat" not in staff.text
    assert (await offline_http.get("/thank-you")).status_code == 200
