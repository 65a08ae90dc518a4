"""Accounts: tenants, users, guests, logins, API keys, and turning credentials into a Principal."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from parlour.auth.passwords import hash_password, verify_password
from parlour.auth.principal import Principal
from parlour.auth.tokens import read_token
from parlour.core import rls
from parlour.core.errors import BadRequest, Conflict, NotFound, Unauthorized
from parlour.core.ids import new_id
from parlour.core.uow import UnitOfWork
from parlour.models.revoked_token import RevokedToken
from parlour.models.tenant import DEFAULT_TENANT_SLUG, Tenant
from parlour.models.user import ApiKey, Role, User

API_KEY_PREFIX = "pk_"
MIN_PASSWORD_LENGTH = 8


async def find_tenant_by_slug(session: AsyncSession, slug: str | None) -> Tenant | None:
    """The tenant with this slug (the default tenant when None), or None."""
    # rls: slugs are public (anyone may name a tenant: sign-in, guests, webhooks, widgets);
    # what is done in the tenant is still the caller's scope's to allow.
    async with rls.as_service(session, None):
        return await session.scalar(
            select(Tenant).where(Tenant.slug == (slug or DEFAULT_TENANT_SLUG))
        )


async def get_tenant_by_slug(session: AsyncSession, slug: str | None) -> Tenant:
    """The tenant with this slug (the default tenant when None)."""
    tenant = await find_tenant_by_slug(session, slug)
    if tenant is None:
        raise NotFound("Unknown tenant.", code="tenant_not_found")
    return tenant


async def get_tenant(session: AsyncSession, tenant_id: str) -> Tenant:
    """A tenant by id."""
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound("Unknown tenant.", code="tenant_not_found")
    return tenant


async def do_ensure_default_tenant(session: AsyncSession, *, now: datetime) -> Tenant:
    """The default tenant, created on first use."""
    tenant = await session.scalar(select(Tenant).where(Tenant.slug == DEFAULT_TENANT_SLUG))
    if tenant is None:
        tenant = Tenant(id=new_id(), slug=DEFAULT_TENANT_SLUG, name="Parlour", created_at=now)
        session.add(tenant)
        await session.flush()
    return tenant


# import: `parlour import --tenant SLUG` brings data into a tenant it creates when missing.
async def do_ensure_tenant(session: AsyncSession, slug: str, *, now: datetime) -> Tenant:
    """The tenant with this slug, created (named after it) on first use. Two callers creating
    it at once both get the one row: `ON CONFLICT DO NOTHING` makes the second wait for the
    first's insert (PostgreSQL; SQLite's writer lock orders them), then both read it."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    await session.execute(
        insert(Tenant)
        .values(id=new_id(), slug=slug, name=slug, settings={}, created_at=now)
        .on_conflict_do_nothing(index_elements=["slug"])
    )
    tenant = await find_tenant_by_slug(session, slug)
    assert tenant is not None
    return tenant


def normalise_email(email: str) -> str:
    return email.strip().lower()


async def do_create_user(
    session: AsyncSession,
    *,
    tenant_id: str,
    role: Role,
    display_name: str,
    email: str | None,
    password: str | None,
    phone: str | None = None,
    now: datetime,
) -> User:
    """Create a user; the email is unique within the tenant."""
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise BadRequest(
            f"Passwords need at least {MIN_PASSWORD_LENGTH} characters.", code="weak_password"
        )
    email = normalise_email(email) if email else None
    if email:
        taken = await session.scalar(
            select(User.id).where(User.tenant_id == tenant_id, User.email == email)
        )
        if taken:
            raise Conflict("A user with this email already exists.", code="email_taken")
    user = User(
        id=new_id(),
        tenant_id=tenant_id,
        role=role,
        display_name=display_name.strip() or (email or "User"),
        email=email,
        phone=phone,
        password_hash=await hash_password(password) if password else None,
        is_guest=False,
        is_active=True,
        created_at=now,
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent create won the race for the email
        raise Conflict("A user with this email already exists.", code="email_taken") from exc
    return user


async def find_customer_by_phone(session: AsyncSession, tenant_id: str, phone: str) -> User | None:
    """twilio: the tenant's (oldest) customer with this E.164 number: a channel contact."""
    return await session.scalar(
        select(User)
        .where(User.tenant_id == tenant_id, User.role == Role.customer, User.phone == phone)
        .order_by(User.created_at, User.id)
        .limit(1)
    )


# email: a channel contact is the tenant's customer with that address
async def find_user_by_email(session: AsyncSession, tenant_id: str, email: str) -> User | None:
    """The tenant's user with this email address (normalised), or None."""
    return await session.scalar(
        select(User).where(User.tenant_id == tenant_id, User.email == normalise_email(email))
    )


async def login(
    uow: Callable[..., UnitOfWork], *, tenant_slug: str | None, email: str, password: str
) -> User:
    """The active user with these credentials, or Unauthorized (the same for every failure,
    an unknown tenant included).

    The password is verified after the read transaction has closed: Argon2 takes tens of
    milliseconds and may queue for the hashing pool, and a flood of logins must not hold
    database connections (or, on SQLite, anything else) meanwhile."""
    async with uow(write=False) as tx:
        tenant = await find_tenant_by_slug(tx.session, tenant_slug)
        user = None
        if tenant is not None:
            user = await tx.session.scalar(
                select(User).where(
                    User.tenant_id == tenant.id, User.email == normalise_email(email)
                )
            )
    ok = await verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.is_active:
        raise Unauthorized("Wrong email or password.", code="invalid_credentials")
    return user


async def do_create_guest(
    session: AsyncSession,
    *,
    tenant_id: str,
    display_name: str | None,
    phone: str | None,
    now: datetime,
) -> User:
    """An anonymous customer, optionally with a name and phone."""
    user = User(
        id=new_id(),
        tenant_id=tenant_id,
        role=Role.customer,
        display_name=(display_name or "").strip() or "Guest",
        email=None,
        phone=phone,
        password_hash=None,
        is_guest=True,
        is_active=True,
        created_at=now,
    )
    session.add(user)
    await session.flush()
    return user


def _hash_key(raw: str) -> str:
    # API keys carry 256 bits of randomness, so a fast hash is enough (unlike passwords).
    return hashlib.sha256(raw.encode()).hexdigest()


async def do_create_api_key(
    session: AsyncSession, *, tenant_id: str, name: str, now: datetime
) -> tuple[ApiKey, str]:
    """A new service key; the raw key is returned once and only its hash is stored."""
    raw = API_KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        id=new_id(),
        tenant_id=tenant_id,
        name=name,
        key_hash=_hash_key(raw),
        prefix=raw[:10],
        created_at=now,
    )
    session.add(key)
    await session.flush()
    return key, raw


def principal_for(user: User) -> Principal:
    return Principal(
        tenant_id=user.tenant_id, role=user.role, user_id=user.id, display_name=user.display_name
    )


@dataclass(frozen=True, slots=True)
class Credential:
    """Who a credential acts for, and until when (None: an API key, valid until revoked)."""

    principal: Principal
    expires_at: datetime | None


async def resolve_credential(
    session: AsyncSession, credential: str, *, secret: str, now: datetime
) -> Principal | None:
    """The Principal behind a token or API key, or None when it is invalid, expired or revoked."""
    found = await resolve_session(session, credential, secret=secret, now=now)
    return found.principal if found else None


async def resolve_session(
    session: AsyncSession, credential: str, *, secret: str, now: datetime
) -> Credential | None:
    """The Principal behind a token or API key and its expiry, or None when the credential is
    invalid, expired or revoked: an API key revoked, a token logged out (its `jti`), issued
    before the user's last password change, or whose user was deactivated."""
    if credential.startswith(API_KEY_PREFIX):
        key = await session.scalar(select(ApiKey).where(ApiKey.key_hash == _hash_key(credential)))
        if key is None or key.revoked_at is not None:
            return None
        return Credential(
            Principal(tenant_id=key.tenant_id, role="service", api_key_id=key.id), None
        )
    claims = read_token(credential, secret=secret, now=now)
    if claims is None:
        return None
    user = await session.get(User, claims.user_id)
    if user is None or not user.is_active or user.tenant_id != claims.tenant_id:
        return None
    if user.tokens_valid_after is not None and claims.issued_at < user.tokens_valid_after:
        return None
    if await session.get(RevokedToken, claims.jti) is not None:
        return None
    return Credential(principal_for(user), claims.expires_at)


async def get_user(session: AsyncSession, principal: Principal, user_id: str) -> User:
    """A user of the caller's tenant."""
    user = await session.get(User, user_id)
    if user is None or user.tenant_id != principal.tenant_id:
        raise NotFound("User not found.", code="user_not_found")
    return user


async def lock_user(session: AsyncSession, tenant_id: str, user_id: str) -> User | None:
    """A user of the tenant, its row locked until the transaction ends (read fresh), or None.

    Other domains serialise one person's read-then-write decisions on it (how many bookings a
    customer holds, whether it already has an open support conversation, an expert's weekly
    hours): the users row is the one row every such decision shares."""
    await session.flush()
    return await session.scalar(
        select(User)
        .where(User.id == user_id, User.tenant_id == tenant_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
