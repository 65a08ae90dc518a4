"""What every HTTP edge needs: the runtime, the caller (Principal) and a unit of work."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request, Security
from fastapi.security import APIKeyCookie, APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection

from parlour.auth.principal import Principal, db_scope
from parlour.auth.service import Credential, resolve_session
from parlour.auth.tokens import COOKIE_NAME
from parlour.core import rls
from parlour.core.errors import Unauthorized
from parlour.runtime import Runtime


def get_runtime(conn: HTTPConnection) -> Runtime:
    runtime: Runtime = conn.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]

# Ids are URL-safe and short; anything else (a NUL, a megabyte) never reaches the database.
ConversationIdPath = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]


def credential_from(conn: HTTPConnection) -> tuple[str | None, bool]:
    """The token or API key a request carries, and whether it came from the cookie."""
    header = conn.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip(), False
    api_key = conn.headers.get("x-api-key")
    if api_key:
        return api_key.strip(), False
    cookie = conn.cookies.get(COOKIE_NAME)
    if cookie:
        return cookie, True
    return None, False


async def authenticate_credential(runtime: Runtime, credential: str | None) -> Principal:
    """The caller (see `authenticate_session`); the request's units of work run in its
    row-level security scope from here on (the request started with none: rls.ResetScope)."""
    principal = (await authenticate_session(runtime, credential)).principal
    rls.enter(db_scope(principal))  # rls:
    return principal


async def authenticate_session(runtime: Runtime, credential: str | None) -> Credential:
    """The caller and its credential's expiry; Unauthorized when it is missing, invalid,
    expired or revoked (logout, password change, deactivation, API-key revocation)."""
    if not credential:
        raise Unauthorized()
    # rls: the credential names its tenant only once it is found: look it up across tenants.
    async with runtime.uow(write=False, scope=rls.ALL_TENANTS) as tx:
        found = await resolve_session(tx.session, credential, secret=runtime.secret_key, now=tx.now)
    if found is None:
        raise Unauthorized("The token is invalid or has expired.", code="invalid_token")
    return found


# The three ways to present a credential, declared for the OpenAPI document; `credential_from`
# (shared with the WebSocket) reads them, so these never refuse anything themselves.
BEARER = HTTPBearer(
    scheme_name="bearer",
    description="An access token from login or guest sign-up, or a service API key (`pk_...`).",
    auto_error=False,
)
API_KEY = APIKeyHeader(
    name="X-API-Key", scheme_name="apiKey", description="A service API key.", auto_error=False
)
COOKIE = APIKeyCookie(
    name=COOKIE_NAME,
    scheme_name="cookie",
    description="The HttpOnly cookie set by login (web pages).",
    auto_error=False,
)


async def get_principal(
    request: Request,
    runtime: RuntimeDep,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)],
    _api_key: Annotated[str | None, Security(API_KEY)],
    _cookie: Annotated[str | None, Security(COOKIE)],
) -> Principal:
    """The caller, from whichever credential the request carries."""
    credential, _ = credential_from(request)
    return await authenticate_credential(runtime, credential)


PrincipalDep = Annotated[Principal, Depends(get_principal)]
