"""create_app(settings): routers, error handling, and a lifespan that builds the runtime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse

from parlour import __version__
from parlour.ai.routes import router as ai_router  # ai:

# appointments: REST for appointments, availability and slots
from parlour.appointments.routes import experts_router as appointment_experts_router
from parlour.appointments.routes import router as appointments_router
from parlour.attachments.routes import router as attachments_router
from parlour.attachments.routes import upload_limit
from parlour.auth.routes import me_router
from parlour.auth.routes import router as auth_router
from parlour.auth.users_routes import api_keys_router
from parlour.auth.users_routes import router as users_router
from parlour.calls.routes import router as calls_router  # video
from parlour.canned.routes import router as canned_router
from parlour.channels.routes import conversation_router as channel_conversation_router
from parlour.channels.routes import router as channels_router  # twilio:
from parlour.channels.webhook_routes import router as twilio_webhook_router  # twilio:
from parlour.config import Settings
from parlour.conversations.routes import router as conversations_router
from parlour.core import csrf
from parlour.core.csrf import CsrfGuard
from parlour.core.http import BodySizeLimit, error_response, install_error_handlers
from parlour.core.logredact import install_redaction
from parlour.core.migrations import SchemaOutdated, schema_status
from parlour.core.proxies import ForwardedHeaders, TrustedProxies
from parlour.core.rls import ResetScope  # rls:
from parlour.deadlines.routes import router as cron_router
from parlour.deps import credential_from
from parlour.jobs.routes import router as jobs_router
from parlour.mail.routes import router as email_webhook_router  # email:
from parlour.messages.routes import router as messages_router
from parlour.payments.routes import router as payments_router  # payments
from parlour.ratings.routes import router as ratings_router  # timing
from parlour.realtime.gateway import router as realtime_router
from parlour.routing.routes import router as routing_router  # routing
from parlour.runtime import Runtime, build_runtime
from parlour.search.routes import router as search_router  # search
from parlour.tenants.routes import router as tenant_router
from parlour.tickets import cors as support_cors  # desk
from parlour.tickets.routes import router as tickets_router  # desk
from parlour.tickets.routes import support_router  # desk
from parlour.timing.routes import router as timing_router  # timing
from parlour.transcripts.routes import router as transcripts_router  # timing


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> FastAPI:
    """The ASGI app. Resources are built in the lifespan, never at import."""
    settings = settings or (runtime.settings if runtime else Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # An injected runtime (tests, embedding) is started and stopped by its owner.
        owned = runtime is None
        # After the server configured its logging: no `?token=` reaches a log line.
        install_redaction()
        rt = runtime or build_runtime(settings)
        if settings.check_schema_on_start:
            status = await schema_status(rt.engine)
            if not status.current:
                await rt.engine.dispose()
                raise SchemaOutdated(status)
        app.state.runtime = rt
        if owned:
            await rt.start()
        try:
            yield
        finally:
            if owned:
                await rt.stop()

    app = FastAPI(
        title="Parlour",
        version=__version__,
        summary="Live conversations between customers and the people who help them.",
        lifespan=lifespan,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # served by web/api_docs.py: local assets, our CSP
        redoc_url=None,
    )
    install_error_handlers(app)

    api = APIRouter(prefix="/api/v1")
    api.include_router(auth_router)
    api.include_router(me_router)
    api.include_router(users_router)
    api.include_router(api_keys_router)
    api.include_router(conversations_router)
    api.include_router(messages_router)
    api.include_router(realtime_router)
    api.include_router(tenant_router)
    api.include_router(jobs_router)
    api.include_router(cron_router)
    api.include_router(routing_router)  # routing
    api.include_router(calls_router)  # video
    # attachments: uploads and files, canned responses
    api.include_router(attachments_router)
    api.include_router(canned_router)
    # appointments
    api.include_router(appointments_router)
    api.include_router(appointment_experts_router)
    api.include_router(payments_router)  # payments
    # timing: time limits, ratings, transcripts and the tenant export
    api.include_router(timing_router)
    api.include_router(ratings_router)
    api.include_router(transcripts_router)
    # desk: tickets and the public support start
    api.include_router(tickets_router)
    api.include_router(support_router)
    api.include_router(channels_router)  # twilio:
    api.include_router(channel_conversation_router)  # twilio:
    api.include_router(twilio_webhook_router)  # twilio:
    api.include_router(search_router)  # search
    api.include_router(ai_router)  # ai: summaries, analyses, suggested replies
    api.include_router(email_webhook_router)  # email: inbound raw MIME
    app.include_router(api)

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"])
    async def readyz() -> JSONResponse:
        """The database answers and its schema is current."""
        rt: Runtime = app.state.runtime
        try:
            status = await schema_status(rt.engine)
        except Exception as exc:
            return JSONResponse(
                {"status": "unavailable", "reason": f"database: {exc.__class__.__name__}"}, 503
            )
        if not status.current:
            return JSONResponse(
                {"status": "unavailable", "reason": "schema outdated; run `parlour migrate`"}, 503
            )
        return JSONResponse({"status": "ready"})

    from parlour.web.pages import cross_site_page, install_pages

    install_pages(app)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_request_bytes,
        # attachments: uploads carry files up to their own limit (enforced by the handler too).
        per_path={
            "/api/v1/attachments": upload_limit(settings),
            "/api/v1/webhooks/email": settings.email_max_bytes,  # email:
        },
    )
    # desk: CORS for the public support API, the tenant's widget origins only (inside the CSRF
    # guard: a cross-site cookie write is refused as CSRF first).
    app.add_middleware(
        support_cors.SupportCors,
        origin_allowed=settings.origin_allowed,
        refusal=lambda: error_response(403, support_cors.CODE, support_cors.MESSAGE),
    )
    # One CSRF rule for every route, API and pages alike (core/csrf.py says what and why).
    app.add_middleware(
        CsrfGuard,
        origin_allowed=settings.origin_allowed,
        uses_cookie=lambda conn: credential_from(conn)[1],
        is_api=lambda path: path.startswith("/api/"),
        api_refusal=lambda: error_response(403, csrf.CODE, csrf.MESSAGE),
        page_refusal=cross_site_page,
    )
    # Outermost: everything inside sees the client address and scheme the proxy saw.
    app.add_middleware(ForwardedHeaders, trusted=TrustedProxies(settings.trusted_proxies))
    # rls: every request and socket starts with no row-level security scope (parlour.core.rls).
    app.add_middleware(ResetScope)
    return app
