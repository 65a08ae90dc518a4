"""Credentials that stop being valid before they expire: logout, password change, user
deactivation and API-key revocation.

Each takes effect at once for REST (the credential check reads the state these functions
write) and for open WebSockets: after commit, an internal `credentials` event on the user's
feed (or the tenant's API-key feed) makes every connection holding such a credential re-check
it and close with 4001 when it is no longer valid.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from parlour.auth.passwords import hash_password, verify_password
from parlour.auth.principal import Principal
from parlour.auth.service import MIN_PASSWORD_LENGTH, get_user
from parlour.auth.tokens import read_token
from parlour.core.errors import BadRequest, Conflict, Forbidden, NotFound
from parlour.core.events import Audience, credentials_changed
from parlour.core.uow import UnitOfWork
from parlour.models.revoked_token import RevokedToken
from parlour.models.user import ApiKey, User


async def do_revoke_token(tx: UnitOfWork, token: str, *, secret: str) -> bool:
    """Revoke this access token (logout) until it would have expired anyway; prune the rows
    of tokens that have expired meanwhile. False when it is not a valid token (nothing to do:
    an expired, forged or already revoked token grants nothing). The edge checks the token
    before opening a writing unit of work (`read_token`), so a flood of bogus logouts writes
    nothing."""
    claims = read_token(token, secret=secret, now=tx.now)
    if claims is None:
        return False
    if await tx.session.get(User, claims.user_id) is None:
        return False
    await tx.session.execute(delete(RevokedToken).where(RevokedToken.expires_at <= tx.now))
    try:
        # Two logouts of one token at once: the second finds the first's row (no 500).
        async with tx.session.begin_nested():
            tx.session.add(
                RevokedToken(
                    jti=claims.jti,
                    user_id=claims.user_id,
                    revoked_at=tx.now,
                    expires_at=claims.expires_at,
                )
            )
    except IntegrityError:
        return False
    tx.emit(credentials_changed(Audience.user(claims.user_id)))
    return True


async def change_password(
    uow: Callable[..., UnitOfWork],
    principal: Principal,
    *,
    current_password: str,
    new_password: str,
) -> User:
    """Change the caller's own password; every token issued before now stops working (the
    caller gets a fresh one from the edge).

    Argon2 runs between two short transactions, never inside one: verifying and hashing take
    tens of milliseconds and may queue for the hashing pool, and a writing transaction holds
    the user's row (on SQLite, the database's write lock) all that time. The write re-checks
    under the row lock that the password did not change in between."""
    if principal.user_id is None:
        raise Forbidden("Only users have passwords.", code="not_a_user")
    if len(new_password) < MIN_PASSWORD_LENGTH:
        raise BadRequest(
            f"Passwords need at least {MIN_PASSWORD_LENGTH} characters.", code="weak_password"
        )
    async with uow(write=False) as tx:
        old_hash = (await get_user(tx.session, principal, principal.user_id)).password_hash
    if old_hash is None or not await verify_password(old_hash, current_password):
        # 400, not 401: the request's own credential is fine (a 401 would sign the page out).
        raise BadRequest("The current password is wrong.", code="wrong_password")
    new_hash = await hash_password(new_password)
    async with uow() as tx:
        user = await _locked_user(tx, principal, principal.user_id)
        if user.password_hash != old_hash:
            raise Conflict(
                "The password was changed meanwhile; try again.", code="password_changed"
            )
        user.password_hash = new_hash
        user.tokens_valid_after = tx.now
        await tx.session.flush()
        tx.emit(credentials_changed(Audience.user(user.id)))
    return user


async def do_set_user_active(
    tx: UnitOfWork, principal: Principal, user_id: str, *, is_active: bool
) -> User:
    """A tenant admin deactivates (or reactivates) a user of the tenant, not themselves. A
    deactivated user's credentials stop working at once, open sockets included."""
    if not principal.is_admin or principal.user_id is None:
        raise Forbidden("Only admins change who may sign in.")
    user = await _locked_user(tx, principal, user_id)
    if user.id == principal.user_id:
        raise BadRequest("Admins cannot deactivate themselves.", code="cannot_deactivate_self")
    if user.is_active != is_active:
        user.is_active = is_active
        if not is_active:
            # Reactivation later does not bring the old tokens back: they sign in afresh.
            user.tokens_valid_after = tx.now
        await tx.session.flush()
        if not is_active:
            tx.emit(credentials_changed(Audience.user(user.id)))
    return user


async def do_revoke_api_key(tx: UnitOfWork, principal: Principal, key_id: str) -> ApiKey:
    """Revoke one of the tenant's service keys (admins); requests and sockets using it stop at
    once. Revoking a revoked key changes nothing."""
    if not principal.is_admin:
        raise Forbidden("Only admins revoke API keys.")
    key = await tx.session.scalar(
        select(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.tenant_id == principal.tenant_id)
        .with_for_update()
    )
    if key is None:
        raise NotFound("API key not found.", code="api_key_not_found")
    if key.revoked_at is None:
        key.revoked_at = tx.now
        await tx.session.flush()
        tx.emit(credentials_changed(Audience.tenant_keys(key.tenant_id)))
    return key


async def _locked_user(tx: UnitOfWork, principal: Principal, user_id: str) -> User:
    """A user of the caller's tenant, its row locked (re-read under the lock)."""
    await get_user(tx.session, principal, user_id)  # 404 for another tenant's or no user
    user = await tx.session.scalar(
        select(User)
        .where(User.id == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if user is None:
        raise NotFound("User not found.", code="user_not_found")
    return user


# import: people `parlour import` brought in have no password; the operator gives one.
async def set_password_by_operator(
    uow: Callable[..., UnitOfWork], *, tenant_id: str, email: str, new_password: str
) -> User:
    """Set the password of the tenant's user with this email (the operator, on the command
    line: imported people have none, and Parlour sends no reset mail). Every token issued
    before stops working, open sockets included. Hashing runs outside the transaction."""
    if len(new_password) < MIN_PASSWORD_LENGTH:
        raise BadRequest(
            f"Passwords need at least {MIN_PASSWORD_LENGTH} characters.", code="weak_password"
        )
    new_hash = await hash_password(new_password)
    async with uow() as tx:
        user = await tx.session.scalar(
            select(User)
            .where(User.tenant_id == tenant_id, User.email == email.strip().lower())
            .with_for_update()
        )
        if user is None or user.is_guest:
            raise NotFound("No user with this email in the tenant.", code="user_not_found")
        user.password_hash = new_hash
        user.tokens_valid_after = tx.now
        await tx.session.flush()
        tx.emit(credentials_changed(Audience.user(user.id)))
    return user
