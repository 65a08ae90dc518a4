"""One error hierarchy: each error carries a stable `code`, a human message and an HTTP status.

    AppError
     ├── BadRequest (400)        ├── NotFound (404)
     ├── Unauthorized (401)      ├── Conflict (409) ── ConversationEnded
     ├── Forbidden (403)         ├── PayloadTooLarge (413)
     ├── RateLimited (429)       └── Unavailable (503)

Services raise these; the edges turn them into `{"error": {"code", "message"}}` (REST) or an
`error` frame (WebSocket). Services never raise HTTP exceptions.
"""

from __future__ import annotations


class AppError(Exception):
    status = 400
    code = "bad_request"
    message = "The request could not be processed."

    def __init__(self, message: str | None = None, *, code: str | None = None) -> None:
        self.message = message or type(self).message
        if code:
            self.code = code
        super().__init__(self.message)


class BadRequest(AppError):
    status = 400
    code = "bad_request"


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"
    message = "Authentication is required."


class Forbidden(AppError):
    status = 403
    code = "forbidden"
    message = "You may not do this."


class NotFound(AppError):
    status = 404
    code = "not_found"
    message = "Not found."


class Conflict(AppError):
    status = 409
    code = "conflict"
    message = "The request conflicts with the current state."


class ConversationEnded(Conflict):
    code = "conversation_ended"
    message = "This conversation has ended and accepts no new messages."


class PayloadTooLarge(AppError):
    status = 413
    code = "too_large"
    message = "The request is too large."


class RateLimited(AppError):
    status = 429
    code = "rate_limited"
    message = "Too many requests; slow down."


class Unavailable(AppError):
    """The server cannot take this now (shutting down, overloaded, the database away); the
    same request may succeed if retried later."""

    status = 503
    code = "unavailable"
    message = "The service is busy or unavailable; try again shortly."


def conversation_not_found() -> NotFound:
    """The one answer for a conversation that is missing *or* not the caller's to see."""
    return NotFound("Conversation not found.", code="conversation_not_found")
