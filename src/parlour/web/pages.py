"""Server-rendered pages: login, the customer's conversations and chat room, the agent inbox
and the admin console. Each page resolves the viewer from the cookie, reads through the same
services as the API, and hands its data to one small script as JSON."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Form, Request
from pydantic import BaseModel
from starlette.responses import RedirectResponse, Response

from parlour.auth import directory
from parlour.auth.principal import Principal
from parlour.auth.routes import attempt_login, revoke_request_token, token_response
from parlour.auth.service import get_tenant, principal_for
from parlour.auth.tokens import COOKIE_NAME
from parlour.conversations import service as conversations
from parlour.conversations.routes import limit_creation
from parlour.conversations.unread import unread_totals  # inbox
from parlour.core import rls
from parlour.core.errors import AppError, NotFound
from parlour.core.uow import UnitOfWork
from parlour.deps import RuntimeDep
from parlour.messages import service as messages
from parlour.models.conversation import Status
from parlour.models.user import Role
from parlour.runtime import Runtime
from parlour.web.api_docs import install_api_docs

# appointments: the appointments page
from parlour.web.appointments_page import router as appointments_router
from parlour.web.call_page import router as call_router  # video
from parlour.web.demo_hint import demo_logins
from parlour.web.navigation import (
    error_page,
    home_for,
    login_redirect,
    not_found_page,
    page_principal,
    safe_next,
)
from parlour.web.payments_pages import router as payments_pages_router  # payments
from parlour.web.render import STATIC, StaticAssets, build_templates, render
from parlour.web.settings_page import router as settings_router
from parlour.web.support_pages import router as support_router  # desk

router = APIRouter(include_in_schema=False)

# How much history a chat page carries; older messages load as the reader scrolls up.
FIRST_PAGE = 50
LIST_LIMIT = 100


def install_pages(app: FastAPI) -> None:
    """Mount the pages and their static files on the app."""
    app.state.templates = build_templates()
    install_api_docs(app)
    app.mount("/static", StaticAssets(directory=STATIC), name="static")
    app.include_router(router)
    app.include_router(settings_router)
    app.include_router(call_router)  # video
    app.include_router(appointments_router)  # appointments
    app.include_router(payments_pages_router)  # payments
    app.include_router(support_router)  # desk: /support, /support/embed, /widget.js


def _me(principal: Principal) -> dict[str, Any]:
    return {"id": principal.user_id, "role": principal.role, "display_name": principal.display_name}


def _dump(views: Sequence[BaseModel]) -> list[dict[str, Any]]:
    return [v.model_dump(mode="json") for v in views]


async def _staff_label(tx: UnitOfWork, principal: Principal) -> str:
    """What the tenant calls its staff ("expert", "mechanic", ...)."""
    tenant = await get_tenant(tx.session, principal.tenant_id)
    return str(tenant.setting("staff_label"))


def _staff_only(request: Request, principal: Principal, who: str) -> Response:
    return error_page(
        request, principal, status=403, heading="Not for you", text=f"This page is for {who}."
    )


@router.get("/")
async def home(request: Request, runtime: RuntimeDep) -> Response:
    principal = await page_principal(request, runtime)
    if principal is None:
        return login_redirect(request)
    return RedirectResponse(home_for(principal), status_code=303)


def cross_site_page(request: Request) -> Response:
    """The answer to a form posted from another site's page, or without the headers a browser
    sends (the CSRF rule for every page is in core/csrf.py, applied before any route)."""
    return error_page(
        request, None, status=403, heading="Not allowed", text="Use the form on this site."
    )


async def _login_form(
    request: Request,
    runtime: Runtime,
    *,
    next: str | None,
    tenant: str | None,
    email: str = "",
    error: str = "",
    status: int = 200,
) -> Response:
    # rls: the login page, before anyone signs in (demo accounts only with PARLOUR_DEMO).
    async with runtime.uow(write=False, scope=rls.ALL_TENANTS) as tx:
        demo = await demo_logins(tx.session, runtime.settings, tenant=tenant)
    return render(
        request,
        "login.html",
        title="Log in",
        status_code=status,
        next=next or "",
        tenant=tenant or "",
        email=email,
        error=error,
        demo=demo,
    )


@router.get("/login")
async def login_page(
    request: Request, runtime: RuntimeDep, next: str | None = None, tenant: str | None = None
) -> Response:
    target = safe_next(next)
    principal = await page_principal(request, runtime)
    if principal is not None:
        return RedirectResponse(target or home_for(principal), status_code=303)
    return await _login_form(request, runtime, next=target, tenant=tenant)


@router.post("/login")
async def login_submit(
    request: Request,
    runtime: RuntimeDep,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str | None, Form(max_length=2000)] = None,
    tenant: Annotated[str | None, Form(max_length=64)] = None,
) -> Response:
    """The login form: the same checks and cookie as POST /api/v1/auth/login, then back."""
    target = safe_next(next)
    try:
        user = await attempt_login(
            runtime, request, tenant=tenant or None, email=email, password=password
        )
    except AppError as exc:
        return await _login_form(
            request,
            runtime,
            next=target,
            tenant=tenant,
            email=email,
            error=exc.message,
            status=exc.status,
        )
    response = RedirectResponse(target or home_for(principal_for(user)), status_code=303)
    token_response(runtime, response, user)
    return response


@router.post("/logout")
async def logout(request: Request, runtime: RuntimeDep) -> Response:
    """Sign out: the cookie's token is revoked (not just forgotten) and the cookie cleared.
    The CSRF guard has already refused a cross-site POST."""
    await revoke_request_token(runtime, request)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE_NAME, path="/")
    return response


@router.get("/conversations")
async def customer_home(request: Request, runtime: RuntimeDep) -> Response:
    principal = await page_principal(request, runtime)
    if principal is None:
        return login_redirect(request)
    if principal.role != Role.customer:
        return RedirectResponse(home_for(principal), status_code=303)
    async with runtime.uow(write=False) as tx:
        mine = await conversations.list_conversations(tx, principal, limit=LIST_LIMIT)
    return render(
        request,
        "conversations.html",
        title="Your conversations",
        principal=principal,
        conversations=mine,
        data={"me": _me(principal)},
    )


@router.post("/conversations")
async def start_conversation(
    request: Request,
    runtime: RuntimeDep,
    subject: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """A customer opens a support conversation and lands in its chat room."""
    principal = await page_principal(request, runtime)
    if principal is None:
        return login_redirect(request)
    try:
        await limit_creation(runtime, request, principal)
        async with runtime.uow() as tx:
            view = await conversations.do_create_conversation(
                tx, principal, kind="support", customer_id=None, subject=subject.strip() or None
            )
    except AppError as exc:
        return error_page(
            request, principal, status=exc.status, heading="Could not start", text=exc.message
        )
    return RedirectResponse(f"/chat/{view.id}", status_code=303)


@router.get("/chat/{conversation_id}")
async def chat_room(conversation_id: str, request: Request, runtime: RuntimeDep) -> Response:
    principal = await page_principal(request, runtime)
    if principal is None:
        return login_redirect(request)
    try:
        # An admin's read is an observation (recorded): see conversations.do_open_for_reading.
        async with runtime.uow(write=conversations.reading_may_write(principal)) as tx:
            view = await conversations.get_conversation(tx, principal, conversation_id)
            history = await messages.list_messages(
                tx, principal, conversation_id=conversation_id, limit=FIRST_PAGE
            )
            label = await _staff_label(tx, principal)
    except NotFound:
        return not_found_page(request, principal)
    return render(
        request,
        "chat.html",
        title=view.subject or "Conversation",
        principal=principal,
        data={
            "me": _me(principal),
            "conversation": view.model_dump(mode="json"),
            "history": history.model_dump(mode="json"),
            "max_chars": runtime.settings.max_message_chars,
            "staff_label": label,
            "back": home_for(principal),
        },
    )


@router.get("/agent")
async def agent_inbox(request: Request, runtime: RuntimeDep) -> Response:
    principal = await page_principal(request, runtime)
    if principal is None:
        return login_redirect(request)
    if not principal.is_staff:
        return _staff_only(request, principal, "agents")
    async with runtime.uow(write=False) as tx:
        mine = await conversations.list_conversations(tx, principal, limit=LIST_LIMIT)
        queue = await conversations.list_conversations(
            tx, principal, scope="queue", limit=LIST_LIMIT
        )
        label = await _staff_label(tx, principal)
        unread = await unread_totals(tx, principal)  # inbox
    return render(
        request,
        "agent.html",
        title="Inbox",
        principal=principal,
        data={
            "me": _me(principal),
            "mine": _dump(mine),
            "queue": _dump(queue),
            "max_chars": runtime.settings.max_message_chars,
            "staff_label": label,
            "unread": unread.model_dump(mode="json"),  # inbox
        },
    )


@router.get("/admin")
async def admin_console(request: Request, runtime: RuntimeDep) -> Response:
    principal = await page_principal(request, runtime)
    if principal is None:
        return login_redirect(request)
    if not principal.is_admin:
        return _staff_only(request, principal, "admins")
    async with runtime.uow(write=False) as tx:
        live = [
            *await conversations.list_conversations(
                tx, principal, scope="all", status=Status.waiting, limit=conversations.MAX_LIST
            ),
            *await conversations.list_conversations(
                tx, principal, scope="all", status=Status.active, limit=conversations.MAX_LIST
            ),
        ]
        agents = await directory.list_users(tx.session, principal, role=Role.agent)
        label = await _staff_label(tx, principal)
        unread = await unread_totals(tx, principal)  # inbox
    live.sort(key=lambda c: c.created_at)
    return render(
        request,
        "admin.html",
        title="Live conversations",
        principal=principal,
        data={
            "me": _me(principal),
            "conversations": _dump(live),
            "agents": [{"id": a.id, "display_name": a.display_name} for a in agents],
            "staff_label": label,
            "unread": unread.model_dump(mode="json"),  # inbox
        },
    )
