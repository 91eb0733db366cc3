# ruff: noqa: RUF001  (Russian text and full-width punctuation are the point)
"""Contact masking on the corpus (tests/fixtures/chat_masking_corpus.json): every contact is
masked as its kind, no ordinary text is touched. Both counts are printed; both must be 0."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from domains.chat.masking import EMAIL, HANDLE, LINK, MASK, PHONE, mask

CORPUS = json.loads(
    (Path(__file__).resolve().parents[2] / "fixtures" / "chat_masking_corpus.json").read_text()
)


def test_the_corpus_is_large_enough_in_both_languages() -> None:
    contacts, ordinary = CORPUS["contacts"], CORPUS["ordinary"]
    assert len(contacts) >= 60 and len(ordinary) >= 60
    cyrillic = re.compile("[а-яё]", re.IGNORECASE)
    assert sum(bool(cyrillic.search(t)) for _, t in contacts) >= 15
    assert sum(bool(cyrillic.search(t)) for t in ordinary) >= 25
    assert {kind for kind, _ in contacts} == {PHONE, EMAIL, LINK, HANDLE}


def test_no_false_positives_and_no_misses_on_the_corpus() -> None:
    misses = [
        (kind, text, mask(text))
        for kind, text in CORPUS["contacts"]
        if kind not in mask(text).kinds or MASK not in mask(text).text
    ]
    false_positives = [(text, mask(text)) for text in CORPUS["ordinary"] if mask(text).hit]
    print(
        f"\nmasking corpus: {len(CORPUS['contacts'])} contacts, {len(misses)} missed; "
        f"{len(CORPUS['ordinary'])} ordinary, {len(false_positives)} false positives"
    )
    for miss in misses:
        print("  missed:", miss)
    for fp in false_positives:
        print("  false positive:", fp)
    assert misses == []
    assert false_positives == []


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("call +7 916 123-45-67 now", f"call {MASK} now"),
        ("пиши на anna@mail.ru, жду", f"пиши на {MASK}, жду"),
        ("my insta: kate.beauty ok", f"my insta: {MASK} ok"),
        ("t . me / ivan_p", MASK),
    ],
)
def test_only_the_contact_is_masked(text: str, masked: str) -> None:
    assert mask(text).text == masked


def test_the_digits_of_a_masked_number_are_gone() -> None:
    out = mask("восемь девять один шесть 123 45 67 звони").text
    assert "123" not in out and "восемь" not in out and out.endswith("звони")


def test_ordinary_text_comes_back_as_it_was() -> None:
    result = mask("встреча в 19:00, цена 1 500 руб")
    assert result.text == "встреча в 19:00, цена 1 500 руб" and result.kinds == ()


def test_a_number_in_a_format_the_digit_runs_miss_is_found_by_phonenumbers() -> None:
    # Full-width parentheses and dashes break the runs (8 | 916 | 123 | 45 | 67); the
    # matcher knows them, and reads the number as Russian.
    result = mask("номер 8（916）123－45－67")
    assert result.kinds == (PHONE,) and result.text == f"номер {MASK}"


@pytest.mark.parametrize(
    "text",
    [
        "a" * 2000,
        "@" + "a" * 1999,
        "x" * 1000 + " at " + "y" * 995,
        "1 x " * 500,
        "a." * 1000,
        "8" * 2000,
        "восемь один " * 166,
    ],
)
def test_a_hostile_message_costs_milliseconds_not_seconds(text: str) -> None:
    # A backtracking pattern took 0.3-0.6 s on a 2,000-character word; the matcher 0.26 s on
    # 500 lone digits. Bounded here generously (a busy test machine), far under those.
    started = time.perf_counter()
    mask(text)
    assert time.perf_counter() - started < 0.1
