"""Reading inbound mail: bodies, HTML, quoted replies, attachments, ids (no database)."""

from __future__ import annotations

from email.message import EmailMessage

from parlour.mail.addresses import normalise, plus_tag, reply_address
from parlour.mail.html_text import html_to_text
from parlour.mail.parsing import parse_mail
from parlour.mail.quotes import trim_quoted

PDF = b"%PDF-1.4\n% test\n"


def _mail(**headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = headers.pop("From", "Ann Smith <Ann@Example.com>")
    msg["To"] = headers.pop("To", "support@acme.example")
    msg["Subject"] = headers.pop("Subject", "Re: Broken kettle")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    return msg


def test_plain_text_is_preferred_and_the_quote_trimmed() -> None:
    msg = _mail(Message_ID="<m1@mail.example>")
    msg.set_content(
        "It works now, thanks!\n\nOn Tue, 1 Dec 2026 at 10:00, Acme Support "
        "<support@acme.example> wrote:\n> Try turning it off and on.\n> Regards\n"
    )
    msg.add_alternative("<p>It works now, <b>HTML</b> version</p>", subtype="html")
    parsed = parse_mail(msg.as_bytes())
    assert parsed.text == "It works now, thanks!"
    assert not parsed.html_only
    assert parsed.message_id == "m1@mail.example"
    assert (parsed.from_address, parsed.from_name) == ("ann@example.com", "Ann Smith")
    assert parsed.topic == "Broken kettle"
    assert parsed.header_recipients == ("support@acme.example",)


def test_html_only_mail_becomes_safe_text() -> None:
    msg = _mail()
    msg.set_content(
        "<html><head><title>t</title><style>p{color:red}</style></head><body>"
        "<p>Hello &amp; welcome &lt;b&gt;</p><script>alert('x')</script>"
        "<ul><li>one</li><li>two</li></ul><img src=x onerror=alert(1)>"
        "<div class='gmail_quote'>On Mon wrote:<blockquote>old words</blockquote></div>"
        "</body></html>",
        subtype="html",
    )
    parsed = parse_mail(msg.as_bytes())
    assert parsed.html_only
    assert parsed.text == "Hello & welcome <b>\n- one\n- two"
    for gone in ("alert", "color:red", "old words", "onerror", "<script"):
        assert gone not in parsed.text


def test_attachments_are_kept_with_their_names() -> None:
    msg = _mail()
    msg.set_content("See the invoice.")
    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="invoice.pdf")
    msg.add_attachment(b"a,b\n1,2\n", maintype="text", subtype="csv", filename="data.csv")
    parsed = parse_mail(msg.as_bytes())
    assert parsed.text == "See the invoice."
    assert [(a.filename, a.data) for a in parsed.attachments] == [
        ("invoice.pdf", PDF),
        ("data.csv", b"a,b\n1,2\n"),
    ]


def test_threading_ids_most_direct_first() -> None:
    msg = _mail(
        Message_ID="<new@x>", In_Reply_To="<b@acme>", References="<root@x> <a@acme> <b@acme>"
    )
    msg.set_content("hi")
    parsed = parse_mail(msg.as_bytes())
    assert parsed.thread_ids == ["b@acme", "a@acme", "root@x"]


def test_a_mail_without_message_id_gets_a_stable_one() -> None:
    msg = _mail()
    msg.set_content("no id")
    raw = msg.as_bytes()
    assert parse_mail(raw).message_id.startswith("sha256:")
    assert parse_mail(raw).message_id == parse_mail(raw).message_id


def test_garbage_is_read_without_raising() -> None:
    for raw in (
        b"",
        b"\x00\xff\xfe",
        b"From: <<<>>>\r\n\r\nbody",
        b"Content-Type: multipart/x\n\n",
    ):
        parsed = parse_mail(raw)
        assert parsed.from_address is None


def test_quote_separators() -> None:
    assert trim_quoted("New\n\n-----Original Message-----\nFrom: x\nold") == "New"
    assert trim_quoted("New\n\nFrom: Support <s@a.example>\nSent: Monday\nTo: me\n\nold") == "New"
    assert trim_quoted("New\nOn Tue, 1 Dec 2026, Support <s@a.example>\nwrote:\n> old") == "New"
    assert trim_quoted("New\n-- \nAnn, Sales") == "New"
    assert trim_quoted("> only a quote") == "> only a quote"
    assert trim_quoted("Le mar. 1 déc. 2026, Support a écrit :") != ""


def test_html_to_text_decodes_entities_and_drops_styles() -> None:
    text = html_to_text("<style>x{}</style><p>a&nbsp;&lt;script&gt;</p><br>b")
    assert text == "a <script>\nb"


def test_addresses() -> None:
    assert normalise(" Support@Acme.Example ") == "support@acme.example"
    assert normalise("not an address") is None
    assert normalise("a\x00@b.example") is None
    assert plus_tag("support+abc@acme.example") == ("support@acme.example", "abc")
    assert plus_tag("support@acme.example") is None
    assert reply_address("support@acme.example", "tok") == "support+tok@acme.example"
