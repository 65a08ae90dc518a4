"""The auth contract over HTTP: login, guests, the caller, tokens, cookies and API keys."""

from __future__ import annotations

from datetime import timedelta

import httpx
import jwt

from parlour.auth.service import get_user
from parlour.auth.tokens import COOKIE_NAME, issue_token
from parlour.runtime import Runtime
from tests.api.support import assert_error, deactivate, make_api_key, row_counts
from tests.factories import PASSWORD, auth, make_tenant, make_user

LOGIN = "/api/v1/auth/login"
GUEST = "/api/v1/auth/guest"
ME = "/api/v1/me"


async def _login_customer(runtime: Runtime) -> tuple[str, str]:
    customer = await make_user(runtime, "customer", name="Cara")
    async with runtime.uow(write=False) as tx:
        user = await get_user(tx.session, customer, customer.user_id or "")
    assert user.email is not None
    return user.id, user.email


async def test_login_returns_token_user_and_an_httponly_samesite_cookie(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    user_id, email = await _login_customer(runtime)
    response = await client.post(LOGIN, json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) >= {"access_token", "token_type", "user"}
    assert body["token_type"] == "bearer"
    assert body["user"]["id"] == user_id
    assert body["user"]["email"] == email
    assert "password_hash" not in body["user"]

    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE_NAME}={body['access_token']};")
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert "path=/" in attributes

    client.cookies.clear()
    me = await client.get(ME, headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["user"]["id"] == user_id


async def test_login_ignores_email_case_and_surrounding_space(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    _, email = await _login_customer(runtime)
    response = await client.post(LOGIN, json={"email": f"  {email.upper()} ", "password": PASSWORD})
    assert response.status_code == 200, response.text


async def test_every_failed_login_looks_the_same(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    _, email = await _login_customer(runtime)
    inactive = await make_user(runtime, "agent")
    assert inactive.user_id is not None
    await deactivate(runtime, inactive.user_id)
    async with runtime.uow(write=False) as tx:
        inactive_email = (await get_user(tx.session, inactive, inactive.user_id)).email

    attempts = {
        "wrong password": {"email": email, "password": "not the password"},
        "unknown email": {"email": "nobody@example.com", "password": PASSWORD},
        "inactive user": {"email": inactive_email, "password": PASSWORD},
        "unknown tenant": {"email": email, "password": PASSWORD, "tenant": "nowhere"},
    }
    errors = {}
    for label, credentials in attempts.items():
        response = await client.post(LOGIN, json=credentials)
        errors[label] = assert_error(response, 401, "invalid_credentials")
        assert "set-cookie" not in response.headers, label
    assert len({(e["code"], e["message"]) for e in errors.values()}) == 1, errors


async def test_guest_is_created_with_optional_name_and_phone(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await make_tenant(runtime)
    bare = await client.post(GUEST, json={})
    assert bare.status_code == 201, bare.text
    assert bare.json()["token_type"] == "bearer"
    user = bare.json()["user"]
    assert (user["role"], user["is_guest"], user["email"]) == ("customer", True, None)
    assert user["display_name"]
    assert f"{COOKIE_NAME}=" in bare.headers["set-cookie"]

    client.cookies.clear()  # a script keeps no cookie (one would make this a CSRF-checked write)
    named = await client.post(GUEST, json={"display_name": "Gus", "phone": "+44 20 7946 0000"})
    assert named.status_code == 201, named.text
    assert named.json()["user"]["display_name"] == "Gus"
    assert named.json()["user"]["phone"] == "+44 20 7946 0000"

    client.cookies.clear()
    token = named.json()["access_token"]
    me = await client.get(ME, headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["user"]["id"] == named.json()["user"]["id"]
    assert me.json()["role"] == "customer"


async def test_guest_with_a_bad_phone_is_refused_and_stores_nothing(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await make_tenant(runtime)
    before = await row_counts(runtime)
    response = await client.post(GUEST, json={"phone": "call me maybe"})
    assert_error(response, 422)
    assert await row_counts(runtime) == before


async def test_me_with_bearer_cookie_and_both_api_key_forms(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    agent = await make_user(runtime, "agent")
    token = auth(runtime, agent)["Authorization"].removeprefix("Bearer ")
    key = await make_api_key(runtime)

    by_bearer = await client.get(ME, headers={"Authorization": f"Bearer {token}"})
    assert by_bearer.status_code == 200
    assert by_bearer.json()["user"]["id"] == agent.user_id
    assert by_bearer.json()["role"] == "agent"

    by_cookie = await client.get(ME, headers={"Cookie": f"{COOKIE_NAME}={token}"})
    assert by_cookie.status_code == 200
    assert by_cookie.json()["user"]["id"] == agent.user_id

    for headers in ({"X-API-Key": key}, {"Authorization": f"Bearer {key}"}):
        response = await client.get(ME, headers=headers)
        assert response.status_code == 200, headers
        assert response.json() == {"tenant_id": agent.tenant_id, "role": "service", "user": None}


async def test_bad_credentials_are_401(client: httpx.AsyncClient, runtime: Runtime) -> None:
    agent = await make_user(runtime, "agent")
    assert agent.user_id is not None
    now = runtime.clock.now()
    expired = issue_token(
        secret=runtime.secret_key,
        user_id=agent.user_id,
        tenant_id=agent.tenant_id,
        now=now - timedelta(hours=2),
        ttl_seconds=3600,
    )
    foreign = issue_token(
        secret="another-secret-that-is-long-enough-for-hs256",
        user_id=agent.user_id,
        tenant_id=agent.tenant_id,
        now=now,
        ttl_seconds=3600,
    )
    unsigned = jwt.encode(
        {"sub": agent.user_id, "tid": agent.tenant_id, "exp": int(now.timestamp()) + 60},
        key="",
        algorithm="none",
    )
    wrong_tenant = issue_token(
        secret=runtime.secret_key,
        user_id=agent.user_id,
        tenant_id="not-its-tenant",
        now=now,
        ttl_seconds=3600,
    )
    cases = {
        "nothing": {},
        "expired": {"Authorization": f"Bearer {expired}"},
        "other secret": {"Authorization": f"Bearer {foreign}"},
        "alg none": {"Authorization": f"Bearer {unsigned}"},
        "claims another tenant": {"Authorization": f"Bearer {wrong_tenant}"},
        "garbage": {"Authorization": "Bearer not-a-token"},
        "unknown api key": {"X-API-Key": "pk_unknown"},
        "expired cookie": {"Cookie": f"{COOKIE_NAME}={expired}"},
    }
    for label, headers in cases.items():
        response = await client.get(ME, headers=headers)
        assert response.status_code == 401, (label, response.text)
        assert_error(response, 401)


async def test_a_deactivated_users_token_stops_working(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    agent = await make_user(runtime, "agent")
    headers = auth(runtime, agent)
    assert (await client.get(ME, headers=headers)).status_code == 200
    assert agent.user_id is not None
    await deactivate(runtime, agent.user_id)
    assert_error(await client.get(ME, headers=headers), 401, "invalid_token")


async def test_logout_clears_the_cookie(client: httpx.AsyncClient, runtime: Runtime) -> None:
    response = await client.post("/api/v1/auth/logout")
    assert response.status_code == 204
    cookie = response.headers["set-cookie"].lower()
    assert cookie.startswith(f"{COOKIE_NAME}=")
    assert "max-age=0" in cookie
