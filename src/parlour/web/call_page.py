"""video: the call page, `/call/{id}`: WebRTC video between a conversation's customer and its
current agent, with the conversation's chat beside it (the same chat room module as /chat).

Only the call's two parties get the page; anyone else gets the same 404 as for a conversation
that does not exist. The page carries no ICE servers: its script reads them from
`GET /api/v1/conversations/{id}/call` (parties only), so TURN credentials never sit in HTML.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from parlour.auth.service import get_tenant
from parlour.calls import service as calls
from parlour.conversations import service as conversations
from parlour.core.errors import ConversationEnded, NotFound
from parlour.deps import RuntimeDep
from parlour.messages import service as messages
from parlour.web.navigation import home_for, login_redirect, not_found_page, page_principal
from parlour.web.render import render

router = APIRouter(include_in_schema=False)

FIRST_PAGE = 50


@router.get("/call/{conversation_id}")
async def call_page(conversation_id: str, request: Request, runtime: RuntimeDep) -> Response:
    principal = await page_principal(request, runtime)
    if principal is None:
        return login_redirect(request)
    try:
        async with runtime.uow(write=False) as tx:
            ended = False
            try:
                parties = await calls.call_parties(tx, principal, conversation_id)
                role = parties.me.role
            except ConversationEnded:
                # One of the parties, after the end: the transcript, no call.
                ended = True
                role = None
            # Parties are participants: reading records no observation.
            view = await conversations.get_conversation(tx, principal, conversation_id)
            history = await messages.list_messages(
                tx, principal, conversation_id=conversation_id, limit=FIRST_PAGE
            )
            tenant = await get_tenant(tx.session, principal.tenant_id)
    except NotFound:
        return not_found_page(request, principal)
    return render(
        request,
        "call.html",
        title=view.subject or "Video call",
        principal=principal,
        data={
            "me": {
                "id": principal.user_id,
                "role": principal.role,
                "display_name": principal.display_name,
            },
            "conversation": view.model_dump(mode="json"),
            "history": history.model_dump(mode="json"),
            "max_chars": runtime.settings.max_message_chars,
            "staff_label": tenant.typed_settings.staff_label,
            "back": home_for(principal),
            "call_role": role,
            "ended": ended,
        },
    )
