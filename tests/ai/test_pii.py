"""Personal data detection: card numbers (Luhn), emails, phone numbers in several countries'
formats, IBANs (mod 97), and what must not be taken for them."""

from __future__ import annotations

import pytest

from parlour.ai import pii


def kinds(text: str, region: str = "US") -> list[tuple[str, str]]:
    return [(f.kind, text[f.start : f.end]) for f in pii.detect(text, region=region)]


@pytest.mark.parametrize(
    "card",
    [
        "4111111111111111",  # Visa test number
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "5555 5555 5555 4444",  # Mastercard
        "3782 822463 10005",  # Amex, 15 digits
        "4222222222222",  # 13 digits
        "6011 0009 9013 9424",  # Discover
        "3530111333300000",  # JCB
    ],
)
def test_card_numbers_that_pass_luhn_are_found(card: str) -> None:
    assert kinds(f"my card is {card}, thanks") == [("card", card)]
    assert pii.mask(f"my card is {card}, thanks") == "my card is [card], thanks"


@pytest.mark.parametrize(
    "number",
    [
        "4111111111111112",  # a card number with one digit off: fails Luhn
        "4111 1111 1111 1112",
        "1234567890123456",  # an order number of a card's length
        "2026120500001234",  # a date-stamped order number, 16 digits
        "9876543210986",  # 13 digits
        "1234-5678-9012-3456-789",  # 19 digits
    ],
)
def test_numbers_of_a_cards_length_that_fail_luhn_are_not_cards(number: str) -> None:
    assert not pii.luhn_valid(number.replace(" ", "").replace("-", ""))
    found = kinds(f"Order {number} has not arrived")
    assert ("card", number) not in found
    assert not any(k == "card" for k, _ in found)


def test_digits_inside_a_longer_number_are_not_a_card() -> None:
    # 20 digits: no 13-19 digit run inside it is taken on its own.
    assert not any(k == "card" for k, _ in kinds("tracking 41111111111111110000"))


def test_luhn() -> None:
    assert pii.luhn_valid("79927398713")
    assert not pii.luhn_valid("79927398710")


@pytest.mark.parametrize(
    "email",
    ["cara@example.com", "first.last+tag@mail.example.co.uk", "x_y-z@sub.domain.io"],
)
def test_emails(email: str) -> None:
    assert kinds(f"write to {email}.") == [("email", email)]


def test_not_emails() -> None:
    assert kinds("meet @ noon, or user@localhost, or a@b") == []


@pytest.mark.parametrize(
    ("text", "region", "phone"),
    [
        ("call +44 20 7946 0958 today", "US", "+44 20 7946 0958"),  # UK, international
        ("call (415) 555-2671 today", "US", "(415) 555-2671"),  # US, national
        ("call +1 415-555-2671 today", "DE", "+1 415-555-2671"),  # any region for +
        ("ruf an: 030 901820 bitte", "DE", "030 901820"),  # Germany, national
        ("appelez le 06 12 34 56 78 svp", "FR", "06 12 34 56 78"),  # France, national
        ("call +49 30 901820", "US", "+49 30 901820"),
        ("whatsapp +33 6 12 34 56 78", "US", "+33 6 12 34 56 78"),
    ],
)
def test_phone_numbers_in_several_countries_formats(text: str, region: str, phone: str) -> None:
    assert kinds(text, region) == [("phone", phone)]


def test_not_phone_numbers() -> None:
    assert kinds("it costs 19.99 and weighs 3 kg, in 2026") == []
    assert kinds("order 12345") == []


@pytest.mark.parametrize(
    "iban",
    [
        "DE89 3704 0044 0532 0130 00",
        "DE89370400440532013000",
        "GB82 WEST 1234 5698 7654 32",
        "FR14 2004 1010 0505 0001 3M02 606",
        "NL91ABNA0417164300",
    ],
)
def test_valid_ibans(iban: str) -> None:
    assert kinds(f"pay to {iban} OK") == [("iban", iban)]
    assert pii.iban_valid(iban.replace(" ", ""))


@pytest.mark.parametrize(
    "iban",
    [
        "DE89 3704 0044 0532 0130 01",  # a check digit off
        "GB82 WEST 1234 5698 7654 33",
        "NL91ABNA0417164301",
        "XX00 1234 5678 9012 3456",
    ],
)
def test_invalid_ibans_are_not_found(iban: str) -> None:
    assert not pii.iban_valid(iban.replace(" ", ""))
    assert not any(k == "iban" for k, _ in kinds(f"pay to {iban}"))


def test_everything_in_one_message_is_masked_in_place() -> None:
    text = (
        "Card 4111 1111 1111 1111, mail cara@example.com, phone +44 20 7946 0958, "
        "IBAN DE89 3704 0044 0532 0130 00, order 1234567890123456."
    )
    assert [k for k, _ in kinds(text)] == ["card", "email", "phone", "iban"]
    assert pii.mask(text) == (
        "Card [card], mail [email], phone [phone], IBAN [iban], order 1234567890123456."
    )


def test_spans_point_into_the_text() -> None:
    text = "x 4111111111111111 y"
    [finding] = pii.detect(text)
    assert (finding.start, finding.end) == (2, 18)


def test_empty_and_plain_text() -> None:
    assert pii.detect("") == []
    assert pii.mask("nothing personal here") == "nothing personal here"
