"""Twilio's webhooks: inbound messages and delivery statuses, per channel account.

Each request must carry an `X-Twilio-Signature` that the twilio library's `RequestValidator`
accepts for the channel's auth token and the URL Twilio called — `PARLOUR_PUBLIC_URL` plus the
path and query (behind a proxy the URL we see is not the one Twilio signed), or this request's
own URL when that setting is empty. A missing or wrong signature is 403 and nothing is stored;
an unknown or disabled channel is 404. Answers are empty TwiML, fast: media are fetched later
by a job.
"""

from __future__ import annotations

import logging
import re
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Security
from fastapi.responses import Response
from fastapi.security import APIKeyHeader
from starlette.datastructures import FormData
from twilio.request_validator import RequestValidator

from parlour.channels import inbound
from parlour.channels import service as channels
from parlour.channels.phone import InvalidPhoneNumber, from_twilio_address
from parlour.channels.service import TwilioAccount
from parlour.core import rls
from parlour.core.errors import BadRequest, Forbidden, NotFound
from parlour.core.http import error_responses
from parlour.core.proxies import client_ip
from parlour.deps import RuntimeDep
from parlour.runtime import Runtime

log = logging.getLogger(__name__)

router = APIRouter(prefix="/webhooks/twilio", tags=["webhooks"])

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
# Bad signatures one client address may send per minute before it is refused outright.
BAD_SIGNATURE_RATE = 30

TWILIO_SIGNATURE = APIKeyHeader(
    name="X-Twilio-Signature",
    scheme_name="twilioSignature",
    description="Twilio's signature of the request (HMAC-SHA1 of the URL and the form "
    "parameters with the channel's auth token).",
    auto_error=False,
)
TwilioSignature = Annotated[str | None, Security(TWILIO_SIGNATURE)]
_ID = re.compile(r"[A-Za-z0-9_\-]{1,64}")
ChannelIdPath = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]

FORM_BODY: dict[str, Any] = {
    "requestBody": {
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {"type": "object", "additionalProperties": {"type": "string"}}
            }
        }
    }
}
WEBHOOK_DOC: dict[str, Any] = dict(
    response_class=Response,
    responses={
        200: {"content": {"text/xml": {}}, "description": "Empty TwiML."},
        **error_responses(400, 403, 404, 413, 422, 429),
    },
    openapi_extra=FORM_BODY,
)


def _twiml() -> Response:
    return Response(EMPTY_TWIML, media_type="text/xml")


def signed_url(request: Request, runtime: Runtime) -> str:
    """The URL Twilio signed: the public base, this path and query."""
    base = runtime.settings.public_url.rstrip("/")
    if not base:
        return str(request.url)
    query = request.url.query
    return base + request.url.path + (f"?{query}" if query else "")


async def _verified(
    request: Request, runtime: Runtime, channel_id: str, signature: str | None
) -> tuple[TwilioAccount, FormData]:
    """The channel's account and the form Twilio sent, once its signature checks out."""
    # rls: the channel id in the URL is all that names the tenant; found, the request acts as
    # that tenant's service (the signature is checked before anything is written).
    async with runtime.uow(write=False, scope=rls.ALL_TENANTS) as tx:
        account = await channels.twilio_account(
            tx.session, channel_id, server_secret=runtime.secret_key
        )
    if account is None or not account.enabled:
        raise NotFound("Channel not found.", code="channel_not_found")
    rls.enter(rls.DbScope.service(account.tenant_id))
    form = await request.form()
    params = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    validator = RequestValidator(account.auth_token)
    if not signature or not validator.validate(signed_url(request, runtime), params, signature):
        await runtime.limiter.hit(
            f"twilio-bad-signature:{client_ip(request)}", limit=BAD_SIGNATURE_RATE
        )
        log.warning("twilio webhook for channel %s: bad or missing signature", channel_id)
        raise Forbidden("The X-Twilio-Signature is missing or wrong.", code="invalid_signature")
    return account, form


def _field(form: FormData, name: str, max_chars: int = 128) -> str:
    value = form.get(name)
    # No NUL ever reaches the database (PostgreSQL refuses it in text).
    return value[:max_chars].replace("\x00", "") if isinstance(value, str) else ""


def _inbound(form: FormData) -> inbound.InboundMessage:
    sid = _field(form, "MessageSid") or _field(form, "SmsMessageSid")
    if not sid:
        raise BadRequest("No MessageSid.", code="invalid_webhook")
    try:
        sender = from_twilio_address(_field(form, "From", 64))
    except InvalidPhoneNumber as exc:
        raise BadRequest(str(exc), code="invalid_phone_number") from exc
    try:
        count = min(int(_field(form, "NumMedia") or 0), inbound.MAX_MEDIA)
    except ValueError:
        count = 0
    media = tuple(
        inbound.Media(url=url, content_type=_field(form, f"MediaContentType{i}", 128))
        for i in range(count)
        if (url := _field(form, f"MediaUrl{i}", 2048))
    )
    body = form.get("Body")
    return inbound.InboundMessage(
        message_sid=sid,
        from_number=sender,
        body=body.replace("\x00", "") if isinstance(body, str) else "",
        profile_name=_field(form, "ProfileName", 120) or None,
        media=media,
    )


@router.post("/{channel_id}/messages", **WEBHOOK_DOC)
async def twilio_inbound_message(
    channel_id: ChannelIdPath, request: Request, runtime: RuntimeDep, _sig: TwilioSignature
) -> Response:
    """A customer's WhatsApp or SMS message (Twilio's "A message comes in" webhook). Stored
    once per MessageSid, in the contact's open conversation on this channel or a new one."""
    account, form = await _verified(request, runtime, channel_id, _sig)
    message = _inbound(form)
    async with runtime.uow() as tx:
        received = await inbound.do_receive(
            tx, account, message, max_chars=runtime.settings.max_message_chars
        )
    log.info(
        "twilio message %s on channel %s: %s",
        message.message_sid,
        channel_id,
        "retry, nothing new" if received.duplicate else f"in {received.conversation_id}",
    )
    return _twiml()


@router.post("/{channel_id}/status", **WEBHOOK_DOC)
async def twilio_status_callback(
    channel_id: ChannelIdPath, request: Request, runtime: RuntimeDep, _sig: TwilioSignature
) -> Response:
    """Twilio's StatusCallback for a message we sent: moves its delivery status forward
    (never back). The URL carries our message id (`?message_id=`), so a callback that comes
    before the send's answer was recorded still finds its message."""
    account, form = await _verified(request, runtime, channel_id, _sig)
    sid = _field(form, "MessageSid") or _field(form, "SmsSid")
    status = _field(form, "MessageStatus") or _field(form, "SmsStatus")
    if not sid or not status:
        raise BadRequest("No MessageSid or MessageStatus.", code="invalid_webhook")
    message_id = request.query_params.get("message_id", "")
    async with runtime.uow() as tx:
        await inbound.do_record_status(
            tx,
            account,
            message_sid=sid,
            twilio_status=status,
            message_id=message_id if _ID.fullmatch(message_id) else None,
            error_code=_field(form, "ErrorCode", 16) or None,
        )
    return _twiml()
