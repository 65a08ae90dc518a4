"""`POST /api/v1/webhooks/email` (raw MIME): the secret, replays, forged threading, tenants,
HTML, limits; on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import httpx

from parlour.attachments.storage import LocalStorage, storage_for
from parlour.models.user import Role
from parlour.runtime import Runtime
from tests.factories import auth, make_tenant, make_user
from tests.mail.support import (
    PDF,
    WEBHOOK_SECRET,
    count_messages,
    email_channel,
    history,
    mail,
    post_email,
    threads,
)


async def _channel(runtime: Runtime, client: httpx.AsyncClient) -> str:
    tenant_id = await make_tenant(runtime)
    admin = await make_user(runtime, Role.admin)
    await email_channel(client, runtime, admin)
    return tenant_id


async def test_missing_wrong_or_unset_secret_is_401_and_stores_nothing(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await _channel(runtime, client)
    raw = mail(message_id="<a@x>").as_bytes()
    for secret in (None, "wrong", WEBHOOK_SECRET + "x", ""):
        r = await post_email(client, raw, secret=secret)
        assert r.status_code == 401, r.text
        assert r.json()["error"]["code"] == "unauthorized"
    r = await client.post(
        "/api/v1/webhooks/email",
        content=raw,
        headers={"Authorization": f"Basic {WEBHOOK_SECRET}"},
    )
    assert r.status_code == 401
    runtime.settings.email_webhook_secret = ""  # no secret configured: nobody gets in
    r = await post_email(client, raw, secret="")
    assert r.status_code == 401
    assert await count_messages(runtime) == 0


async def test_a_replayed_mail_is_stored_once_also_concurrently(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    tenant_id = await _channel(runtime, client)
    raw = mail(message_id="<once@mail.example>").as_bytes()
    answers = await asyncio.gather(*(post_email(client, raw) for _ in range(5)))
    assert [r.status_code for r in answers] == [200] * 5, [r.text for r in answers]
    assert sorted(r.json()["status"] for r in answers) == ["duplicate"] * 4 + ["stored"]
    again = await post_email(client, raw)
    assert again.json() == {"status": "duplicate", "deliveries": 1}
    [thread] = await threads(runtime)
    assert len(await history(runtime, tenant_id, thread.conversation_id)) == 1
    assert await count_messages(runtime) == 1


async def test_new_mails_from_one_sender_at_once_make_one_conversation(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    tenant_id = await _channel(runtime, client)
    raws = [mail(message_id=f"<m{i}@mail.example>", body=f"n{i}").as_bytes() for i in range(4)]
    answers = await asyncio.gather(*(post_email(client, raw) for raw in raws))
    assert [r.json()["status"] for r in answers] == ["stored"] * 4
    [thread] = await threads(runtime)
    assert len(await history(runtime, tenant_id, thread.conversation_id)) == 4


async def test_a_forged_reply_token_or_header_never_reaches_another_conversation(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    tenant_id = await _channel(runtime, client)
    r = await post_email(client, mail(message_id="<ann1@mail.example>").as_bytes())
    assert r.status_code == 200, r.text
    [ann] = await threads(runtime)
    ann_address = f"support+{ann.reply_token}@acme.example"

    # Mallory learned Ann's reply address and Message-ID: her mails start her own conversation.
    mallory = "Mallory <mallory@example.net>"
    await post_email(client, mail(sender=mallory, to=ann_address, body="inject 1").as_bytes())
    await post_email(
        client,
        mail(sender=mallory, body="inject 2", in_reply_to="<ann1@mail.example>").as_bytes(),
    )
    # A guessed token is just the channel's address: new mail.
    await post_email(
        client,
        mail(
            sender="Eve <eve@example.net>",
            to="support+aaaaaaaaaaaaaaaaaaaaaaaaaa@acme.example",
            body="guess",
        ).as_bytes(),
    )
    assert [m.body for m in await history(runtime, tenant_id, ann.conversation_id)] == [
        "It stopped heating this morning."
    ]
    by_contact = {t.contact_address: t for t in await threads(runtime)}
    assert set(by_contact) == {"ann@example.com", "mallory@example.net", "eve@example.net"}
    mallory_thread = by_contact["mallory@example.net"]
    assert [m.body for m in await history(runtime, tenant_id, mallory_thread.conversation_id)] == [
        "inject 1",
        "inject 2",
    ]


async def test_another_tenants_address_never_reaches_this_tenant(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    acme = await _channel(runtime, client)
    other = await make_tenant(runtime, "other")
    other_admin = await make_user(runtime, Role.admin, tenant="other")
    await email_channel(client, runtime, other_admin, address="help@other.example")
    await post_email(client, mail(message_id="<x1@mail.example>").as_bytes())
    [acme_thread] = await threads(runtime, acme)
    # The other tenant's address with acme's reply token, and a reply to acme's mail.
    await post_email(
        client,
        mail(
            to=f"help+{acme_thread.reply_token}@other.example",
            in_reply_to="<x1@mail.example>",
            body="to the other shop",
        ).as_bytes(),
    )
    [other_thread] = await threads(runtime, other)
    assert other_thread.conversation_id != acme_thread.conversation_id
    assert other_thread.contact_id != acme_thread.contact_id  # a contact per tenant
    assert [m.body for m in await history(runtime, acme, acme_thread.conversation_id)] == [
        "It stopped heating this morning."
    ]
    assert [m.body for m in await history(runtime, other, other_thread.conversation_id)] == [
        "to the other shop"
    ]
    # The other tenant's admin sees no trace of acme's conversation.
    r = await client.get(
        f"/api/v1/conversations/{acme_thread.conversation_id}",
        headers=auth(runtime, other_admin),
    )
    assert r.status_code == 404


async def test_html_only_mail_becomes_safe_text(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    tenant_id = await _channel(runtime, client)
    msg = mail()
    msg.set_content(
        "<html><body><p>Hi &amp; hello</p><script>document.cookie</script>"
        "<img src=x onerror=alert(1)><p>Bye</p></body></html>",
        subtype="html",
    )
    r = await post_email(client, msg.as_bytes())
    assert r.status_code == 200, r.text
    [thread] = await threads(runtime)
    [message] = await history(runtime, tenant_id, thread.conversation_id)
    assert message.body == "Hi & hello\nBye"


async def test_unknown_recipient_empty_body_and_size_limit(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await _channel(runtime, client)
    r = await post_email(client, mail(to="nobody@acme.example").as_bytes())
    assert (r.status_code, r.json()["error"]["code"]) == (404, "unknown_recipient")
    r = await post_email(client, mail().as_bytes(), to=["nobody@acme.example"])
    assert r.status_code == 404  # the envelope's recipients win over the headers
    r = await post_email(client, b"   ")
    assert (r.status_code, r.json()["error"]["code"]) == (400, "empty_email")
    big = mail(body="x" * (runtime.settings.email_max_bytes + 10)).as_bytes()
    r = await post_email(client, big)
    assert r.status_code == 413
    assert await count_messages(runtime) == 0


async def test_staff_addresses_and_our_own_address_may_not_write_in(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await _channel(runtime, client)
    agent = await make_user(runtime, Role.agent)
    async with runtime.uow(write=False) as tx:
        from parlour.models.user import User

        user = await tx.session.get(User, agent.user_id)
        assert user is not None and user.email
        agent_email = user.email
    r = await post_email(client, mail(sender=agent_email).as_bytes())
    assert (r.status_code, r.json()["error"]["code"]) == (403, "sender_not_allowed")
    r = await post_email(client, mail(sender="support@acme.example").as_bytes())
    assert (r.status_code, r.json()["error"]["code"]) == (403, "mail_loop")
    assert await count_messages(runtime) == 0


async def test_a_refused_attachment_is_noted_and_a_mail_without_id_is_still_deduplicated(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    tenant_id = await _channel(runtime, client)
    msg = mail(body="Two files.")  # no Message-ID: its bytes' hash names it
    msg.add_attachment(
        b"MZ\x90\x00" + b"\x00" * 200,
        maintype="application",
        subtype="x-msdownload",
        filename="setup.exe",
    )
    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="ok.pdf")
    raw = msg.as_bytes()
    assert (await post_email(client, raw)).json()["status"] == "stored"
    assert (await post_email(client, raw)).json()["status"] == "duplicate"
    [thread] = await threads(runtime)
    [message] = await history(runtime, tenant_id, thread.conversation_id)
    assert [a["filename"] for a in message.attachments] == ["ok.pdf"]
    assert message.body.startswith('Two files.\n\n[Attachment "setup.exe" was not kept: ')
    # The replay's copy of the file was deleted again: one file on disk.
    store = storage_for(runtime.settings)
    assert isinstance(store, LocalStorage)
    assert len(list(store.keys())) == 1
