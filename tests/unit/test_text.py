"""The one validation step for client text (eventlog/text.py), and the NUL escape at the
SQL boundary."""

from __future__ import annotations

import json
import unicodedata
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventlog import text
from eventlog.text import InvalidTextError, storable, storable_json


@pytest.mark.parametrize(
    "kind",
    [text.line, text.name, text.multiline, text.token, text.version, text.https_url],
)
@pytest.mark.parametrize("bad", ["a\x00b", "a\x07b", "a\x1bb", "a\x7fb", "a\x85b"])
def test_every_kind_refuses_control_characters_naming_the_field(kind: Any, bad: str) -> None:
    with pytest.raises(InvalidTextError) as refused:
        kind("https://x.example/" + bad if kind is text.https_url else bad, "bio", 100)
    assert refused.value.field == "bio"


def test_newline_and_tab_only_where_text_allows_them() -> None:
    assert text.multiline("one\n\ttwo\r\nthree\rfour", "bio", 100) == "one\n\ttwo\nthree\nfour"
    for kind in (text.line, text.name):
        for bad in ("a\nb", "a\tb", "a\rb"):
            with pytest.raises(InvalidTextError):
                kind(bad, "display_name", 100)


@pytest.mark.parametrize(
    "invisible", ["\u202e", "\u202a", "\u2066", "\u2069", "\u200b", "\u200d", "\u2060", "\ufeff"]
)
def test_names_refuse_bidi_overrides_and_zero_width_characters(invisible: str) -> None:
    with pytest.raises(InvalidTextError, match="invisible"):
        text.name(f"ann{invisible}admin", "display_name", 40)
    assert text.multiline(f"ann{invisible}", "bio", 40) == f"ann{invisible}"  # not a name


def test_text_is_normalized_to_nfc_before_its_length_counts() -> None:
    decomposed = "Zoe\u0308"  # Zoë as Z o e + combining diaeresis: 4 code points, 3 in NFC
    assert text.name(decomposed, "display_name", 3) == "Zo\u00eb"
    with pytest.raises(InvalidTextError, match="at most 2"):
        text.name(decomposed, "display_name", 2)


def test_lone_surrogates_are_refused() -> None:
    with pytest.raises(InvalidTextError, match="Unicode"):
        text.multiline("a\ud800b", "bio", 10)


def test_names_are_not_blank() -> None:
    with pytest.raises(InvalidTextError, match="blank"):
        text.name("   ", "display_name", 40)


def test_tokens_are_printable_ascii_without_spaces_within_bounds() -> None:
    assert text.token("fcm:AbC-123_x", "fcm_token", 20) == "fcm:AbC-123_x"
    for bad in ("", "a b", "é", "x" * 21, " abc"):
        with pytest.raises(InvalidTextError) as refused:
            text.token(bad, "fcm_token", 20)
        assert refused.value.field == "fcm_token"
    assert text.version("", "app_version", 32) == ""
    assert text.version("2.4.1 (812)", "app_version", 32) == "2.4.1 (812)"
    with pytest.raises(InvalidTextError):
        text.version("2.4\x00", "app_version", 32)


def test_urls_are_https_only() -> None:
    assert text.https_url("https://cdn.example/a.png", "avatar_url", 100)
    for bad in (
        "http://cdn.example/a.png",
        "javascript:alert(1)",
        "https:///a",
        "https://a b/",
        "cdn.example",
    ):
        with pytest.raises(InvalidTextError):
            text.https_url(bad, "avatar_url", 100)


def test_claims_from_tokens_are_cleaned_or_dropped_not_refused() -> None:
    assert text.claimed_name("Ann\x00 \u202eEvil\u200b  Smith\n", 40) == "Ann Evil Smith"
    assert text.claimed_name("\x00\u200b", 40) is None
    assert text.claimed_name("x" * 50, 40) == "x" * 40
    assert text.claimed_line("ann@example.com", 254) == "ann@example.com"
    assert text.claimed_line("ann\x00@example.com", 254) is None


@given(st.text())
def test_whatever_a_kind_accepts_is_nfc_without_nul_or_controls(value: str) -> None:
    for kind in (text.line, text.name, text.multiline):
        try:
            accepted = kind(value, "f", 1000)
        except InvalidTextError:
            continue
        assert unicodedata.is_normalized("NFC", accepted)
        assert not any(unicodedata.category(c) in ("Cc", "Cs") for c in accepted if c not in "\n\t")
        accepted.encode("utf-8")  # PostgreSQL will take it


@given(st.text())
def test_claimed_names_always_pass_as_names(value: str) -> None:
    cleaned = text.claimed_name(value, 40)
    if cleaned is not None:
        assert text.name(cleaned, "display_name", 40) == cleaned


def test_storable_replaces_nul_everywhere_visibly() -> None:
    assert storable({"bio": "a\x00b", "k\x00": ["\x00", ("x\x00",)], "n": 3}) == {
        "bio": "a\ufffdb",
        "k\ufffd": ["\ufffd", ("x\ufffd",)],
        "n": 3,
    }
    assert storable(None) is None


@given(st.recursive(st.text(), lambda inner: st.dictionaries(st.text(), inner) | st.lists(inner)))
def test_storable_json_is_json_of_storable_and_never_holds_an_escaped_nul(value: object) -> None:
    dumped = storable_json(json.dumps(value))
    assert json.loads(dumped) == storable(value)
    assert "\\u0000" not in dumped.replace("\\\\", "")
