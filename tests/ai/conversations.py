"""Realistic multi-turn conversations written for the summary tests (and the bench): a support
desk, a mechanic's diagnosis and a booking. Each lists the phrases a good summary names: the
customer's problem and the outcome."""

from __future__ import annotations

from dataclasses import dataclass

from parlour.ai.extractive import CUSTOMER, STAFF, Turn


@dataclass(frozen=True)
class Sample:
    name: str
    turns: list[Turn]
    problem: tuple[str, ...]  # each phrase must appear in the summary
    outcome: tuple[str, ...]


def _turns(*lines: tuple[str, str]) -> list[Turn]:
    return [Turn(seq, author, text) for seq, (author, text) in enumerate(lines, start=1)]


SUPPORT = Sample(
    "support",
    _turns(
        (CUSTOMER, "Hi there."),
        (
            CUSTOMER,
            "I was charged twice for my March subscription and the second charge is still "
            "on my card statement. Can you help?",
        ),
        (STAFF, "Hello! Sorry to hear that. Let me look at your account."),
        (STAFF, "Could you tell me the date of both charges?"),
        (CUSTOMER, "Both on March 3rd, 19.99 each. I already tried contacting my bank."),
        (CUSTOMER, "They said the merchant has to reverse it."),
        (STAFF, "Thanks, I can see the duplicate payment on our side too."),
        (
            STAFF,
            "I have issued a refund of 19.99 for the duplicate charge. It will appear on your "
            "card within 5 business days.",
        ),
        (CUSTOMER, "Great, thank you!"),
        (STAFF, "You're welcome. Have a nice day."),
    ),
    problem=("charged twice",),
    outcome=("refund",),
)

MECHANIC = Sample(
    "mechanic",
    _turns(
        (
            CUSTOMER,
            "My car makes a grinding noise when I brake, especially at low speed. It started "
            "last week.",
        ),
        (STAFF, "Hi, I'm Sam, the mechanic on duty. What make and model is it, and how old?"),
        (CUSTOMER, "A 2015 Golf, about 90,000 km."),
        (STAFF, "Does the steering wheel shake when you brake, or is it only the noise?"),
        (CUSTOMER, "Only the noise. I checked the tyres and they look fine."),
        (
            STAFF,
            "A metallic grinding at low speed usually means the brake pads are worn down to "
            "the wear indicator.",
        ),
        (STAFF, "I recommend replacing the front brake pads soon, and checking the discs."),
        (CUSTOMER, "Ok. Can you do it?"),
        (
            STAFF,
            "Yes. I booked you in for Thursday at 9am for a front pad replacement and a disc "
            "inspection.",
        ),
        (CUSTOMER, "Perfect, see you Thursday."),
    ),
    problem=("grinding noise",),
    outcome=("brake pads", "thursday"),
)

BOOKING = Sample(
    "booking",
    _turns(
        (CUSTOMER, "Hello."),
        (
            CUSTOMER,
            "I need to reschedule my appointment on Tuesday because I have to travel for work.",
        ),
        (STAFF, "No problem. Which days would suit you better?"),
        (CUSTOMER, "Friday afternoon or next Monday morning."),
        (STAFF, "Friday at 3pm is free with Dr. Lee."),
        (CUSTOMER, "Friday at 3pm works for me."),
        (
            STAFF,
            "Done: I moved your appointment to Friday at 3pm. You will get a confirmation "
            "email shortly.",
        ),
        (CUSTOMER, "Thanks a lot."),
    ),
    problem=("reschedule",),
    outcome=("friday at 3pm",),
)

SAMPLES = (SUPPORT, MECHANIC, BOOKING)
