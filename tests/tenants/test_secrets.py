"""Tenant secrets: encrypted at rest, write-only through the API, on both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select, text, update

from parlour.auth.service import get_tenant_by_slug
from parlour.config import Settings
from parlour.core.crypto import SecretBox, Undecryptable, derive_key
from parlour.models.tenant_secret import TenantSecret
from parlour.runtime import Runtime, build_runtime
from parlour.tenants import service
from parlour.tenants.schemas import SecretName
from tests.api.support import World, assert_error, make_world
from tests.factories import auth
from tests.http_client import app_client

URL = "/api/v1/tenant/secrets"
STRIPE = "sk_test_51HxYzAbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
TWILIO = "twilio-auth-token-0123456789abcdef"


@pytest.fixture
async def world(runtime: Runtime) -> World:
    return await make_world(runtime)


async def tenant_id(rt: Runtime, slug: str | None = None) -> str:
    async with rt.uow(write=False) as tx:
        return (await get_tenant_by_slug(tx.session, slug)).id


async def read_secret(rt: Runtime, slug: str | None, name: str) -> str | None:
    tid = await tenant_id(rt, slug)
    async with rt.uow(write=False) as tx:
        return await service.get_secret(tx.session, tid, name, server_secret=rt.secret_key)


async def secret_rows(rt: Runtime) -> list[TenantSecret]:
    async with rt.uow(write=False) as tx:
        return list(await tx.session.scalars(select(TenantSecret)))


async def test_put_list_read_and_delete(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    admin = world.headers["admin"]
    response = await client.put(f"{URL}/stripe_secret_key", json={"value": STRIPE}, headers=admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == "stripe_secret_key" and body["set"] is True
    assert body["hint"] == STRIPE[-4:] and body["readable"] is True
    assert STRIPE not in response.text

    response = await client.get(URL, headers=admin)
    assert response.status_code == 200
    listed = {s["name"]: s for s in response.json()["secrets"]}
    assert set(listed) == {n.value for n in SecretName}
    assert listed["stripe_secret_key"]["set"] is True
    assert listed["stripe_secret_key"]["updated_at"]
    assert listed["twilio_auth_token"] == {
        "name": "twilio_auth_token",
        "description": listed["twilio_auth_token"]["description"],
        "set": False,
        "updated_at": None,
        "hint": None,
        "readable": None,
    }
    assert STRIPE not in response.text and STRIPE[:-4] not in response.text

    # The domains read it in the clear; replacing it keeps one row.
    assert await read_secret(runtime, None, "stripe_secret_key") == STRIPE
    await client.put(f"{URL}/stripe_secret_key", json={"value": STRIPE + "X"}, headers=admin)
    assert await read_secret(runtime, None, "stripe_secret_key") == STRIPE + "X"
    assert len(await secret_rows(runtime)) == 1

    # Short values show no hint; surrounding whitespace (a pasted newline) is dropped.
    await client.put(f"{URL}/smtp_password", json={"value": " hunter22\n"}, headers=admin)
    listed = {s["name"]: s for s in (await client.get(URL, headers=admin)).json()["secrets"]}
    assert listed["smtp_password"]["set"] is True and listed["smtp_password"]["hint"] is None
    assert await read_secret(runtime, None, "smtp_password") == "hunter22"

    response = await client.delete(f"{URL}/stripe_secret_key", headers=admin)
    assert response.status_code == 204 and response.content == b""
    assert await read_secret(runtime, None, "stripe_secret_key") is None
    assert_error(
        await client.delete(f"{URL}/stripe_secret_key", headers=admin), 404, "secret_not_set"
    )


async def test_the_value_is_not_stored_in_plaintext(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    await client.put(
        f"{URL}/twilio_auth_token", json={"value": TWILIO}, headers=world.headers["admin"]
    )
    async with runtime.uow(write=False) as tx:
        rows = (await tx.session.execute(text("SELECT * FROM tenant_secrets"))).all()
    assert len(rows) == 1
    raw = rows[0]._mapping
    for column, value in raw.items():
        as_bytes = bytes(value) if isinstance(value, (bytes, memoryview)) else str(value).encode()
        assert TWILIO.encode() not in as_bytes, column
        assert TWILIO[:8].encode() not in as_bytes, column
    assert raw["key_version"] == 1
    # nonce (12) + ciphertext (as long as the value) + tag (16)
    assert len(bytes(raw["ciphertext"])) == 12 + len(TWILIO) + 16
    # Sealing twice gives different bytes (a fresh nonce each time).
    before = bytes(raw["ciphertext"])
    await client.put(
        f"{URL}/twilio_auth_token", json={"value": TWILIO}, headers=world.headers["admin"]
    )
    [row] = await secret_rows(runtime)
    assert row.ciphertext != before


async def test_a_ciphertext_copied_to_another_tenant_or_name_does_not_open(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    await client.put(
        f"{URL}/stripe_secret_key", json={"value": STRIPE}, headers=world.headers["admin"]
    )
    await client.put(
        f"{URL}/stripe_secret_key",
        json={"value": "elsewhere-key"},
        headers=world.headers["foreign_admin"],
    )
    await client.put(
        f"{URL}/stripe_webhook_secret", json={"value": "whsec_x"}, headers=world.headers["admin"]
    )
    assert await read_secret(runtime, "elsewhere", "stripe_secret_key") == "elsewhere-key"
    home, elsewhere = await tenant_id(runtime), await tenant_id(runtime, "elsewhere")
    async with runtime.uow() as tx:
        ours = await tx.session.scalar(
            select(TenantSecret).where(
                TenantSecret.tenant_id == home, TenantSecret.name == "stripe_secret_key"
            )
        )
        assert ours is not None
        # An attacker with write access to the table copies our ciphertext over theirs...
        await tx.session.execute(
            update(TenantSecret)
            .where(TenantSecret.tenant_id == elsewhere)
            .values(ciphertext=ours.ciphertext)
        )
        # ...and over another of our own names.
        await tx.session.execute(
            update(TenantSecret)
            .where(TenantSecret.tenant_id == home, TenantSecret.name == "stripe_webhook_secret")
            .values(ciphertext=ours.ciphertext)
        )
    for slug, name in (("elsewhere", "stripe_secret_key"), (None, "stripe_webhook_secret")):
        with pytest.raises(service.SecretUnreadable):
            await read_secret(runtime, slug, name)
    assert await read_secret(runtime, None, "stripe_secret_key") == STRIPE
    listed = (await client.get(URL, headers=world.headers["foreign_admin"])).json()["secrets"]
    assert {s["name"]: s["readable"] for s in listed}["stripe_secret_key"] is False


@pytest.fixture
async def other_server(settings: Settings) -> AsyncIterator[Runtime]:
    """A second node on the same database whose PARLOUR_SECRET_KEY differs."""
    changed = settings.model_copy(update={"secret_key": "another-server-secret-" + "x" * 32})
    rt = build_runtime(changed)
    await rt.start()
    try:
        yield rt
    finally:
        await rt.stop()


async def test_another_server_secret_fails_cleanly(
    client: httpx.AsyncClient, runtime: Runtime, world: World, other_server: Runtime
) -> None:
    await client.put(
        f"{URL}/stripe_secret_key", json={"value": STRIPE}, headers=world.headers["admin"]
    )
    tid = await tenant_id(runtime)
    async with other_server.uow(write=False) as tx:
        with pytest.raises(service.SecretUnreadable) as caught:
            await service.get_secret(
                tx.session, tid, "stripe_secret_key", server_secret=other_server.secret_key
            )
    assert "PARLOUR_SECRET_KEY" in caught.value.message
    assert caught.value.status == 503 and caught.value.code == "secret_unreadable"
    # Over HTTP on that server: no 500, the list says which secrets must be set again, and
    # setting it again makes it readable there.
    headers = auth(other_server, world.admin)
    async with app_client(other_server) as other:
        response = await other.get(URL, headers=headers)
        assert response.status_code == 200, response.text
        listed = {s["name"]: s for s in response.json()["secrets"]}
        assert listed["stripe_secret_key"]["set"] is True
        assert listed["stripe_secret_key"]["readable"] is False
        response = await other.put(
            f"{URL}/stripe_secret_key", json={"value": "new"}, headers=headers
        )
        assert response.status_code == 200
    async with other_server.uow(write=False) as tx:
        value = await service.get_secret(
            tx.session, tid, "stripe_secret_key", server_secret=other_server.secret_key
        )
    assert value == "new"


async def test_who_may_not(client: httpx.AsyncClient, runtime: Runtime, world: World) -> None:
    for caller, status in {
        "anonymous": 401,
        "customer": 403,
        "agent": 403,
        "api_key": 403,
        "foreign_api_key": 403,
    }.items():
        headers = world.headers[caller]
        assert_error(await client.get(URL, headers=headers), status)
        response = await client.put(
            f"{URL}/stripe_secret_key", json={"value": STRIPE}, headers=headers
        )
        assert_error(response, status)
        assert_error(await client.delete(f"{URL}/stripe_secret_key", headers=headers), status)
    assert await secret_rows(runtime) == []

    # Another tenant's admin sets and deletes its own tenant's secret, never ours.
    admin, foreign = world.headers["admin"], world.headers["foreign_admin"]
    await client.put(f"{URL}/stripe_secret_key", json={"value": STRIPE}, headers=admin)
    assert_error(await client.delete(f"{URL}/stripe_secret_key", headers=foreign), 404)
    await client.put(f"{URL}/stripe_secret_key", json={"value": "theirs"}, headers=foreign)
    assert await read_secret(runtime, None, "stripe_secret_key") == STRIPE
    assert await read_secret(runtime, "elsewhere", "stripe_secret_key") == "theirs"


async def test_bad_input_is_refused_and_stores_nothing(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    admin = world.headers["admin"]
    for name, body in [
        ("no_such_secret", {"value": "x"}),
        ("STRIPE_SECRET_KEY", {"value": "x"}),
        ("stripe_secret_key", {"value": ""}),
        ("stripe_secret_key", {"value": "   "}),
        ("stripe_secret_key", {"value": 12345}),
        ("stripe_secret_key", {"value": "x" * 4097}),
        ("stripe_secret_key", {"value": "x", "extra": 1}),
        ("stripe_secret_key", {}),
    ]:
        assert_error(await client.put(f"{URL}/{name}", json=body, headers=admin), 422)
    assert_error(await client.delete(f"{URL}/no_such_secret", headers=admin), 422)
    assert await secret_rows(runtime) == []


def test_secret_box() -> None:
    box = SecretBox("server-secret", purpose="p")
    sealed = box.seal(b"value", associated_data=b"here")
    assert box.open(sealed, associated_data=b"here") == b"value"
    assert box.seal(b"value", associated_data=b"here").blob != sealed.blob
    for other, ad in [
        (SecretBox("server-secret", purpose="q"), b"here"),  # another purpose's key
        (SecretBox("server-secret2", purpose="p"), b"here"),  # another server secret
        (box, b"there"),  # another place
    ]:
        with pytest.raises(Undecryptable):
            other.open(sealed, associated_data=ad)
    tampered = type(sealed)(sealed.key_version, sealed.blob[:-1] + bytes([sealed.blob[-1] ^ 1]))
    with pytest.raises(Undecryptable):
        box.open(tampered, associated_data=b"here")
    with pytest.raises(Undecryptable):
        box.open(type(sealed)(2, sealed.blob), associated_data=b"here")
    with pytest.raises(Undecryptable):
        box.open(type(sealed)(1, b"short"), associated_data=b"here")
    # Purposes and the token-signing use of the server secret get different keys.
    assert derive_key("s", purpose="a") != derive_key("s", purpose="b")
    assert len(derive_key("s", purpose="a")) == 32
