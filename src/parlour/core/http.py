"""HTTP plumbing shared by every edge: error bodies and a request-size limit."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from parlour.core.errors import AppError
from parlour.core.schemas import ErrorResponse

log = logging.getLogger(__name__)


def error_response(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


def _describe(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{loc or 'body'}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "The request is invalid."


HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "too_large",
    415: "unsupported_media_type",
}


ERROR_DESCRIPTIONS = {
    400: "The request cannot be processed (a rule of the domain or an unreadable body).",
    401: "Authentication is required or the credential is invalid.",
    403: "The caller knows the resource but may not do this.",
    404: "Not found, or not the caller's to see.",
    409: "The request conflicts with the current state (e.g. `conversation_ended`).",
    413: "The request or the message is too large.",
    415: "The content's type is not accepted (an attachment's type is sniffed from its bytes).",
    422: "The input does not match the schema.",
    429: "Too many requests.",
    503: "Unavailable for now (busy, shutting down, the database away); retry shortly.",
}


# Validation error types raised (as PydanticCustomError) for schema-valid values outside what
# the domain can hold: answered 400 with the type as the code.
DOMAIN_VALUE_ERRORS = frozenset({"time_out_of_range"})


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the errors an operation may answer, each an ErrorResponse body
    (422 included: it replaces FastAPI's default, which is not what the API sends)."""
    return {
        status: {"model": ErrorResponse, "description": ERROR_DESCRIPTIONS[status]}
        for status in statuses
    }


def install_error_handlers(app: FastAPI) -> None:
    """Every error leaves as `{"error": {"code", "message"}}` with a fitting status."""

    @app.exception_handler(AppError)
    async def _app_error(_: Request, exc: AppError) -> JSONResponse:
        # HTTP asks every 401 to name the scheme that would work.
        headers = {"WWW-Authenticate": 'Bearer realm="parlour"'} if exc.status == 401 else None
        return error_response(exc.status, exc.code, exc.message, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        # A value the schema allows but the domain cannot hold (a time that overflows UTC) is
        # a 400 with its own code, like any other broken rule; the rest is a rejected schema.
        types = {str(e.get("type")) for e in exc.errors()}
        if types and types <= DOMAIN_VALUE_ERRORS:
            return error_response(400, types.pop(), _describe(exc))
        return error_response(422, "invalid_request", _describe(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = HTTP_CODES.get(exc.status_code, "http_error")
        # Keep the headers HTTP requires with some statuses (Allow on a 405).
        return error_response(exc.status_code, code, str(exc.detail), exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return error_response(500, "internal", "Something went wrong on our side.")


class BodySizeLimit:
    """Refuses request bodies over `max_bytes` with 413 before they reach a handler (pure ASGI).
    `per_path` gives exact paths another limit (uploads: the handler enforces its own)."""

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, per_path: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.default_max_bytes = max_bytes
        self.per_path = dict(per_path or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.per_path.get(scope.get("path", ""), self.default_max_bytes)
        await self._limited(scope, receive, send, max_bytes)

    async def _limited(self, scope: Scope, receive: Receive, send: Send, max_bytes: int) -> None:
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > max_bytes:
                await self._refuse(send, max_bytes)
                return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise _TooLarge(max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._refuse(send, max_bytes)

    async def _refuse(self, send: Send, max_bytes: int) -> None:
        body = json.dumps(
            {"error": {"code": "too_large", "message": _too_large_message(max_bytes)}}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _too_large_message(max_bytes: int) -> str:
    return f"Request bodies are limited to {max_bytes} bytes."


class _TooLarge(StarletteHTTPException):
    """Raised from `receive` mid-body. An HTTPException, because FastAPI turns any other error
    while reading the body into a 400; this one reaches the error handlers as the 413 it is."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, _too_large_message(max_bytes))
