from __future__ import annotations

import pytest

from domains.gallery.search_key import search_key


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Zoë", "zoe"),
        ("ZOË MARTÍN", "zoe martin"),
        ("Renée", "renee"),
        ("\uff21nna", "anna"),  # fullwidth A
        ("Straße", "strasse"),
        ("  two   spaces ", "two spaces"),
        ("Łukasz", "łukasz"),  # no decomposition: kept, only folded
    ],
)
def test_case_accents_and_spacing_are_folded(name: str, key: str) -> None:
    assert search_key(name) == key
