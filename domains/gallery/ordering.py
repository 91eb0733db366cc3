"""The gallery's order and its cursor, as pure functions.

Users see streamers, those online longest first; streamers see users (people who can call
them), most recently online first. A browse pages by keyset on (online since, user id) under
a snapshot: the first page fixes the time `snapshot`, and every page of that browse shows
only people online since then or earlier. Someone who comes online meanwhile (or goes and
comes back, with a new `since`) waits for the next browse, and someone who goes offline just
drops out: no card is shown twice or skipped. `queries.py` runs the same rule in SQL."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_US = 253_402_128_000_000_000  # 9999-12-30, as far as a cursor's times go
STREAMER = "streamer"
USER = "user"


class CursorError(ValueError):
    """A cursor this server did not hand out."""


@dataclass(frozen=True)
class Direction:
    """What a viewer's feed shows: people of role `shows`, in `newest_first` order or not."""

    shows: str
    newest_first: bool


STREAMERS_LONGEST_ONLINE = Direction(STREAMER, newest_first=False)
USERS_NEWEST_ONLINE = Direction(USER, newest_first=True)


def direction_for(viewer_role: str) -> Direction:
    return USERS_NEWEST_ONLINE if viewer_role == STREAMER else STREAMERS_LONGEST_ONLINE


@dataclass(frozen=True, order=True)
class FeedKey:
    """Where a card stands in a feed: (online since in microseconds, user id)."""

    since_us: int
    user_id: UUID


@dataclass(frozen=True)
class Entry:
    key: FeedKey
    role: str


@dataclass(frozen=True)
class Cursor:
    """A browse's snapshot time and the last card shown (None: before the first)."""

    snapshot_us: int
    last: FeedKey | None = None

    def encode(self) -> str:
        last = "" if self.last is None else f"{self.last.since_us}.{self.last.user_id.hex}"
        raw = f"g1.{self.snapshot_us}.{last}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            if len(text) > 200:
                raise CursorError("too long")
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
            tag, snapshot, *rest = raw.split(".")
            if tag != "g1" or len(rest) not in (1, 2):
                raise CursorError("unknown cursor")
            if len(rest) == 1:
                if rest[0]:
                    raise CursorError("unknown cursor")
                return cls(_in_range(snapshot))
            return cls(_in_range(snapshot), FeedKey(_in_range(rest[0]), UUID(hex=rest[1])))
        except (ValueError, binascii.Error, UnicodeDecodeError) as error:
            raise CursorError("not a cursor of this feed") from error


def _in_range(text: str) -> int:
    """A time in a cursor: microseconds since 1970, up to the year 9999."""
    value = int(text)
    if not 0 <= value <= MAX_US:
        raise CursorError("a time out of range")
    return value


def microseconds(moment: datetime) -> int:
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def moment(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def comes_after(key: FeedKey, last: FeedKey | None, direction: Direction) -> bool:
    """Whether `key` is past `last` in the feed's order."""
    if last is None:
        return True
    return key < last if direction.newest_first else key > last


def feed_page(
    entries: Iterable[Entry], direction: Direction, cursor: Cursor, first: int
) -> tuple[list[Entry], Cursor | None]:
    """The page after `cursor` of the people online now (`entries`), and the next page's
    cursor (None when this is the last)."""
    shown = sorted(
        (
            e
            for e in entries
            if e.role == direction.shows
            and e.key.since_us <= cursor.snapshot_us
            and comes_after(e.key, cursor.last, direction)
        ),
        key=lambda e: e.key,
        reverse=direction.newest_first,
    )
    page = shown[:first]
    more = len(shown) > first
    return page, Cursor(cursor.snapshot_us, page[-1].key) if more else None
