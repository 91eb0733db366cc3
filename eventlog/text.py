"""Text that cannot poison the log: the one validation step for every text a client sends
(and every claim copied from a token), and the NUL escape at the SQL boundary for text
already in the log.

Whatever a command saves stays in the append-only log for good and is replayed by every
projection: PostgreSQL refuses NUL in `text` and `\\u0000` in `jsonb`, so one such string
would stop a projection forever. Services run client text through one of the kinds below
before it reaches an aggregate; each returns the text normalized (NFC) or raises
`InvalidTextError` naming the field, which every resolver answers as `InvalidInput{field}`.

- `name`: one line, no control characters, no bidi overrides or isolates
  (U+202A-U+202E, U+2066-U+2069) and no zero-width characters (U+200B-U+200D, U+2060,
  U+FEFF), which let a name pose as another.
- `line`: one line of text, no control characters.
- `multiline`: text in which newline and tab are allowed (CR LF and CR become LF).
- `token`: opaque printable ASCII without spaces (push tokens, subscription ids).
- `version`: printable ASCII, spaces allowed (an app's version string).
- `https_url`: an absolute `https` URL with a host.

Every kind also refuses lone surrogates (no UTF-8 encoding exists for them). Lengths are
counted after normalization, in code points.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any
from urllib.parse import urlsplit

BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff")
NUL_STAND_IN = "\ufffd"  # what a NUL already in the log is stored as in a read model


class InvalidTextError(ValueError):
    """A client's text was refused; `field` is the input's name (snake_case)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def _normalized(value: object, field: str, limit: int, *, blank: bool) -> str:
    if not isinstance(value, str):
        raise InvalidTextError(field, "must be text")
    if any("\ud800" <= c <= "\udfff" for c in value):
        raise InvalidTextError(field, "must be valid Unicode")
    text = unicodedata.normalize("NFC", value)
    if len(text) > limit:
        raise InvalidTextError(field, f"must be at most {limit} characters")
    if not blank and not text.strip():
        raise InvalidTextError(field, "must not be blank")
    return text


def _refuse_controls(text: str, field: str, allowed: str = "") -> None:
    for c in text:
        if c not in allowed and unicodedata.category(c) == "Cc":
            raise InvalidTextError(field, f"must not contain control character U+{ord(c):04X}")


def line(value: object, field: str, limit: int, *, blank: bool = True) -> str:
    """One line of text, NFC, without control characters."""
    text = _normalized(value, field, limit, blank=blank)
    _refuse_controls(text, field)
    return text


def name(value: object, field: str, limit: int) -> str:
    """A name people see: one line, not blank, no bidi overrides or zero-width characters."""
    text = line(value, field, limit, blank=False)
    for c in text:
        if c in BIDI_CONTROLS or c in ZERO_WIDTH:
            raise InvalidTextError(field, f"must not contain invisible character U+{ord(c):04X}")
    return text


def multiline(value: object, field: str, limit: int) -> str:
    """Free text: newlines and tabs allowed, other control characters not."""
    if isinstance(value, str):
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    text = _normalized(value, field, limit, blank=True)
    _refuse_controls(text, field, allowed="\n\t")
    return text


_TOKEN = re.compile(r"[\x21-\x7e]+")
_VERSION = re.compile(r"[\x20-\x7e]*")


def token(value: object, field: str, limit: int) -> str:
    """An opaque token: 1 to `limit` printable ASCII characters, no spaces."""
    if not isinstance(value, str) or not _TOKEN.fullmatch(value) or len(value) > limit:
        raise InvalidTextError(field, f"must be 1 to {limit} printable ASCII characters")
    return value


def version(value: object, field: str, limit: int) -> str:
    """A version string: up to `limit` printable ASCII characters (spaces allowed)."""
    if not isinstance(value, str) or not _VERSION.fullmatch(value) or len(value) > limit:
        raise InvalidTextError(field, f"must be at most {limit} printable ASCII characters")
    return value


def https_url(value: object, field: str, limit: int) -> str:
    """An absolute https URL (no spaces or control characters)."""
    text = _normalized(value, field, limit, blank=False)
    if any(c.isspace() or unicodedata.category(c) == "Cc" for c in text):
        raise InvalidTextError(field, "must be a URL without spaces")
    try:
        parts = urlsplit(text)
    except ValueError:
        raise InvalidTextError(field, "must be a URL") from None
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise InvalidTextError(field, "must be an https URL")
    return text


def claimed_name(value: object, limit: int) -> str | None:
    """A name claim from a sign-in token, made acceptable rather than refused (sign-in must
    work whatever the provider let the user type): NFC, control and invisible characters
    dropped, cut to `limit`; None when nothing is left."""
    if not isinstance(value, str):
        return None
    text = unicodedata.normalize("NFC", value)
    kept = "".join(
        c
        for c in text
        if unicodedata.category(c) not in ("Cc", "Cs") and c not in BIDI_CONTROLS | ZERO_WIDTH
    )
    kept = " ".join(kept.split())[:limit]
    return kept or None


def claimed_line(value: object, limit: int) -> str | None:
    """A one-line claim (an e-mail) from a sign-in token, or None (dropped) if it is not
    acceptable as `line`: a bad e-mail claim must not stop a sign-in."""
    try:
        return line(value, "claim", limit, blank=False)
    except InvalidTextError:
        return None


# At the SQL boundary. A NUL that an older release let into the log is stored in read models
# as U+FFFD (visible, and the log keeps the original): PostgreSQL refuses NUL in text and the
# escape `\u0000` in jsonb.
_JSON_NUL = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")


def storable(value: Any) -> Any:
    """`value` with every NUL in its strings (also in dicts' keys and values, lists and
    tuples) replaced by U+FFFD; anything else as it is."""
    if isinstance(value, str):
        return value.replace("\x00", NUL_STAND_IN) if "\x00" in value else value
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(storable(v) for v in value)
    return value


def storable_json(text: str) -> str:
    """JSON text for a jsonb column: each escaped NUL (`\\u0000`) becomes `\\ufffd`."""
    if "\\u0000" not in text:
        return text
    return _JSON_NUL.sub(lambda m: m.group(1) + "\\ufffd", text)
