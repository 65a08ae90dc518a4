"""The rules of the email channel: who may write in, which conversation a mail belongs to, and
what a reply carries out.

Threading (docs/email.md): a mail's tenant is the tenant of the email channel account that
received it. Within that tenant it goes to, in order, the conversation whose reply address
(`support+<token>@…`) it was sent to, the conversation of a Message-ID its `In-Reply-To` /
`References` name, or the sender's newest open email conversation; each only if that
conversation is the sender's own and has not ended. Otherwise it opens a new `support`
conversation (routed like the desk's) with its ticket. So a forged token or header can never
put a mail into someone else's conversation: at worst it starts a new one of the sender's.

Lock order: the contact's users row first (every mail of one sender takes turns on it, so a
replayed or concurrent copy finds the first), as the desk's support start does; then, for a new
conversation, the tenant's ticket counter; then the conversation (the message writer's lock).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from parlour.attachments import service as attachments
from parlour.attachments.inspection import Prepared
from parlour.auth.principal import Principal
from parlour.auth.service import do_create_user, find_user_by_email, lock_user, principal_for
from parlour.channels import service as channels
from parlour.conversations import service as conversations
from parlour.core.errors import AppError, BadRequest, Forbidden, NotFound
from parlour.core.ids import new_id
from parlour.core.uow import UnitOfWork
from parlour.mail import repository
from parlour.mail.addresses import domain_of, new_reply_token, normalise, plus_tag, reply_address
from parlour.mail.parsing import ParsedMail
from parlour.messages import service as messages
from parlour.models.conversation import Channel
from parlour.models.email import EmailMessageId, EmailThread
from parlour.models.user import Role, User
from parlour.tickets import service as tickets

EMAIL = "email"
INBOUND, OUTBOUND = "in", "out"
MAX_SUBJECT = 200
MAX_NAME = 120
# The References header of a reply names the thread's first id and its latest ones.
MAX_REFERENCES = 20
SENT, FAILED = "sent", "failed"


@dataclass(frozen=True, slots=True)
class EmailAccount:
    """An enabled email channel account (the channels package owns them)."""

    id: str
    tenant_id: str
    address: str
    display_name: str | None


async def find_account(tx: UnitOfWork, address: str) -> EmailAccount | None:
    """The enabled email channel account receiving at `address`, any tenant's."""
    channel = await channels.email_channel_for(tx.session, address)
    if channel is None or channel.address is None:
        return None
    return EmailAccount(channel.id, channel.tenant_id, channel.address, channel.display_name)


@dataclass(frozen=True, slots=True)
class Recipient:
    """A receiving address Parlour answers for: an email channel account, and the reply tag
    the address carried (unchecked until the mail is threaded)."""

    account: EmailAccount
    token: str | None = None


@dataclass(frozen=True, slots=True)
class StoredFile:
    """An attachment already prepared (sniffed, cleaned) and stored, waiting for its row."""

    filename: str
    prepared: Prepared
    storage_key: str
    thumbnail_key: str | None


@dataclass(frozen=True, slots=True)
class Delivery:
    """Where an inbound mail went."""

    tenant_id: str
    conversation_id: str
    message_id: str | None
    created: bool = False  # a new conversation (and ticket) was opened
    duplicate: bool = False  # the same Message-ID was stored before: nothing new


@dataclass(frozen=True, slots=True)
class OutboundFile:
    filename: str
    content_type: str
    storage_key: str


@dataclass(frozen=True, slots=True)
class OutboundReply:
    """Everything an agent's email reply carries."""

    message_id: str
    header_id: str
    from_address: str
    from_name: str | None
    to_address: str
    reply_to: str
    subject: str
    body: str
    in_reply_to: str | None
    references: list[str]
    files: list[OutboundFile] = field(default_factory=list)
    already_sent: bool = False


def refused(message: str, code: str) -> Forbidden:
    return Forbidden(message, code=code)


# -- receiving ---------------------------------------------------------------------------------


async def resolve_recipient(tx: UnitOfWork, address: str) -> Recipient | None:
    """The enabled email account `address` reaches (itself, or it with a reply tag), or None:
    unknown, disabled and malformed addresses are all the same "no"."""
    normal = normalise(address)
    if normal is None:
        return None
    account = await find_account(tx, normal)
    if account is not None:
        return Recipient(account)
    tagged = plus_tag(normal)
    if tagged is not None:
        account = await find_account(tx, tagged[0])
        if account is not None:
            return Recipient(account, token=tagged[1])
    return None


async def _contact(tx: UnitOfWork, tenant_id: str, address: str, name: str) -> User:
    """The tenant's customer with this address (made when new), its row locked."""
    user = await find_user_by_email(tx.session, tenant_id, address)
    if user is None:
        user = await do_create_user(
            tx.session,
            tenant_id=tenant_id,
            role=Role.customer,
            display_name=(name or address)[:MAX_NAME],
            email=address,
            password=None,
            now=tx.now,
        )
    if user.role != Role.customer or not user.is_active:
        # Staff write through Parlour itself; a deactivated customer writes nowhere.
        raise refused("This sender cannot open conversations here.", "sender_not_allowed")
    locked = await lock_user(tx.session, tenant_id, user.id)
    assert locked is not None
    return locked


async def _conversation_for(
    tx: UnitOfWork, recipient: Recipient, mail: ParsedMail, contact_id: str
) -> str | None:
    """The open conversation of this contact the mail continues, or None for a new one."""
    tenant_id = recipient.account.tenant_id
    candidates: list[str] = []
    if recipient.token:
        thread = await repository.thread_by_token(tx.session, tenant_id, recipient.token)
        if thread is not None:
            candidates.append(thread.conversation_id)
    by_header = await repository.conversations_by_header(tx.session, tenant_id, mail.thread_ids)
    candidates += [by_header[h] for h in mail.thread_ids if h in by_header]
    mine = await repository.open_conversations(tx.session, tenant_id, candidates, contact_id)
    for candidate in candidates:
        if candidate in mine:
            return candidate
    return await repository.latest_open_thread(tx.session, tenant_id, contact_id)


def _external_id(header_id: str) -> str | None:
    """The Message-ID as the message's `external_id`, when the column can hold it."""
    return header_id if len(header_id) <= messages.MAX_EXTERNAL_ID else None


def _body(mail: ParsedMail, notes: list[str], *, max_chars: int, has_files: bool) -> str:
    text = mail.text.strip()
    tail = "\n\n".join(notes)
    room = max_chars - (len(tail) + 2 if tail else 0)
    if len(text) > room:
        cut = "\n[… the rest of this email was cut: it was too long]"
        text = text[: max(room - len(cut), 0)].rstrip() + cut
    body = "\n\n".join(part for part in (text, tail) if part)
    if not body and not has_files:
        body = "(this email had no text)"
    return body


async def do_ingest(
    tx: UnitOfWork,
    recipient: Recipient,
    mail: ParsedMail,
    files: list[StoredFile],
    *,
    notes: list[str],
    max_chars: int,
    quota: attachments.UnsentQuota,
) -> Delivery:
    """Store an inbound mail as the sender's message in the conversation it continues (or a
    new one with its ticket). A Message-ID this tenant has stored already changes nothing."""
    account = recipient.account
    tenant_id = account.tenant_id
    if mail.from_address is None:
        raise BadRequest("The email has no sender address.", code="no_sender")
    if mail.from_address == account.address:
        raise refused("Mail from the channel's own address is not taken.", "mail_loop")
    contact = await _contact(tx, tenant_id, mail.from_address, mail.from_name)
    contact_id = contact.id
    # Under the contact's lock: a replay (or a concurrent copy) of this mail finds the first.
    if await repository.has_header(tx.session, tenant_id, mail.message_id):
        found = await repository.conversations_by_header(tx.session, tenant_id, [mail.message_id])
        return Delivery(tenant_id, found[mail.message_id], None, duplicate=True)
    system = Principal.system_actor(tenant_id)
    conversation_id = await _conversation_for(tx, recipient, mail, contact_id)
    created = conversation_id is None
    if conversation_id is None:
        subject = (mail.topic or mail.text.strip().split("\n")[0] or "Email")[:MAX_SUBJECT]
        view = await conversations.do_create_conversation(
            tx,
            system,
            kind=tickets.KIND,
            customer_id=contact_id,
            subject=subject,
            channel=Channel.email,
        )
        conversation_id = view.id
        await tickets.do_ensure_ticket(
            tx, conversation_id, tenant_id, contact_email=mail.from_address
        )
        repository.add(
            tx.session,
            EmailThread(
                conversation_id=conversation_id,
                tenant_id=tenant_id,
                channel_id=account.id,
                channel_address=account.address,
                contact_id=contact_id,
                contact_address=mail.from_address,
                subject=subject,
                reply_token=new_reply_token(),
                created_at=tx.now,
            ),
        )
    uploader = principal_for(contact)
    attachment_ids = []
    for f in files:
        record = await attachments.do_record_upload(
            tx,
            uploader,
            conversation_id,
            filename=f.filename,
            prepared=f.prepared,
            storage_key=f.storage_key,
            thumbnail_key=f.thumbnail_key,
            quota=quota,
        )
        attachment_ids.append(record.id)
    request = messages.SendRequest(
        system,
        conversation_id,
        _body(mail, notes, max_chars=max_chars, has_files=bool(files)),
        channel=EMAIL,
        external_id=_external_id(mail.message_id),
        sender_id=contact_id,
        attachment_ids=tuple(attachment_ids),
    )
    [result] = await messages.do_send_messages(tx, [request], max_chars=max_chars)
    if isinstance(result, AppError):
        raise result
    repository.add(
        tx.session,
        EmailMessageId(
            id=new_id(),
            tenant_id=tenant_id,
            conversation_id=conversation_id,
            message_id=result.id,
            header_id=mail.message_id,
            direction=INBOUND,
            created_at=tx.now,
        ),
    )
    await tx.session.flush()
    return Delivery(tenant_id, conversation_id, result.id, created=created)


# -- replying ----------------------------------------------------------------------------------


async def reply_address_of(tx: UnitOfWork, principal: Principal, conversation_id: str) -> str:
    """The conversation's reply address, for those who may read the conversation."""
    await conversations.get_conversation(tx, principal, conversation_id)
    thread = await repository.thread(tx.session, conversation_id, principal.tenant_id)
    if thread is None:
        raise NotFound("This conversation has no email thread.", code="email_thread_not_found")
    return reply_address(thread.channel_address, thread.reply_token)


def _re(subject: str) -> str:
    return subject if subject.lower().startswith("re:") else f"Re: {subject}"


async def do_prepare_reply(
    tx: UnitOfWork, principal: Principal, message_id: str, *, make_id: Callable[[str], str]
) -> OutboundReply:
    """What the email for a staff message says, and its Message-ID (made with `make_id(domain)`
    on the first attempt and kept, so every attempt sends the same id)."""
    message = await messages.get_message(tx, principal, message_id)
    thread = await repository.thread(tx.session, message.conversation_id, principal.tenant_id)
    if thread is None:
        raise NotFound("This conversation has no email thread.", code="email_thread_not_found")
    account = await find_account(tx, thread.channel_address)
    if account is None or account.tenant_id != principal.tenant_id:
        raise NotFound(
            f"The email channel {thread.channel_address} is disabled or gone.",
            code="email_channel_not_found",
        )
    own = await repository.outbound_id(tx.session, message_id)
    if own is None:
        own = EmailMessageId(
            id=new_id(),
            tenant_id=principal.tenant_id,
            conversation_id=message.conversation_id,
            message_id=message_id,
            header_id=make_id(domain_of(thread.channel_address)),
            direction=OUTBOUND,
            created_at=tx.now,
        )
        repository.add(tx.session, own)
        await tx.session.flush()
    earlier = [
        r
        for r in await repository.header_ids(tx.session, message.conversation_id)
        if r.id != own.id and not r.header_id.startswith("sha256:")
    ]
    inbound = [r.header_id for r in earlier if r.direction == INBOUND]
    ids = [r.header_id for r in earlier]
    references = ids if len(ids) <= MAX_REFERENCES else [ids[0], *ids[-(MAX_REFERENCES - 1) :]]
    files = []
    for meta in message.attachments:
        a = await attachments.get_readable(tx, principal, str(meta["id"]))
        files.append(OutboundFile(a.filename, a.content_type, a.storage_key))
    return OutboundReply(
        message_id=message_id,
        header_id=own.header_id,
        from_address=thread.channel_address,
        from_name=account.display_name,
        to_address=thread.contact_address,
        reply_to=reply_address(thread.channel_address, thread.reply_token),
        subject=_re(thread.subject),
        body=message.body,
        in_reply_to=(inbound or ids)[-1] if ids else None,
        references=references,
        files=files,
        already_sent=message.delivery_status == SENT,
    )


async def do_mark_delivery(
    tx: UnitOfWork, principal: Principal, message_id: str, *, status: str, header_id: str | None
) -> None:
    """Record that a reply was sent (its Message-ID becomes the message's `external_id`) or
    failed."""
    external_id = _external_id(header_id) if header_id else None
    await messages.do_set_delivery(
        tx, principal, message_id, status=status, external_id=external_id
    )
