"""Search through the service, on SQLite (FTS5) and PostgreSQL (tsvector): relevance, phrases
and prefixes, filters, snippets, pages, and the index following the messages table."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from parlour.auth.principal import Principal
from parlour.core.clock import FrozenClock
from parlour.core.errors import BadRequest
from parlour.models.user import Role
from parlour.runtime import Runtime
from tests.factories import make_tenant, make_user
from tests.search.support import find, found_ids, open_chat, say, set_channel


async def _cast(rt: Runtime) -> tuple:  # type: ignore[type-arg]
    await make_tenant(rt)
    customer = await make_user(rt, Role.customer, name="Cara Jones")
    agent = await make_user(rt, Role.agent, name="Abe")
    admin = await make_user(rt, Role.admin, name="Ada")
    # A service key reads the whole tenant; an admin user finds messages only where reading
    # records nothing (tests/search/test_access.py): the key stands for tenant-wide search.
    service = Principal(tenant_id=admin.tenant_id, role="admin", api_key_id="key")
    return customer, agent, service


async def test_more_occurrences_and_shorter_messages_rank_first(frozen: Runtime) -> None:
    customer, agent, admin = await _cast(frozen)
    chat = await open_chat(frozen, customer, agent=agent)
    once = await say(
        frozen,
        customer,
        chat,
        "I bought a jacket last week and the zip broke, so I would like a refund if that is "
        "possible, or an exchange for the same jacket in a larger size, whatever is easier",
    )
    many = await say(frozen, customer, chat, "Refund please: refund, refund, full refund.")
    await say(frozen, agent, chat, "Let me look at your order.")
    for who in (customer, agent, admin):
        assert await found_ids(frozen, who, "refund") == [many, once]

    near = await say(frozen, agent, chat, "The blue jacket is back in stock.")
    far = await say(
        frozen,
        agent,
        chat,
        "Blue is the colour we ship most, in shirts, scarves, hats, socks and every size "
        "from small to large; the only thing we are out of is the winter jacket.",
    )
    assert await found_ids(frozen, customer, "blue jacket") == [near, far]
    # A phrase needs the words side by side, in order.
    assert await found_ids(frozen, customer, '"blue jacket"') == [near]
    assert await found_ids(frozen, customer, '"jacket blue"') == []


async def test_ties_are_ordered_newest_first_and_pages_do_not_overlap(
    frozen: Runtime, clock: FrozenClock
) -> None:
    customer, agent, _ = await _cast(frozen)
    chat = await open_chat(frozen, customer, agent=agent)
    ids = []
    for _ in range(7):
        clock.advance(seconds=30)
        ids.append(await say(frozen, customer, chat, "parcel"))
    first = await find(frozen, customer, "parcel", limit=3)
    assert [m.message_id for m in first.messages] == ids[::-1][:3]
    assert first.next_offset == 3
    second = await find(frozen, customer, "parcel", limit=3, offset=3)
    last = await find(frozen, customer, "parcel", limit=3, offset=6)
    seen = [m.message_id for page in (first, second, last) for m in page.messages]
    assert seen == ids[::-1]
    assert last.next_offset is None
    assert second.conversations == [] and last.conversations == []


async def test_prefixes_and_words_in_any_case(frozen: Runtime) -> None:
    customer, agent, _ = await _cast(frozen)
    chat = await open_chat(frozen, customer, agent=agent)
    refunded = await say(frozen, agent, chat, "Your order was REFUNDED yesterday.")
    refunding = await say(frozen, agent, chat, "We are refunding the shipping too.")
    await say(frozen, customer, chat, "A reference for my records?")
    assert set(await found_ids(frozen, customer, "refun*")) == {refunded, refunding}
    assert await found_ids(frozen, customer, "Refunded") == [refunded]
    assert await found_ids(frozen, customer, "refund") == []  # a word is a whole word
    # Every word must match (AND).
    assert await found_ids(frozen, customer, "refun* shipping") == [refunding]
    # Punctuation splits words the same way in the index and in the query.
    email = await say(frozen, customer, chat, "Write to cara.jones@example.com, thanks")
    assert await found_ids(frozen, customer, "cara.jones@example.com") == [email]
    assert await found_ids(frozen, customer, "example") == [email]


async def test_snippets_are_escaped_then_marked(frozen: Runtime) -> None:
    customer, agent, _ = await _cast(frozen)
    chat = await open_chat(frozen, customer, agent=agent)
    await say(
        frozen,
        customer,
        chat,
        '<script>alert("x")</script> <b>refund</b> & more ' + "filler " * 40 + "the end",
    )
    [hit] = (await find(frozen, customer, "refund")).messages
    assert "<script" not in hit.snippet and "<b>" not in hit.snippet
    assert hit.snippet.startswith("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;")
    assert "&lt;b&gt;<mark>refund</mark>&lt;/b&gt; &amp; more" in hit.snippet
    assert hit.snippet.endswith("…")  # cut after the window
    assert hit.snippet.count("<mark>") == 1
    # Only the marks are tags.
    assert hit.snippet.replace("<mark>", "").replace("</mark>", "").count("<") == 0


async def test_results_say_where_the_message_is(frozen: Runtime) -> None:
    customer, agent, _ = await _cast(frozen)
    chat = await open_chat(frozen, customer, agent=agent, subject="Broken zip")
    message_id = await say(frozen, agent, chat, "A courier collects the jacket tomorrow.")
    [hit] = (await find(frozen, customer, "courier")).messages
    assert hit.conversation_id == chat.id and hit.message_id == message_id
    assert hit.seq >= 3  # after the created and joined system messages
    assert hit.sender_id == agent.user_id and hit.sender_name == "Abe"
    assert (hit.channel, hit.conversation_channel) == ("web", "web")
    assert hit.conversation_status == "active" and hit.conversation_subject == "Broken zip"
    assert hit.snippet == "A <mark>courier</mark> collects the jacket tomorrow."


async def test_filters(frozen: Runtime, clock: FrozenClock) -> None:
    customer, agent, admin = await _cast(frozen)
    other_agent = await make_user(frozen, Role.agent, name="Nia")
    web = await open_chat(frozen, customer, agent=agent)
    start = clock.now()
    early = await say(frozen, customer, web, "invoice for march")
    clock.advance(days=2)
    sms = await open_chat(frozen, customer, agent=other_agent)
    await set_channel(frozen, sms, "sms")
    late = await say(frozen, customer, sms, "invoice for april")
    async with frozen.uow() as tx:
        from parlour.conversations import service as conversations

        await conversations.do_end(tx, admin, web.id, reason=None)

    assert set(await found_ids(frozen, admin, "invoice")) == {early, late}
    assert await found_ids(frozen, admin, "invoice", channel="sms") == [late]
    assert await found_ids(frozen, admin, "invoice", channel="whatsapp") == []
    assert await found_ids(frozen, admin, "invoice", status="ended") == [early]
    assert await found_ids(frozen, admin, "invoice", status="active") == [late]
    day = timedelta(days=1)
    assert await found_ids(frozen, admin, "invoice", since=start + day) == [late]
    assert await found_ids(frozen, admin, "invoice", until=start + day) == [early]
    assert await found_ids(frozen, admin, "invoice", since=start, until=start + 3 * day) == [
        late,
        early,
    ]
    assert await found_ids(frozen, admin, "invoice", agent_id=agent.user_id) == [early]
    assert await found_ids(frozen, admin, "invoice", agent_id=other_agent.user_id) == [late]
    assert await found_ids(frozen, admin, "invoice", agent_id=customer.user_id) == []
    with pytest.raises(BadRequest) as refused:
        await find(frozen, admin, "invoice", since=start + day, until=start)
    assert refused.value.code == "invalid_range"


async def test_conversations_match_by_subject_and_for_staff_by_customer(
    frozen: Runtime,
) -> None:
    customer, agent, admin = await _cast(frozen)
    chat = await open_chat(frozen, customer, agent=agent, subject="Gearbox noise")
    page = await find(frozen, customer, "gearbox")
    assert [c.conversation_id for c in page.conversations] == [chat.id]
    assert page.conversations[0].subject_html == "<mark>Gearbox</mark> noise"
    assert page.conversations[0].customer_name is None  # customers are not told their name
    # Staff also find it by the customer's name or email; a customer does not search people.
    for who in (agent, admin):
        by_name = await find(frozen, who, "jones")
        assert [c.conversation_id for c in by_name.conversations] == [chat.id]
        assert by_name.conversations[0].customer_name == "Cara Jones"
    assert (await find(frozen, customer, "jones")).conversations == []
    assert (await find(frozen, admin, "gear* noise")).conversations[0].conversation_id == chat.id


async def test_the_index_follows_edits_and_deletions_of_messages(frozen: Runtime) -> None:
    """The core has no edit or delete yet (retention, moderation and tenant removal will):
    the index is the database's job, so changing the rows directly must show in search."""
    customer, agent, _ = await _cast(frozen)
    chat = await open_chat(frozen, customer, agent=agent)
    edited = await say(frozen, customer, chat, "my tracking number is wrong")
    gone = await say(frozen, customer, chat, "tracking arrived late")
    async with frozen.uow() as tx:
        await tx.session.execute(
            text("UPDATE messages SET body = 'my parcel number is wrong' WHERE id = :id"),
            {"id": edited},
        )
        await tx.session.execute(text("DELETE FROM messages WHERE id = :id"), {"id": gone})
    assert await found_ids(frozen, customer, "tracking") == []
    assert await found_ids(frozen, customer, "parcel") == [edited]
    # A message turned into a system message leaves the index; and back again.
    async with frozen.uow() as tx:
        await tx.session.execute(
            text("UPDATE messages SET kind = 'system' WHERE id = :id"), {"id": edited}
        )
    assert await found_ids(frozen, customer, "parcel") == []
    async with frozen.uow() as tx:
        await tx.session.execute(
            text("UPDATE messages SET kind = 'text' WHERE id = :id"), {"id": edited}
        )
    assert await found_ids(frozen, customer, "parcel") == [edited]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("", "empty_query"),
        ("   ", "empty_query"),
        ('""', "empty_query"),
        ("* - ( ) : ^", "empty_query"),
        ("\x00", "empty_query"),
        ("a*", "prefix_too_short"),
        ("x" * 201, "query_too_long"),
        (" ".join(f"w{i}" for i in range(13)), "query_too_complex"),
    ],
)
async def test_queries_without_words_or_too_big_are_refused(
    frozen: Runtime, query: str, code: str
) -> None:
    customer, _, _ = await _cast(frozen)
    with pytest.raises(BadRequest) as refused:
        await find(frozen, customer, query)
    assert refused.value.code == code


async def test_relevance_is_computed_among_the_newest_matches(
    frozen: Runtime, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A common word would make a search rank every message holding it: only the newest
    CANDIDATES readable matches are ranked (here 3), so older ones need narrower words."""
    from parlour.search import repository

    monkeypatch.setattr(repository, "CANDIDATES", 3)
    customer, agent, _ = await _cast(frozen)
    chat = await open_chat(frozen, customer, agent=agent)
    old = await say(frozen, customer, chat, "invoice invoice invoice invoice")
    newer = []
    for i in range(3):
        clock.advance(minutes=1)
        newer.append(await say(frozen, customer, chat, f"invoice number {i} for the long order"))
    found = await found_ids(frozen, customer, "invoice")
    assert set(found) == set(newer) and old not in found
    # A narrower search reaches the old one.
    clock.advance(minutes=1)
    assert await found_ids(frozen, customer, '"invoice invoice"') == [old]
