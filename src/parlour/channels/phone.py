"""Phone numbers in one form, E.164 ("+14155550100"), whatever way they were written."""

from __future__ import annotations

import phonenumbers

# Twilio writes WhatsApp addresses as "whatsapp:+14155550100".
WHATSAPP_PREFIX = "whatsapp:"


class InvalidPhoneNumber(ValueError):
    pass


def to_e164(raw: str) -> str:
    """The number in E.164. It must carry its country code ("+44 20 7946 0958"): a channel
    serves people anywhere, so no region is assumed."""
    try:
        parsed = phonenumbers.parse(raw.strip(), None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber(
            f"{raw!r} is not a phone number with its country code (+...)"
        ) from exc
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidPhoneNumber(f"{raw!r} is not a possible phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def from_twilio_address(raw: str) -> str:
    """E.164 from a Twilio `From`/`To` ("whatsapp:+1..." or "+1...")."""
    return to_e164(raw.removeprefix(WHATSAPP_PREFIX))


def to_twilio_address(number: str, *, whatsapp: bool) -> str:
    """How Twilio wants a number: prefixed with "whatsapp:" on WhatsApp."""
    return f"{WHATSAPP_PREFIX}{number}" if whatsapp else number
