"""Login, guests, the caller."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from parlour.auth import revocation, service
from parlour.auth.schemas import GuestIn, LoginIn, MeOut, PasswordChangeIn, TokenOut, UserRead
from parlour.auth.tokens import COOKIE_NAME, issue_token, read_token
from parlour.core import rls
from parlour.core.errors import BadRequest, Unauthorized
from parlour.core.http import error_responses
from parlour.core.proxies import client_ip
from parlour.deps import PrincipalDep, RuntimeDep, credential_from
from parlour.models.tenant import DEFAULT_TENANT_SLUG
from parlour.models.user import User
from parlour.runtime import Runtime

router = APIRouter(prefix="/auth", tags=["auth"])
me_router = APIRouter(tags=["auth"])

# The one answer to a guest sign-up a tenant does not take, an unknown tenant included.
GUEST_NOT_AVAILABLE = "Guest sign-up is not available here."


def token_response(runtime: Runtime, response: Response, user: User) -> TokenOut:
    """Issue a token for `user`, also set as an HttpOnly SameSite cookie for the web pages."""
    ttl = runtime.settings.token_ttl_seconds
    token = issue_token(
        secret=runtime.secret_key,
        user_id=user.id,
        tenant_id=user.tenant_id,
        now=runtime.clock.now(),
        ttl_seconds=ttl,
    )
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=ttl,
        httponly=True,
        samesite="lax",
        secure=runtime.settings.cookie_secure,
        path="/",
    )
    return TokenOut(access_token=token, expires_in=ttl, user=UserRead.model_validate(user))


async def attempt_login(
    runtime: Runtime, request: Request, *, tenant: str | None, email: str, password: str
) -> User:
    """Log in under two limits, shared by the API and the login page: attempts per client
    address, and failures per account (tenant and normalised email, from any address: a
    botnet guessing one password gets no further than one machine). Only failures count
    against the account, so its owner signing in is never what locks it."""
    settings = runtime.settings
    await runtime.limiter.hit(f"login:{client_ip(request)}", limit=settings.login_rate_per_minute)
    account = f"login-account:{tenant or DEFAULT_TENANT_SLUG}:{service.normalise_email(email)}"
    await runtime.limiter.check(account, limit=settings.login_account_rate_per_minute)
    try:
        # An unknown tenant is just another wrong credential (no 404 telling tenants apart).
        # rls: the account is looked up before anyone is signed in, by tenant slug and email.
        with rls.acting_as(rls.ALL_TENANTS):
            return await service.login(
                runtime.uow, tenant_slug=tenant, email=email, password=password
            )
    except Unauthorized:
        await runtime.limiter.hit(account, limit=settings.login_account_rate_per_minute)
        raise


@router.post("/login", response_model=TokenOut, responses=error_responses(400, 401, 413, 422, 429))
async def login(
    body: LoginIn, request: Request, response: Response, runtime: RuntimeDep
) -> TokenOut:
    """Exchange email and password for an access token."""
    user = await attempt_login(
        runtime, request, tenant=body.tenant, email=body.email, password=body.password
    )
    return token_response(runtime, response, user)


@router.post(
    "/guest",
    response_model=TokenOut,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(400, 413, 422, 429),
)
async def guest(
    body: GuestIn, request: Request, response: Response, runtime: RuntimeDep
) -> TokenOut:
    """Create an anonymous customer and sign it in (400 `guest_not_available` for a tenant
    that takes no guests, an unknown one included)."""
    await runtime.limiter.hit(
        f"guest:{client_ip(request)}", limit=runtime.settings.guest_rate_per_minute
    )
    # rls: nobody is signed in yet; the tenant is known only from its slug.
    async with runtime.uow(scope=rls.ALL_TENANTS) as tx:
        tenant = await service.find_tenant_by_slug(tx.session, body.tenant)
        if tenant is None:
            # Not "unknown tenant": the same answer as any tenant refusing guests.
            raise BadRequest(GUEST_NOT_AVAILABLE, code="guest_not_available")
        user = await service.do_create_guest(
            tx.session,
            tenant_id=tenant.id,
            display_name=body.display_name,
            phone=body.phone,
            now=tx.now,
        )
    return token_response(runtime, response, user)


async def revoke_request_token(runtime: Runtime, request: Request) -> None:
    """Logout: revoke the access token the request carries (header or cookie), if any. An API
    key is not revoked by logout (admins revoke keys)."""
    credential, _ = credential_from(request)
    if not credential or credential.startswith(service.API_KEY_PREFIX):
        return
    # Anyone may call logout: a credential that is not a valid token opens no transaction.
    claims = read_token(credential, secret=runtime.secret_key, now=runtime.clock.now())
    if claims is None:
        return
    # rls: the signed token names its tenant; revoking it is that tenant's service's write.
    async with runtime.uow(scope=rls.DbScope.service(claims.tenant_id)) as tx:
        await revocation.do_revoke_token(tx, credential, secret=runtime.secret_key)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(413))
async def logout(request: Request, response: Response, runtime: RuntimeDep) -> Response:
    """Revoke the token the request carries (it gets 401 from now on, and open realtime
    connections using it close with 4001) and forget the session cookie. Without a valid
    token there is nothing to revoke: still 204."""
    await revoke_request_token(runtime, request)
    response.status_code = status.HTTP_204_NO_CONTENT
    response.delete_cookie(COOKIE_NAME, path="/")
    return response


@me_router.post(
    "/me/password", response_model=TokenOut, responses=error_responses(400, 401, 403, 413, 422, 429)
)
async def change_password(
    body: PasswordChangeIn, principal: PrincipalDep, runtime: RuntimeDep, response: Response
) -> TokenOut:
    """Change your own password. Every token issued before (on every device) stops working;
    the answer carries a fresh one (and sets the cookie)."""
    await runtime.limiter.hit(
        f"password:{principal.user_id or principal.api_key_id}",
        limit=runtime.settings.login_rate_per_minute,
    )
    user = await revocation.change_password(
        runtime.uow,
        principal,
        current_password=body.current_password,
        new_password=body.new_password,
    )
    return token_response(runtime, response, user)


@me_router.get("/me", response_model=MeOut, responses=error_responses(401))
async def me(principal: PrincipalDep, runtime: RuntimeDep) -> MeOut:
    """Who the caller is."""
    user = None
    if principal.user_id:
        async with runtime.uow(write=False) as tx:
            user = UserRead.model_validate(
                await service.get_user(tx.session, principal, principal.user_id)
            )
    return MeOut(tenant_id=principal.tenant_id, role=principal.role, user=user)
