# ruff: noqa: RUF001, RUF002  (Russian words and look-alike dashes are what it matches)
"""Contact masking: phone numbers, e-mail addresses, messenger handles and links taken out of
a chat message before it is stored or delivered (paid conversations stay on the platform).

A pure module: `mask(text)` answers the text to store and the kinds of contact it hid. The
hidden parts are kept nowhere: not in the message, not in the anti-fraud event (which says
only what kind of contact, from whom, in which chat). The log is append-only and kept for
good, and a contact in it could never be erased; reviewers need to know that someone tried,
not the number itself.

What counts as a phone number:
- any run of 7 or more digits, the digits split by spaces, dots, dashes, slashes,
  parentheses or commas, or written as words in English or Russian ("восемь девять один",
  "eight nine one"), words and digits mixed; but not a date (12.05.2024) nor an amount (a
  run next to a currency or "coins");
- whatever `phonenumbers.PhoneNumberMatcher` finds (leniency VALID: a real number of its
  region, not any digits) in each of a few regions (the users are international, many
  Russian-speaking: a number without a country code is read as Russian, Ukrainian, Kazakh,
  American, British or German), in a text with 7 or more digits the runs did not take: the
  matcher costs about 200 µs per region, the runs about 10 µs for the whole text.
Ordinary text, prices ("500 coins", "$20", "1,500 руб"), times ("at 10:30", "в 19:00"),
dates and small numbers are left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers

MASK = "•••"
MIN_PHONE_DIGITS = 7
REGIONS = ("RU", "UA", "KZ", "US", "GB", "DE")
# Candidates the matcher weighs per region: 500 lone digits took it 0.26 s, 10 take 2 ms.
MATCHER_TRIES = 10

PHONE, EMAIL, LINK, HANDLE = "phone", "email", "link", "handle"


@dataclass(frozen=True)
class Masked:
    """The text as it may be stored and shown, and the kinds of contact taken out of it."""

    text: str
    kinds: tuple[str, ...]

    @property
    def hit(self) -> bool:
        return bool(self.kinds)


# --- numbers written as words ----------------------------------------------------------

_UNITS = {
    **dict.fromkeys(("zero", "ноль", "нуль", "нол"), 0),
    **dict.fromkeys(("one", "один", "одна", "одно", "адин"), 1),
    **dict.fromkeys(("two", "два", "две"), 2),
    **dict.fromkeys(("three", "три"), 3),
    **dict.fromkeys(("four", "четыре"), 4),
    **dict.fromkeys(("five", "пять"), 5),
    **dict.fromkeys(("six", "шесть"), 6),
    **dict.fromkeys(("seven", "семь"), 7),
    **dict.fromkeys(("eight", "восемь"), 8),
    **dict.fromkeys(("nine", "девять"), 9),
}
_TEENS = {
    **dict.fromkeys(("ten", "десять"), 10),
    **dict.fromkeys(("eleven", "одиннадцать"), 11),
    **dict.fromkeys(("twelve", "двенадцать"), 12),
    **dict.fromkeys(("thirteen", "тринадцать"), 13),
    **dict.fromkeys(("fourteen", "четырнадцать"), 14),
    **dict.fromkeys(("fifteen", "пятнадцать"), 15),
    **dict.fromkeys(("sixteen", "шестнадцать"), 16),
    **dict.fromkeys(("seventeen", "семнадцать"), 17),
    **dict.fromkeys(("eighteen", "восемнадцать"), 18),
    **dict.fromkeys(("nineteen", "девятнадцать"), 19),
}
_TENS = {
    **dict.fromkeys(("twenty", "двадцать"), 20),
    **dict.fromkeys(("thirty", "тридцать"), 30),
    **dict.fromkeys(("forty", "сорок"), 40),
    **dict.fromkeys(("fifty", "пятьдесят"), 50),
    **dict.fromkeys(("sixty", "шестьдесят"), 60),
    **dict.fromkeys(("seventy", "семьдесят"), 70),
    **dict.fromkeys(("eighty", "восемьдесят"), 80),
    **dict.fromkeys(("ninety", "девяносто"), 90),
}
_HUNDREDS = {
    "hundred": 100,
    "сто": 100,
    "двести": 200,
    "триста": 300,
    "четыреста": 400,
    "пятьсот": 500,
    "шестьсот": 600,
    "семьсот": 700,
    "восемьсот": 800,
    "девятьсот": 900,
}
_WORDS = {**_UNITS, **_TEENS, **_TENS, **_HUNDREDS}
# Digit groups and words; a run of number tokens is found by walking them (one pass of a
# simple pattern: an alternation of 90 words tried at every position cost 5x as much).
_TOKENS = re.compile(r"\d+|[^\W\d_]+")
_SEPARATORS = frozenset(".-–—()/,_*")
MAX_GAP = 4  # separator characters between two tokens of one run
_TIME = re.compile(r"(?<!\d)\d{1,2}:\d{2}(?!\d)")
_DATE = re.compile(r"\d{1,4}([./-])\d{1,2}\1\d{1,4}")
_CURRENCY_AFTER = re.compile(
    r"\s*(?:руб|р\.|₽|\$|€|£|usd|eur|rub|dollars?|euros?|coins?|монет|долл|евро|тыс|k\b)",
    re.IGNORECASE,
)
_CURRENCY_BEFORE = re.compile(r"(?:[$€£₽]|usd|eur|rub)\s*$", re.IGNORECASE)


def _digits_in(tokens: list[str]) -> int:
    """How many digits a run of digit groups and number words stands for ("двадцать три"
    is two digits, "сто двадцать три" three)."""
    count = 0
    open_places = 0  # places a preceding tens or hundreds word leaves for the next words
    for token in tokens:
        if token[0].isdigit():
            count += len(token)
            open_places = 0
            continue
        value = _WORDS[token]
        if open_places and value < 10**open_places:
            open_places = 1 if value >= 10 and value % 10 == 0 and open_places == 2 else 0
            continue
        count += len(str(value))
        open_places = 2 if value >= 100 else (1 if value >= 20 and value % 10 == 0 else 0)
    return count


def _is_gap(text: str, start: int, end: int) -> bool:
    return end - start <= MAX_GAP and all(c in _SEPARATORS or c.isspace() for c in text[start:end])


def _number_runs(text: str) -> list[tuple[int, int, int]]:
    """(start, end, digits) of each run of digit groups and number words, separated by at
    most MAX_GAP spaces or separators; a leading "+" belongs to the run."""
    runs: list[tuple[int, int, int]] = []
    tokens: list[str] = []
    start = end = 0
    for match in _TOKENS.finditer(text):
        token = match.group(0)
        if not token[0].isdigit():
            token = token.lower()
            if token not in _WORDS:
                continue
        if tokens and _is_gap(text, end, match.start()):
            tokens.append(token)
        else:
            if tokens:
                runs.append((start, end, _digits_in(tokens)))
            tokens, start = [token], match.start()
        end = match.end()
    if tokens:
        runs.append((start, end, _digits_in(tokens)))
    return [(_plus_before(text, s), e, d) for s, e, d in runs]


def _plus_before(text: str, start: int) -> int:
    before = text[max(0, start - 3) : start].rstrip()
    return start - (start - max(0, start - 3) - len(before)) - 1 if before.endswith("+") else start


def _is_amount_or_date(text: str, start: int, end: int) -> bool:
    run = text[start:end].strip(" .,-")
    if _DATE.fullmatch(run):
        return True
    before = text[max(0, start - 8) : start]
    return bool(_CURRENCY_AFTER.match(text, end) or _CURRENCY_BEFORE.search(before))


def _uncovered_digits(text: str, spans: list[tuple[int, int]]) -> int:
    total = sum(c.isdigit() for c in text)
    if total < MIN_PHONE_DIGITS:
        return total
    return total - sum(c.isdigit() for start, end in spans for c in text[start:end])


def _phone_spans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    examined: list[tuple[int, int]] = [m.span() for m in _TIME.finditer(text)]
    for start, end, digits in _number_runs(text):
        if digits < MIN_PHONE_DIGITS:
            continue
        examined.append((start, end))
        if not _is_amount_or_date(text, start, end):
            spans.append((start, end))
    # The matcher costs about 200 µs per region: it is asked only about texts in which
    # enough digits are left that the runs above did not judge (formats they do not know).
    if _uncovered_digits(text, examined) >= MIN_PHONE_DIGITS:
        for region in REGIONS:
            for found in phonenumbers.PhoneNumberMatcher(
                text, region, leniency=phonenumbers.Leniency.VALID, max_tries=MATCHER_TRIES
            ):
                if not _is_amount_or_date(text, found.start, found.end):
                    spans.append((found.start, found.end))
    return spans


# --- e-mail, links, handles --------------------------------------------------------------

# A dot: as it is written ("t.me"), with a space before it ("t . me", "t .me"), bracketed or
# spelled out. Not a sentence's full stop ("at work. Me too": a space after it only).
_DOT = (
    r"(?:\.|\s+\.\s*|\s*\(\s*\.\s*\)\s*|\s*\[\s*\.\s*\]\s*"
    r"|\s+dot\s+|\s*\(dot\)\s*|\s*\[dot\]\s*|\s+точка\s+)"
)
_AT = r"(?:\s*@\s*|\s*\(at\)\s*|\s*\[at\]\s*|\s+at\s+|\s*\(собака\)\s*|\s+собака\s+)"
_TLD = r"(?:com|ru|net|org|ua|by|kz|io|de|uk|me|info|biz|co|рф)"
# Possessive parts, from a word's start only: a 2,000-character word must cost one pass, not
# a backtrack per position (that took 0.3-0.6 s a message).
_EMAIL = re.compile(
    rf"(?<![\w.+-])[\w.+-]++{_AT}[\w-]++(?:{_DOT}[\w-]++)*?{_DOT}{_TLD}(?!\w)", re.IGNORECASE
)
_MESSENGER_SITES = (
    r"t|telegram|tg|wa|whatsapp|instagram|instagr|vk|vkontakte|ok|fb|facebook|snapchat"
    r"|tiktok|discord|viber|skype|onlyfans|twitter|linktr|signal"
)
_LINK = re.compile(
    r"(?:https?://|www\.)\S+"
    rf"|(?<![\w.])(?:{_MESSENGER_SITES}){_DOT}(?:me|com|am|ru|gg|ee|link|org)(?!\w)"
    r"(?:\s*/\s*[\w.\-+@]+)?",
    re.IGNORECASE,
)
_HANDLE = re.compile(r"(?<![\w@.])@[A-Za-z0-9_][A-Za-z0-9_.]{2,31}")
_MESSENGER_WORDS = (
    r"telegram|telega|tg|insta(?:gram)?|whats ?app|viber|snap(?:chat)?|discord|skype|signal"
    r"|телеграм\w*|телег\w*|тг|тележк\w*|инст\w*|ватсап\w*|вотсап\w*|вацап\w*|вайбер\w*"
    r"|скайп\w*|снап\w*|дискорд\w*|ник|ника|нику|ником|нике|никнейм\w*|nick(?:name)?"
)
# A messenger's name, then a name that is a handle: after a colon or dash, or one with a
# digit, underscore or dot in it ("telegram please" is not a handle).
_NAMED_HANDLE = re.compile(
    rf"(?<!\w)(?:{_MESSENGER_WORDS})"
    r"(?:\s*[:\-–—=]\s*(@?[A-Za-z][A-Za-z0-9_.]{2,31})"
    r"|\s+(@?(?=[A-Za-z0-9_]*(?:[\d_]|\.[A-Za-z0-9]))[A-Za-z][A-Za-z0-9_.]{2,31}))",
    re.IGNORECASE,
)


def _spans(pattern: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    """Where the pattern matches; only its group, for a pattern whose context is no contact
    (the messenger's name before a handle stays)."""
    return [m.span(m.lastindex or 0) for m in pattern.finditer(text)]


def mask(text: str) -> Masked:
    """`text` with every contact in it replaced by MASK, and the kinds found (sorted)."""
    found: list[tuple[int, int, str]] = []
    for kind, spans in (
        (EMAIL, _spans(_EMAIL, text)),
        (LINK, _spans(_LINK, text)),
        (HANDLE, _spans(_HANDLE, text) + _spans(_NAMED_HANDLE, text)),
        (PHONE, _phone_spans(text)),
    ):
        found.extend((start, end, kind) for start, end in spans)
    if not found:
        return Masked(text, ())
    found.sort()
    pieces: list[str] = []
    kinds: set[str] = set()
    cursor = 0
    for start, end, kind in found:
        kinds.add(kind)
        if end <= cursor:
            continue  # inside a span already masked
        if start >= cursor:
            pieces.append(text[cursor:start])
            pieces.append(MASK)
        cursor = end
    pieces.append(text[cursor:])
    return Masked("".join(pieces), tuple(sorted(kinds)))
