"""Reading an inbound email with the standard `email` package (policy=default).

What a conversation needs from a message: its Message-ID and the ids it answers (threading),
who sent it, the recipients its headers name, its subject, the new text (plain text preferred;
HTML turned into text, never rendered; quoted replies trimmed) and its attachments. Malformed
mail is read as far as it goes: a header that cannot be parsed counts as absent.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser

from parlour.mail.addresses import normalise
from parlour.mail.html_text import html_to_text
from parlour.mail.quotes import trim_quoted

# A Message-ID longer than this is stored as its hash (the column holds 255 characters).
MAX_HEADER_ID = 250
_ANGLE_IDS = re.compile(r"<([^<>\s]{1,998})>")
# Headers that name where a message was delivered, most specific first.
_RECIPIENT_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "To", "Cc")
_REPLY_PREFIX = re.compile(r"^\s*((re|fwd?|aw|wg|sv|antw)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class MailAttachment:
    filename: str | None
    declared_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class ParsedMail:
    message_id: str  # without angle brackets; a hash of the bytes when the mail has none
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    from_address: str | None
    from_name: str
    subject: str
    text: str
    html_only: bool
    attachments: tuple[MailAttachment, ...]
    header_recipients: tuple[str, ...]

    @property
    def thread_ids(self) -> list[str]:
        """The ids this message answers, the most direct first."""
        seen: list[str] = []
        for mid in (*self.in_reply_to, *reversed(self.references)):
            if mid not in seen:
                seen.append(mid)
        return seen

    @property
    def topic(self) -> str:
        """The subject without its Re:/Fwd: prefixes."""
        return _REPLY_PREFIX.sub("", self.subject).strip()


def header_id(value: str) -> str:
    """A Message-ID as stored: the text between the angle brackets, hashed when too long."""
    value = value.strip().strip("<>").strip()
    if len(value) > MAX_HEADER_ID:
        return "sha256:" + hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()
    return value


def _header(msg: Message, name: str) -> str:
    try:
        value = msg.get(name)
    except Exception:  # a header the parser cannot make sense of counts as absent
        return ""
    return str(value) if value is not None else ""


def _ids(msg: Message, name: str) -> tuple[str, ...]:
    return tuple(header_id(m) for m in _ANGLE_IDS.findall(_header(msg, name)))


def _sender(msg: Message) -> tuple[str | None, str]:
    try:
        addresses = getattr(msg["From"], "addresses", ())
    except Exception:
        addresses = ()
    for a in addresses:
        address = normalise(a.addr_spec)
        if address:
            return address, (a.display_name or "").strip()
    return None, ""


def _recipients(msg: Message) -> tuple[str, ...]:
    found: list[str] = []
    for name in _RECIPIENT_HEADERS:
        try:
            values = msg.get_all(name) or []
        except Exception:
            continue
        for value in values:
            for a in getattr(value, "addresses", ()):
                address = normalise(a.addr_spec)
                if address and address not in found:
                    found.append(address)
    return tuple(found)


def _content(part: Message) -> str:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
        if isinstance(content, str):
            return content
    except (LookupError, ValueError, AssertionError, KeyError):
        pass  # an unknown charset or broken transfer encoding: decode what is there
    payload = part.get_payload(decode=True)
    return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""


def _is_attachment(part: Message) -> bool:
    if part.is_multipart():
        return False
    if part.get_content_disposition() == "attachment" or part.get_filename():
        return True
    return part.get_content_maintype() not in ("text", "multipart", "message")


def parse_mail(raw: bytes) -> ParsedMail:
    """What Parlour keeps of a raw RFC 5322 message."""
    msg = BytesParser(_class=EmailMessage, policy=policy.default).parsebytes(raw)
    assert isinstance(msg, EmailMessage)
    own_ids = _ids(msg, "Message-ID")
    message_id = own_ids[0] if own_ids else "sha256:" + hashlib.sha256(raw).hexdigest()
    try:
        body = msg.get_body(preferencelist=("plain", "html"))
    except Exception:
        body = None
    text, html_only = "", False
    if body is not None:
        content = _content(body)
        html_only = body.get_content_subtype() == "html"
        text = trim_quoted(html_to_text(content) if html_only else content)
    attachments = []
    for part in msg.walk():
        if part is body or not _is_attachment(part):
            continue
        data = part.get_payload(decode=True)
        if isinstance(data, bytes) and data:
            try:
                filename = part.get_filename()
            except Exception:
                filename = None
            attachments.append(MailAttachment(filename, part.get_content_type(), data))
    from_address, from_name = _sender(msg)
    return ParsedMail(
        message_id=message_id,
        in_reply_to=_ids(msg, "In-Reply-To"),
        references=_ids(msg, "References"),
        from_address=from_address,
        from_name=from_name,
        subject=" ".join(_header(msg, "Subject").split()),
        text=text,
        html_only=html_only,
        attachments=tuple(attachments),
        header_recipients=_recipients(msg),
    )
