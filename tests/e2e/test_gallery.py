"""The gallery through the API: each role's feed and its order, cards, blocked pairs, bad
input, and a new user who finds a streamer and calls them with the card's id."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from call_support import REQUEST
from gallery_support import GalleryWorld, Lookups, caught_up, gallery_world, id_of, ids

from domains.gallery.ordering import Cursor
from domains.gallery.queries import GalleryQueries
from eventlog.settings import Settings


@pytest.fixture
async def world(
    settings: Settings, database_url: str, serve: Callable[..., Any]
) -> AsyncIterator[GalleryWorld]:
    async with gallery_world(settings, database_url, serve) as running:
        yield running


async def test_users_see_streamers_online_longest_first(world: GalleryWorld) -> None:
    streamers = [await world.person(f"s{n}", streamer=True) for n in range(3)]
    viewer = await world.person("viewer")
    other_user = await world.person("other")
    for who in (streamers[1], other_user, streamers[0], viewer, streamers[2]):
        await world.go_online(who)
    offline = await world.person("offline-streamer", streamer=True)
    await caught_up(world.olo)

    page = await world.gallery(viewer)

    assert ids(page) == [id_of(streamers[1]), id_of(streamers[0]), id_of(streamers[2])]
    assert id_of(offline) not in ids(page)
    card = page["cards"][0]
    assert card["displayName"] == "s1"
    assert card["onlineSince"] is not None
    assert card["takesCalls"] is True and card["inRoulette"] is False and card["busy"] is False
    assert card["priceFirstMinute"] == 69  # the seed's 9 on answering + 60 at 20 s
    assert card["favorite"] is False and card["followersCount"] == 0
    assert page["nextCursor"] is None


async def test_streamers_see_users_most_recently_online_first(world: GalleryWorld) -> None:
    streamer = await world.person("streamer", streamer=True)
    other_streamer = await world.person("colleague", streamer=True)
    users = [await world.person(f"u{n}") for n in range(3)]
    for who in (users[0], streamer, users[2], other_streamer, users[1]):
        await world.go_online(who)
    await caught_up(world.olo)

    page = await world.gallery(streamer)

    assert ids(page) == [id_of(users[1]), id_of(users[2]), id_of(users[0])]


async def test_paging_stays_stable_while_streamers_come_and_go(world: GalleryWorld) -> None:
    viewer = await world.person("viewer")
    streamers = [await world.person(f"s{n}", streamer=True) for n in range(7)]
    for who in streamers[:6]:
        await world.go_online(who)
    await caught_up(world.olo)

    first = await world.gallery(viewer, first=2)
    assert ids(first) == [id_of(s) for s in streamers[:2]]
    # Between pages: s0 (seen) goes and comes back, s3 (not seen yet) goes, s6 comes online.
    await world.go_offline(streamers[0])
    await world.go_online(streamers[0])
    await world.go_offline(streamers[3])
    await world.go_online(streamers[6])
    second = await world.gallery(viewer, first=2, after=first["nextCursor"])
    await world.go_offline(streamers[4])
    await world.go_online(streamers[4])
    third = await world.gallery(viewer, first=2, after=second["nextCursor"])

    shown = ids(first) + ids(second) + ids(third)
    assert shown == [id_of(streamers[n]) for n in (0, 1, 2, 4, 5)]
    assert third["nextCursor"] is None
    # A new browse shows everyone online now, in order.
    again = await world.browse(viewer, 2)
    assert again == [id_of(streamers[n]) for n in (1, 2, 5, 0, 6, 4)]


async def test_a_streamers_paging_is_stable_too(world: GalleryWorld) -> None:
    streamer = await world.person("streamer", streamer=True)
    users = [await world.person(f"u{n}") for n in range(5)]
    for who in users[:4]:
        await world.go_online(who)
    await caught_up(world.olo)

    first = await world.gallery(streamer, first=2)
    assert ids(first) == [id_of(users[3]), id_of(users[2])]
    await world.go_online(users[4])  # newer than the browse: next time
    await world.go_offline(users[3])  # seen already
    await world.go_offline(users[0])  # not seen yet: gone
    await world.go_online(users[3])  # back, newer than the browse
    second = await world.gallery(streamer, first=2, after=first["nextCursor"])

    assert ids(second) == [id_of(users[1])]
    assert second["nextCursor"] is None
    again = await world.browse(streamer, 2)
    assert again == [id_of(users[n]) for n in (3, 4, 2, 1)]


async def test_blocked_pairs_never_appear_either_way(world: GalleryWorld) -> None:
    viewer = await world.person("viewer")
    blocked_by_viewer = await world.person("blocked", streamer=True)
    blocking_viewer = await world.person("blocking", streamer=True)
    free = await world.person("free", streamer=True)
    for who in (viewer, blocked_by_viewer, blocking_viewer, free):
        await world.go_online(who)
    block = "mutation($id: ID!) { block(userId: $id) { __typename } }"
    await world.gql(viewer, block, id=id_of(blocked_by_viewer))
    await world.gql(blocking_viewer, block, id=id_of(viewer))
    await caught_up(world.olo)

    assert ids(await world.gallery(viewer)) == [id_of(free)]
    assert id_of(viewer) not in ids(await world.gallery(blocked_by_viewer))


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"first": 0}, "first"),
        ({"first": 101}, "first"),
        ({"first": 5, "after": "not-a-cursor"}, "after"),
        ({"first": 5, "after": "czEuYWJj"}, "after"),
    ],
)
async def test_bad_first_or_cursor_is_invalid_input(
    world: GalleryWorld, variables: dict[str, Any], field: str
) -> None:
    viewer = await world.person("viewer")
    page = await world.gallery(viewer, variables["first"], variables.get("after"))
    assert page["__typename"] == "InvalidInput"
    assert page["field"] == field


async def test_a_new_user_finds_a_streamer_and_calls_them_with_the_cards_id(
    world: GalleryWorld,
) -> None:
    streamer = await world.person("bella", streamer=True)
    await world.go_online(streamer)
    newcomer = await world.person("newcomer", coins=500)
    await caught_up(world.olo)

    (card,) = (await world.gallery(newcomer))["cards"]
    assert card["displayName"] == "bella"
    result = (await world.gql(newcomer, REQUEST, id=card["id"]))["requestCall"]

    assert result["__typename"] == "CallView"
    assert result["status"] == "ringing"
    await caught_up(world.olo)
    (busy,) = (await world.gallery(newcomer))["cards"]
    assert busy["busy"] is True


async def test_suspended_people_are_left_out_and_favorites_shown(world: GalleryWorld) -> None:
    viewer = await world.person("viewer")
    streamers = [await world.person(f"s{n}", streamer=True) for n in range(6)]
    for who in streamers:
        await world.go_online(who)
    await caught_up(world.olo)
    suspended = {streamers[n].user_id for n in (0, 1, 2, 4)}
    liked = streamers[3].user_id
    lookups = Lookups(suspended, {liked}, {liked: 7, streamers[5].user_id: 2})
    gallery = GalleryQueries(world.olo.pool, lookups, lookups)

    first = await gallery.feed(viewer.user_id, 1, None)
    assert first.next_cursor is not None
    rest = await gallery.feed(viewer.user_id, 5, Cursor.decode(first.next_cursor))

    cards = first.cards + rest.cards
    assert [c.user_id for c in cards] == [streamers[3].user_id, streamers[5].user_id]
    assert [(c.favorite, c.followers) for c in cards] == [(True, 7), (False, 2)]
    assert rest.next_cursor is None
    found, _ = await gallery.search(viewer.user_id, "s", 10, None)
    assert [c.user_id for c in found] == [streamers[3].user_id, streamers[5].user_id]
