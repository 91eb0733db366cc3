"""Display names as the search compares them: case- and accent-insensitive. Normalised here
and stored, since PostgreSQL's `unaccent` extension may not be installed."""

from __future__ import annotations

import unicodedata


def search_key(text: str) -> str:
    """`text` without accents, case-folded, with runs of whitespace as one space."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(unicodedata.normalize("NFKC", bare).casefold().split())
