"""Personal data in message text: card numbers (Luhn), emails, phone numbers, IBANs (mod 97).

Pure functions, no I/O: the send path masks stored text with them (when the tenant asks), the
jobs record what they found, and the OpenAI provider masks everything it sends. A finding is a
kind and a span of the text; the matched value itself is never stored anywhere else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers

CARD = "card"
EMAIL = "email"
PHONE = "phone"
IBAN = "iban"
KINDS = (CARD, EMAIL, PHONE, IBAN)

# 13 to 19 digits, single spaces or dashes between groups, not inside a longer number.
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d])")
_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}\b"
)
# A country code, two check digits, then groups of letters and digits (spaces allowed).
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")
# IBAN lengths of the countries a support desk sees most (ISO 13616 registry); an unknown
# country is checked on the whole match.
_IBAN_LENGTHS = {
    "AT": 20, "BE": 16, "CH": 21, "CZ": 24, "DE": 22, "DK": 18, "ES": 24, "FI": 18, "FR": 27,
    "GB": 22, "GR": 27, "HU": 28, "IE": 22, "IT": 27, "LU": 20, "NL": 18, "NO": 15, "PL": 28,
    "PT": 25, "SE": 24, "SK": 24,
}  # fmt: skip
_PLACEHOLDER = {CARD: "[card]", EMAIL: "[email]", PHONE: "[phone]", IBAN: "[iban]"}
# Longer text than this is only scanned for its first part by the phone matcher (its cost
# grows with the text; a message is limited to a few thousand characters anyway).
_MAX_SCAN = 20_000


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str
    start: int
    end: int


def luhn_valid(digits: str) -> bool:
    """Whether a string of digits passes the Luhn check (card numbers do; most others fail)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_valid(iban: str) -> bool:
    """Whether `iban` (no spaces, upper case) passes ISO 13616's mod-97 check."""
    if not 15 <= len(iban) <= 34 or not iban[:2].isalpha() or not iban[2:4].isdigit():
        return False
    known = _IBAN_LENGTHS.get(iban[:2])
    if known is not None and len(iban) != known:
        return False
    moved = iban[4:] + iban[:4]
    number = "".join(str(int(ch, 36)) for ch in moved)
    return int(number) % 97 == 1


def _cards(text: str) -> list[Finding]:
    found = []
    for m in _CARD.finditer(text):
        digits = re.sub(r"[ -]", "", m.group())
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            found.append(Finding(CARD, m.start(), m.end()))
    return found


def _ibans(text: str) -> list[Finding]:
    found = []
    for m in _IBAN.finditer(text):
        compact = m.group().replace(" ", "")
        length = _IBAN_LENGTHS.get(compact[:2], len(compact))
        if len(compact) < length:
            continue
        # Take exactly the country's length: a following upper-case word is not the IBAN.
        end, taken = m.start(), 0
        while taken < length:
            if text[end] != " ":
                taken += 1
            end += 1
        if iban_valid(compact[:length]):
            found.append(Finding(IBAN, m.start(), end))
    return found


def _emails(text: str) -> list[Finding]:
    return [Finding(EMAIL, m.start(), m.end()) for m in _EMAIL.finditer(text)]


def _phones(text: str, region: str) -> list[Finding]:
    matcher = phonenumbers.PhoneNumberMatcher(
        text[:_MAX_SCAN], region, leniency=phonenumbers.Leniency.VALID
    )
    return [Finding(PHONE, m.start, m.end) for m in matcher]


def detect(text: str, *, region: str = "US") -> list[Finding]:
    """Every piece of personal data in `text`, in order, without overlaps. `region` is the
    country whose national phone formats are recognised (international `+` numbers always
    are). Cards and IBANs win over a phone match on the same digits."""
    if not text:
        return []
    strong = _cards(text) + _ibans(text) + _emails(text)
    findings = list(strong)
    for phone in _phones(text, region):
        if not any(phone.start < f.end and f.start < phone.end for f in strong):
            findings.append(phone)
    findings.sort(key=lambda f: (f.start, -f.end))
    merged: list[Finding] = []
    for f in findings:
        if merged and f.start < merged[-1].end:
            continue
        merged.append(f)
    return merged


def mask(text: str, findings: list[Finding] | None = None, *, region: str = "US") -> str:
    """`text` with each finding replaced by a placeholder such as `[card]`."""
    findings = detect(text, region=region) if findings is None else findings
    if not findings:
        return text
    parts, last = [], 0
    for f in findings:
        parts.append(text[last : f.start])
        parts.append(_PLACEHOLDER[f.kind])
        last = f.end
    parts.append(text[last:])
    return "".join(parts)
