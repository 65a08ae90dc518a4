"""AI benchmark: the local provider's cost per 1,000 messages, in-process, no database.

Messages come from the realistic conversations the summary tests use (tests/ai/
conversations.py), with a card number, an email or a phone number mixed into every third
customer message and a serial number into the rest, so the detectors do real work. Each
scenario runs over the same 1,000 messages; the best of `--repeat` runs is reported as
milliseconds per 1,000 messages and as a ratio to the baseline measured in the same run:

- `tokenise` (the baseline): a plain tokenisation pass (`\\w+` over the lower-cased text).
- `mask`: personal-data detection and masking (cards with Luhn, emails, phones, IBANs): what
  the send path adds when a tenant masks stored messages.
- `analyse`: the per-message job's work: language (py3langid), personal data, intent.
- `summary`: extractive summaries of conversations holding the same 1,000 messages (the
  conversations cut to 10 messages each), as the summary job computes them.

    python -m bench.ai_bench [--messages 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Callable

from parlour.ai import pii
from parlour.ai.extractive import Turn, summarise
from parlour.ai.provider import analyse_locally
from tests.ai.conversations import SAMPLES

_WORD = re.compile(r"\w+")
EXTRAS = (
    " My card is 4111 1111 1111 1111.",
    " Write to me at cara.customer@example.com please.",
    " Call me on +44 20 7946 0958 after six.",
    " The serial number is 1234567890123456.",
)


def messages(count: int) -> list[Turn]:
    """`count` messages cycling through the sample conversations, numbered 1, 2, 3 …"""
    turns = [t for sample in SAMPLES for t in sample.turns]
    found = []
    for i in range(count):
        t = turns[i % len(turns)]
        text = t.text + (EXTRAS[i % len(EXTRAS)] if t.author == "customer" and i % 3 == 0 else "")
        found.append(Turn(i + 1, t.author, text))
    return found


def best_of(repeat: int, run: Callable[[], object]) -> float:
    """The fastest of `repeat` runs, in seconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    msgs = messages(args.messages)
    texts = [m.text for m in msgs]
    conversations = [msgs[i : i + 10] for i in range(0, len(msgs), 10)]
    analyse_locally("warm up the language model", region="US")  # loads py3langid once

    scenarios: dict[str, Callable[[], object]] = {
        "tokenise": lambda: [_WORD.findall(t.lower()) for t in texts],
        "mask": lambda: [pii.mask(t) for t in texts],
        "analyse": lambda: [analyse_locally(t, region="US") for t in texts],
        "summary": lambda: [summarise(c) for c in conversations],
    }
    per_thousand = 1000 / len(msgs)
    results = {name: best_of(args.repeat, run) * per_thousand for name, run in scenarios.items()}
    baseline = results["tokenise"]
    print(f"local AI provider, {len(msgs)} messages, best of {args.repeat}")
    print(f"{'scenario':<10} {'ms / 1,000 messages':>20} {'x baseline':>11}")
    for name, seconds in results.items():
        print(f"{name:<10} {seconds * 1000:>20.2f} {seconds / baseline:>11.1f}")


if __name__ == "__main__":
    main()
