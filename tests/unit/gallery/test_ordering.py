"""The gallery's order for both roles, its cursor, and paging that stays stable while people
come online and go."""

from __future__ import annotations

import base64
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domains.gallery.ordering import (
    STREAMERS_LONGEST_ONLINE,
    USERS_NEWEST_ONLINE,
    Cursor,
    CursorError,
    Entry,
    FeedKey,
    direction_for,
    feed_page,
)


def entry(since: int, n: int, role: str = "streamer") -> Entry:
    return Entry(FeedKey(since, UUID(int=n)), role)


def test_users_see_streamers_online_longest_first() -> None:
    entries = [entry(30, 1), entry(10, 2), entry(20, 3), entry(5, 4, "user")]
    page, more = feed_page(entries, direction_for("user"), Cursor(100), 10)
    assert [e.key.user_id.int for e in page] == [2, 3, 1]
    assert more is None


def test_streamers_see_users_most_recently_online_first() -> None:
    entries = [entry(30, 1, "user"), entry(10, 2, "user"), entry(20, 3), entry(40, 4, "user")]
    page, _ = feed_page(entries, direction_for("streamer"), Cursor(100), 10)
    assert [e.key.user_id.int for e in page] == [4, 1, 2]


def test_ties_on_since_are_broken_by_id() -> None:
    entries = [entry(10, 3), entry(10, 1), entry(10, 2)]
    page, _ = feed_page(entries, STREAMERS_LONGEST_ONLINE, Cursor(100), 10)
    assert [e.key.user_id.int for e in page] == [1, 2, 3]


def test_someone_online_after_the_snapshot_waits_for_the_next_browse() -> None:
    entries = [entry(10, 1), entry(20, 2), entry(150, 3)]
    page, more = feed_page(entries, STREAMERS_LONGEST_ONLINE, Cursor(100), 1)
    assert more is not None
    rest, _ = feed_page(entries, STREAMERS_LONGEST_ONLINE, more, 10)
    assert [e.key.user_id.int for e in page + rest] == [1, 2]


def test_a_cursor_round_trips() -> None:
    for cursor in (Cursor(5), Cursor(1_700_000_000_000_000, FeedKey(12, UUID(int=99)))):
        assert Cursor.decode(cursor.encode()) == cursor


def _encoded(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "x",
        "Zz1",
        "bm9wZQ",
        "ZzEuYWJj",
        "g1" * 200,
        _encoded("g1.1" + "0" * 30 + "."),  # a time past the year 9999
        _encoded(f"g1.5.-1.{UUID(int=1).hex}"),
        _encoded("g1.5.7.not-a-uuid"),
    ],
)
def test_a_cursor_not_ours_is_refused(text: str) -> None:
    with pytest.raises(CursorError):
        Cursor.decode(text)


# A browse while presence changes: between pages, people come online (with a since after
# the snapshot), go offline, or go and come back (a new since).
_changes = st.lists(
    st.tuples(st.sampled_from(["online", "offline", "back"]), st.integers(0, 40)), max_size=6
)


@settings(max_examples=200, deadline=None)
@given(
    start=st.lists(
        st.tuples(st.integers(0, 50), st.sampled_from(["user", "streamer"])), max_size=40
    ),
    first=st.integers(1, 7),
    between=st.lists(_changes, max_size=10),
    newest_first=st.booleans(),
)
def test_no_card_is_repeated_or_skipped_while_people_come_and_go(
    start: list[tuple[int, str]],
    first: int,
    between: list[list[tuple[str, int]]],
    newest_first: bool,
) -> None:
    direction = USERS_NEWEST_ONLINE if newest_first else STREAMERS_LONGEST_ONLINE
    snapshot = 100
    online = {n: entry(since, n, role) for n, (since, role) in enumerate(start)}
    stayed = {n for n, e in online.items() if e.role == direction.shows}
    clock = snapshot
    cursor: Cursor | None = Cursor(snapshot)
    seen: list[int] = []
    pages = iter(between)
    while cursor is not None:
        page, cursor = feed_page(online.values(), direction, cursor, first)
        seen += [e.key.user_id.int for e in page]
        for kind, n in next(pages, []):
            clock += 1
            if kind == "offline" or kind == "back":
                if online.pop(n, None) is not None:
                    stayed.discard(n)
            if kind == "online" or kind == "back":
                online[n] = entry(clock, n, "streamer" if n % 2 else "user")
                stayed.discard(n)
    assert len(seen) == len(set(seen)), "a card was shown twice"
    assert stayed <= set(seen), "someone online all along was skipped"
    keys = [
        e.key
        for e in sorted(
            (entry(since, n, role) for n, (since, role) in enumerate(start)), key=lambda e: e.key
        )
    ]
    order = [k.user_id.int for k in (reversed(keys) if newest_first else keys)]
    assert seen == [n for n in order if n in seen], "pages out of the feed's order"
