"""REST for calls: what a call page needs before it starts signaling."""

from __future__ import annotations

from fastapi import APIRouter, Response

from parlour.auth.principal import Principal
from parlour.calls import service
from parlour.calls.schemas import CallPeer, CallRead
from parlour.core.http import error_responses
from parlour.deps import ConversationIdPath, PrincipalDep, RuntimeDep
from parlour.runtime import Runtime

router = APIRouter(prefix="/conversations", tags=["calls"])


def ice_config(runtime: Runtime) -> service.IceConfig:
    settings = runtime.settings
    return service.IceConfig(
        servers=settings.ice_servers,
        turn_secret=settings.turn_secret,
        turn_urls=settings.turn_urls,
        turn_ttl_seconds=settings.turn_ttl_seconds,
    )


async def read_call(runtime: Runtime, principal: Principal, conversation_id: str) -> CallRead:
    """The caller's call in this conversation (the call page reads it the same way)."""
    async with runtime.uow(write=False) as tx:
        parties = await service.call_parties(tx, principal, conversation_id)
        servers = await service.ice_servers(
            tx, parties, ice_config(runtime), server_secret=runtime.secret_key
        )
    peer = parties.peer
    return CallRead(
        conversation_id=parties.conversation_id,
        role="customer" if parties.polite else "agent",
        polite=parties.polite,
        peer=CallPeer(user_id=peer.user_id, display_name=peer.display_name) if peer else None,
        ice_servers=servers,
    )


@router.get(
    "/{conversation_id}/call",
    response_model=CallRead,
    responses=error_responses(400, 401, 404, 409, 422),
)
async def get_call(
    conversation_id: ConversationIdPath,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    response: Response,
) -> CallRead:
    """The call of a conversation whose kind allows calls (tenant setting `call_kinds`), for
    its customer and its current agent only: their side, the other party and the STUN/TURN
    servers. Anyone else gets 404 as for a conversation that does not exist; 409 once it has
    ended."""
    call = await read_call(runtime, principal, conversation_id)
    # TURN credentials: never kept by a cache.
    response.headers["Cache-Control"] = "no-store"
    return call
