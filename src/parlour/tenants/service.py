"""A tenant's configuration: its typed settings and its encrypted secrets.

Only the tenant's admins read or change either through the API; domains read settings from
`tenant.typed_settings` and secrets with `get_secret` (as the system, with no Principal: a
webhook or a job needs the key before anyone is signed in).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from parlour.auth.principal import Principal
from parlour.auth.service import get_tenant
from parlour.core import rls
from parlour.core.crypto import Sealed, SecretBox, Undecryptable
from parlour.core.errors import AppError, Forbidden, NotFound
from parlour.core.ids import new_id
from parlour.core.uow import UnitOfWork
from parlour.models.tenant import Tenant
from parlour.models.tenant_secret import TenantSecret
from parlour.models.tenant_settings import TenantSettings
from parlour.tenants import repository
from parlour.tenants.schemas import SECRET_DESCRIPTIONS, SecretName, SecretRead

# The HKDF purpose of the key that seals tenant secrets (see parlour.core.crypto).
SECRETS_PURPOSE = "tenant-secrets"
# Values this long show their last 4 characters; shorter ones show nothing.
HINT_MIN_LENGTH = 20


class InvalidSettings(AppError):
    status = 422
    code = "invalid_settings"
    message = "The settings are invalid."


class SecretUnreadable(AppError):
    """A stored secret that this server cannot decrypt: sealed under another server secret
    (PARLOUR_SECRET_KEY changed), or tampered with. An admin sets it again."""

    status = 503
    code = "secret_unreadable"


def _require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("Only the tenant's admins manage its settings and secrets.")


async def _locked_tenant(tx: UnitOfWork, tenant_id: str) -> Tenant:
    tenant = await repository.lock_tenant(tx.session, tenant_id)
    if tenant is None:
        raise NotFound("Unknown tenant.", code="tenant_not_found")
    return tenant


# --- settings -------------------------------------------------------------------------------


async def get_settings(tx: UnitOfWork, principal: Principal) -> TenantSettings:
    """The caller's tenant's settings, defaults filled in (admins)."""
    _require_admin(principal)
    tenant = await get_tenant(tx.session, principal.tenant_id)
    return tenant.typed_settings


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        where = ".".join(str(p) for p in err["loc"]) or "settings"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


async def do_update_settings(
    tx: UnitOfWork, principal: Principal, changes: Mapping[str, Any]
) -> TenantSettings:
    """Change some of the caller's tenant's settings (admins); the others keep their values.
    A `None` value resets that setting to its default. All or nothing: a change that does not
    validate raises `InvalidSettings` and nothing is stored."""
    _require_admin(principal)
    # Read-then-write: under the row lock, so concurrent changes of different settings both
    # survive instead of the later one writing back what it read before the other committed.
    tenant = await _locked_tenant(tx, principal.tenant_id)
    kept = {k: v for k, v in tenant.typed_settings.overrides().items() if k not in changes}
    given = {k: v for k, v in changes.items() if v is not None}
    try:
        updated = TenantSettings.model_validate({**kept, **given})
    except ValidationError as exc:
        raise InvalidSettings(_describe(exc)) from exc
    tenant.settings = updated.overrides()
    await tx.session.flush()
    return updated


# --- secrets --------------------------------------------------------------------------------


def _associated_data(tenant_id: str, name: str) -> bytes:
    # Binds a ciphertext to its tenant and name: moved anywhere else it fails to open.
    return f"tenant-secret\x00{tenant_id}\x00{name}".encode()


def _open(row: TenantSecret, box: SecretBox) -> str:
    sealed = Sealed(row.key_version, row.ciphertext)
    return box.open(sealed, associated_data=_associated_data(row.tenant_id, row.name)).decode()


async def _seal_into(
    tx: UnitOfWork, tenant_id: str, name: str, value: str, server_secret: str
) -> TenantSecret:
    # The caller holds the tenant's row lock (it serialises writers of its secrets).
    box = SecretBox(server_secret, purpose=SECRETS_PURPOSE)
    sealed = box.seal(value.encode(), associated_data=_associated_data(tenant_id, name))
    row = await repository.get_secret(tx.session, tenant_id, name)
    if row is None:
        row = TenantSecret(id=new_id(), tenant_id=tenant_id, name=name, created_at=tx.now)
        tx.session.add(row)
    row.key_version = sealed.key_version
    row.ciphertext = sealed.blob
    row.hint = value[-4:] if len(value) >= HINT_MIN_LENGTH else None
    row.updated_at = tx.now
    await tx.session.flush()
    return row


async def list_secrets(
    tx: UnitOfWork, principal: Principal, *, server_secret: str
) -> list[SecretRead]:
    """Every secret the tenant may set, whether it is set, and when; never a value (admins)."""
    _require_admin(principal)
    rows = {r.name: r for r in await repository.secrets_of(tx.session, principal.tenant_id)}
    box = SecretBox(server_secret, purpose=SECRETS_PURPOSE)
    listed = []
    for name in SecretName:
        row = rows.get(name.value)
        readable = None
        if row is not None:
            try:
                _open(row, box)
                readable = True
            except Undecryptable:
                readable = False
        listed.append(
            SecretRead(
                name=name,
                description=SECRET_DESCRIPTIONS[name],
                set=row is not None,
                updated_at=row.updated_at if row else None,
                hint=row.hint if row else None,
                readable=readable,
            )
        )
    return listed


async def do_put_secret(
    tx: UnitOfWork, principal: Principal, name: SecretName, value: str, *, server_secret: str
) -> SecretRead:
    """Set (or replace) one of the caller's tenant's secrets (admins)."""
    _require_admin(principal)
    # The tenant row lock serialises writers of its secrets: two first PUTs of one name
    # cannot both insert.
    await _locked_tenant(tx, principal.tenant_id)
    row = await _seal_into(tx, principal.tenant_id, name.value, value, server_secret)
    return SecretRead(
        name=name,
        description=SECRET_DESCRIPTIONS[name],
        set=True,
        updated_at=row.updated_at,
        hint=row.hint,
        readable=True,
    )


async def do_delete_secret(tx: UnitOfWork, principal: Principal, name: SecretName) -> None:
    """Forget one of the caller's tenant's secrets (admins); 404 when it was not set."""
    _require_admin(principal)
    await _locked_tenant(tx, principal.tenant_id)
    if not await repository.delete_secret(tx.session, principal.tenant_id, name.value):
        raise NotFound(f"The secret '{name.value}' is not set.", code="secret_not_set")


async def get_secret(
    session: AsyncSession, tenant_id: str, name: SecretName | str, *, server_secret: str
) -> str | None:
    """A tenant's secret in the clear, for the code that calls the provider (a webhook, a job);
    None when it is not set. Raises `SecretUnreadable` when it cannot be decrypted here."""
    name = SecretName(name)
    # rls: read as the tenant's service, whoever's request needs it (a customer's checkout
    # needs the Stripe key; only admins may read secrets themselves).
    async with rls.as_service(session, tenant_id):
        row = await repository.get_secret(session, tenant_id, name.value)
    if row is None:
        return None
    try:
        return _open(row, SecretBox(server_secret, purpose=SECRETS_PURPOSE))
    except Undecryptable as exc:
        raise SecretUnreadable(
            f"The tenant's secret '{name.value}' cannot be decrypted with this server's secret "
            "key (was PARLOUR_SECRET_KEY changed?); an admin must set it again."
        ) from exc


# --- secrets owned by a domain ---------------------------------------------------------------
# twilio: a domain with many secrets of its own (a channel account's Twilio credentials) keeps
# them here under names it makes ("channel:<id>:auth_token"), sealed like the named ones but
# never listed by `list_secrets`; the domain's own service decides who may set them.

DOMAIN_SECRET_PREFIXES = ("channel:",)


def _check_domain_name(name: str) -> None:
    if not name.startswith(DOMAIN_SECRET_PREFIXES) or len(name) > 64:
        raise ValueError(f"not a domain secret name: {name!r}")


async def do_store_domain_secret(
    tx: UnitOfWork, tenant_id: str, name: str, value: str, *, server_secret: str
) -> str | None:
    """Set (or replace) one of a domain's secrets of the tenant; its hint (see `SecretRead`)."""
    _check_domain_name(name)
    await _locked_tenant(tx, tenant_id)
    return (await _seal_into(tx, tenant_id, name, value, server_secret)).hint


async def read_domain_secret(
    session: AsyncSession, tenant_id: str, name: str, *, server_secret: str
) -> str | None:
    """A domain's secret in the clear (None when not set); `SecretUnreadable` when this
    server cannot decrypt it."""
    _check_domain_name(name)
    row = await repository.get_secret(session, tenant_id, name)
    if row is None:
        return None
    try:
        return _open(row, SecretBox(server_secret, purpose=SECRETS_PURPOSE))
    except Undecryptable as exc:
        raise SecretUnreadable(
            "A stored credential cannot be decrypted with this server's secret key (was "
            "PARLOUR_SECRET_KEY changed?); an admin must set it again."
        ) from exc


async def domain_secret_hints(
    session: AsyncSession, tenant_id: str, names: list[str]
) -> dict[str, str | None]:
    """Which of these secrets are set (the keys) and their hints; never a value."""
    rows = await repository.secrets_of(session, tenant_id)
    return {r.name: r.hint for r in rows if r.name in names}


async def do_forget_domain_secrets(tx: UnitOfWork, tenant_id: str, names: list[str]) -> None:
    """Delete these secrets of the tenant (those not set are ignored)."""
    for name in names:
        _check_domain_name(name)
        await repository.delete_secret(tx.session, tenant_id, name)
