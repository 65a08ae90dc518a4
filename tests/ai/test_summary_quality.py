"""The local provider's extractive summary on realistic conversations written for the tests
(tests/ai/conversations.py): it names the customer's problem and the outcome."""

from __future__ import annotations

import pytest

from parlour.ai.extractive import CUSTOMER, STAFF, Turn, split_sentences, summarise
from tests.ai.conversations import SAMPLES, Sample


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.name)
def test_the_summary_names_the_problem_and_the_outcome(sample: Sample) -> None:
    summary = summarise(sample.turns).lower()
    for phrase in sample.problem + sample.outcome:
        assert phrase in summary, (phrase, summary)


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.name)
def test_the_summary_is_short_in_order_and_leaves_small_talk_out(sample: Sample) -> None:
    summary = summarise(sample.turns)
    lines = summary.splitlines()
    assert 2 <= len(lines) <= 5
    assert len(summary) < sum(len(t.text) for t in sample.turns) * 0.7
    positions = [
        next(i for i, t in enumerate(sample.turns) if line.split(": ", 1)[1] in t.text)
        for line in lines
    ]
    assert positions == sorted(positions)
    for small_talk in ("Hi there.", "Thanks a lot.", "Great, thank you!", "Hello."):
        assert f": {small_talk}" not in summary
    # The customer's problem comes first, said by the customer.
    assert lines[0].startswith("Customer: ")
    assert any(line.startswith("Staff: ") for line in lines)


def test_the_summary_is_deterministic() -> None:
    for sample in SAMPLES:
        assert summarise(sample.turns) == summarise(list(sample.turns))


def test_nothing_to_summarise() -> None:
    assert summarise([]) == ""
    assert summarise([Turn(1, CUSTOMER, "hi"), Turn(2, STAFF, "Hello!")]) == ""


def test_sentences_keep_numbers_and_titles_whole() -> None:
    assert split_sentences("A refund of 19.99 is on its way. See Dr. Lee at 3pm!") == [
        "A refund of 19.99 is on its way.",
        "See Dr. Lee at 3pm!",
    ]
