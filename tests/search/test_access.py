"""Who finds what: search shows exactly what reading would (conversations.access), on SQLite
and PostgreSQL, through the HTTP API."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from parlour.auth.principal import Principal
from parlour.conversations.access import may_read, readable_by
from parlour.models.conversation import Conversation, Participant
from parlour.runtime import Runtime
from tests.api.support import World, assert_error, make_member, make_world
from tests.factories import auth
from tests.search.support import open_chat, say


async def _search(
    client: httpx.AsyncClient, headers: dict[str, str], q: str, **params: Any
) -> dict[str, Any]:
    response = await client.get("/api/v1/search", params={"q": q, **params}, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _ids(page: dict[str, Any]) -> set[str]:
    return {m["message_id"] for m in page["messages"]}


async def test_each_caller_finds_only_what_they_may_read(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    world: World = await make_world(runtime)
    foreign_agent = await make_member(runtime, "agent", tenant="elsewhere", name="Fred")
    mine = await open_chat(runtime, world.customer, agent=world.agent, subject="Carburettor")
    theirs = await open_chat(runtime, world.other_customer, subject="Carburettor too")
    foreign = await open_chat(runtime, world.foreign_customer, subject="Carburettor abroad")
    m1 = await say(runtime, world.customer, mine, "my carburettor leaks")
    m2 = await say(runtime, world.agent, mine, "a carburettor gasket fixes that")
    t1 = await say(runtime, world.other_customer, theirs, "carburettor question from Otto")
    f1 = await say(runtime, world.foreign_customer, foreign, "carburettor abroad")

    expected = {
        "customer": ({m1, m2}, {mine.id}),
        "other_customer": ({t1}, {theirs.id}),
        "agent": ({m1, m2}, {mine.id}),
        "other_agent": (set(), set()),  # staff, but in neither conversation
        # An admin's message hits come only from where reading records nothing (both are
        # open and the admin takes no part): the conversations themselves are still found.
        "admin": (set(), {mine.id, theirs.id}),
        "api_key": ({m1, m2, t1}, {mine.id, theirs.id}),
        "foreign_admin": (set(), {foreign.id}),
        "foreign_api_key": ({f1}, {foreign.id}),
    }
    headers = dict(world.headers, foreign_agent=auth(runtime, foreign_agent))
    expected["foreign_agent"] = (set(), set())
    for caller, (messages, conversations) in expected.items():
        page = await _search(client, headers[caller], "carburettor")
        assert _ids(page) == messages, caller
        assert {c["conversation_id"] for c in page["conversations"]} == conversations, caller
        # Nothing of a conversation the caller may not read appears anywhere in the answer.
        for other in {mine.id, theirs.id, foreign.id} - conversations:
            assert other not in str(page), caller
    response = await client.get("/api/v1/search", params={"q": "carburettor"})
    assert_error(response, 401)


async def test_system_messages_about_staff_are_not_found(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    """The transcript's system lines ('Abe joined the conversation', observations) name
    staff; they are not searchable, so a customer cannot look up who handled what."""
    world = await make_world(runtime)
    chat = await open_chat(runtime, world.customer, agent=world.agent)
    await client.post(f"/api/v1/conversations/{chat.id}/observe", headers=world.headers["admin"])
    for caller in ("customer", "agent", "admin"):
        for q in ("joined", "Abe", "observing", "conversation"):
            page = await _search(client, world.headers[caller], q)
            assert page["messages"] == [], (caller, q)
    # The agent's own words are found, under the agent's name.
    await say(runtime, world.agent, chat, "Abe here, happy to help")
    [hit] = (await _search(client, world.headers["customer"], "Abe"))["messages"]
    assert hit["sender_name"] == "Abe" and hit["kind"] == "text"


async def test_filters_never_widen_access(client: httpx.AsyncClient, runtime: Runtime) -> None:
    world = await make_world(runtime)
    theirs = await open_chat(runtime, world.other_customer, agent=world.agent)
    await say(runtime, world.other_customer, theirs, "radiator fan")
    for params in ({"agent": world.agent.user_id}, {"status": "active"}, {"channel": "web"}):
        page = await _search(client, world.headers["customer"], "radiator", **params)
        assert page["messages"] == [] and page["conversations"] == []


async def test_readable_by_is_may_read_as_sql(runtime: Runtime) -> None:
    """The condition search filters with says yes exactly where `may_read` does, for every
    kind of caller and conversation."""
    world = await make_world(runtime)
    chats = [
        await open_chat(runtime, world.customer, agent=world.agent),
        await open_chat(runtime, world.other_customer),
        await open_chat(runtime, world.foreign_customer),
    ]
    callers: list[Principal] = [
        world.customer,
        world.other_customer,
        world.agent,
        world.other_agent,
        world.admin,
        world.foreign_admin,
        world.foreign_customer,
        Principal.system_actor(world.admin.tenant_id),
        Principal(tenant_id=world.admin.tenant_id, role="admin", api_key_id="key"),
    ]
    async with runtime.uow(write=False) as tx:
        for who in callers:
            listed = set(await tx.session.scalars(select(Conversation.id).where(readable_by(who))))
            for chat in chats:
                conversation = await tx.session.get(Conversation, chat.id)
                assert conversation is not None
                participant = None
                if who.user_id is not None:
                    participant = await tx.session.scalar(
                        select(Participant).where(
                            Participant.conversation_id == chat.id,
                            Participant.user_id == who.user_id,
                        )
                    )
                assert (chat.id in listed) == may_read(who, conversation, participant), who


async def test_an_admin_finds_messages_only_where_reading_records_nothing(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    """Reading an open conversation makes an admin an observer (so nobody reads silently):
    search shows an admin messages only from conversations they take part in or that ended.
    The conversations themselves (subject, customer) are still found; a service key, which
    never observes, finds every message of the tenant."""
    world = await make_world(runtime)
    open_one = await open_chat(runtime, world.customer, agent=world.agent, subject="Gasket")
    joined = await open_chat(runtime, world.other_customer, agent=world.admin, subject="Gasket")
    ended = await open_chat(runtime, world.customer, subject="Gasket")
    hidden = await say(runtime, world.customer, open_one, "the gasket leaks again")
    shown = await say(runtime, world.other_customer, joined, "gasket arrived")
    old = await say(runtime, world.customer, ended, "gasket was fine")
    ending = await client.post(
        f"/api/v1/conversations/{ended.id}/end", json={}, headers=world.headers["agent"]
    )
    if ending.status_code != 200:  # the agent takes no part in it: the admin ends it
        ending = await client.post(
            f"/api/v1/conversations/{ended.id}/end", json={}, headers=world.headers["admin"]
        )
    assert ending.status_code == 200, ending.text

    page = await _search(client, world.headers["admin"], "gasket")
    assert _ids(page) == {shown, old}
    assert hidden not in str(page)
    assert {c["conversation_id"] for c in page["conversations"]} == {
        open_one.id,
        joined.id,
        ended.id,
    }
    # Searching recorded nothing: the admin is still no participant of the open one.
    async with runtime.uow(write=False) as tx:
        observer = await tx.session.scalar(
            select(Participant).where(
                Participant.conversation_id == open_one.id,
                Participant.user_id == world.admin.user_id,
            )
        )
    assert observer is None
    # Once the admin observes it (a recorded read), its messages are found too.
    observe = await client.post(
        f"/api/v1/conversations/{open_one.id}/observe", headers=world.headers["admin"]
    )
    assert observe.status_code in (200, 201), observe.text
    assert hidden in _ids(await _search(client, world.headers["admin"], "gasket"))
    assert _ids(await _search(client, world.headers["api_key"], "gasket")) == {hidden, shown, old}
