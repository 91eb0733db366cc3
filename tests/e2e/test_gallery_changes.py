"""galleryChanges: the people of a viewer's feed coming online, going offline, becoming busy
and free, live; never the other role's people, the viewer themself or a blocked pair."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from call_support import HANG_UP, REQUEST
from gallery_support import GalleryWorld, Lookups, caught_up, gallery_world, id_of, watch

from eventlog.settings import Settings


@pytest.fixture
async def world(
    settings: Settings, database_url: str, serve: Callable[..., Any]
) -> AsyncIterator[GalleryWorld]:
    async with gallery_world(settings, database_url, serve) as running:
        yield running


async def test_a_user_sees_streamers_come_online_get_busy_and_free_and_go(
    world: GalleryWorld,
) -> None:
    viewer = await world.person("viewer")
    streamer = await world.person("bella", streamer=True)
    caller = await world.person("caller", coins=500)
    await caught_up(world.olo)
    changes = await watch(world, viewer)

    await world.go_online(streamer)
    online = await changes.next()
    assert online["type"] == "online"
    assert online["card"]["id"] == id_of(streamer)
    assert online["card"]["displayName"] == "bella"
    assert online["card"]["onlineSince"] is not None
    assert online["card"]["priceFirstMinute"] == 69

    await world.go_online(caller)  # a user: not in a user's feed
    call = (await world.gql(caller, REQUEST, id=id_of(streamer)))["requestCall"]
    busy = await changes.next()
    assert (busy["type"], busy["card"]["id"], busy["card"]["busy"]) == (
        "busy",
        id_of(streamer),
        True,
    )
    await world.gql(caller, HANG_UP, id=call["id"])
    free = await changes.next()
    assert (free["type"], free["card"]["id"], free["card"]["busy"]) == (
        "free",
        id_of(streamer),
        False,
    )

    await world.go_offline(streamer)
    offline = await changes.next()
    assert (offline["type"], offline["card"]["id"]) == ("offline", id_of(streamer))
    assert offline["card"]["onlineSince"] is None
    assert await changes.none_within(0.5)


async def test_a_streamer_sees_users_and_never_other_streamers(world: GalleryWorld) -> None:
    streamer = await world.person("streamer", streamer=True)
    colleague = await world.person("colleague", streamer=True)
    user = await world.person("user")
    await caught_up(world.olo)
    changes = await watch(world, streamer)

    await world.go_online(colleague)
    await world.go_online(streamer)  # themself
    await world.go_online(user)

    change = await changes.next()
    assert (change["type"], change["card"]["id"]) == ("online", id_of(user))
    assert await changes.none_within(0.5)


async def test_blocked_pairs_are_left_out_either_way(world: GalleryWorld) -> None:
    viewer = await world.person("viewer")
    blocked = await world.person("blocked", streamer=True)
    blocking = await world.person("blocking", streamer=True)
    free = await world.person("free", streamer=True)
    block = "mutation($id: ID!) { block(userId: $id) { __typename } }"
    await world.gql(viewer, block, id=id_of(blocked))
    await world.gql(blocking, block, id=id_of(viewer))
    await caught_up(world.olo)
    changes = await watch(world, viewer)

    for who in (blocked, blocking, free):
        await world.go_online(who)

    change = await changes.next()
    assert (change["type"], change["card"]["id"]) == ("online", id_of(free))
    assert await changes.none_within(0.5)


async def test_suspended_people_are_left_out_and_favorites_marked(world: GalleryWorld) -> None:
    viewer = await world.person("viewer")
    suspended = await world.person("suspended", streamer=True)
    liked = await world.person("liked", streamer=True)
    lookups = Lookups({suspended.user_id}, {liked.user_id}, {liked.user_id: 7})
    world.olo.services.gallery.favorites = lookups  # as the integrator plugs them in
    world.olo.services.gallery.suspensions = lookups
    await caught_up(world.olo)
    changes = await watch(world, viewer)

    await world.go_online(suspended)
    await world.go_online(liked)

    change = await changes.next()
    assert (change["type"], change["card"]["id"]) == ("online", id_of(liked))
    assert (change["card"]["favorite"], change["card"]["followersCount"]) == (True, 7)
    assert await changes.none_within(0.5)


async def test_a_feed_is_told_to_refetch_when_the_listener_reconnected(
    world: GalleryWorld,
) -> None:
    viewer = await world.person("viewer")
    streamer = await world.person("streamer", streamer=True)
    await caught_up(world.olo)
    changes = await watch(world, viewer)
    listener = world.olo.hub._conn  # the process's one LISTEN connection
    assert listener is not None

    await world.olo.pool.execute("SELECT pg_terminate_backend($1)", listener.get_server_pid())

    item = (await changes.stream.next_data())["galleryChanges"]
    assert item == {"changes": [], "missed": True}
    for _ in range(250):  # listening again: changes flow as before
        if world.olo.hub.ready and world.olo.hub._conn is not listener:
            break
        await asyncio.sleep(0.02)
    await world.go_online(streamer)
    change = await changes.next()
    assert (change["type"], change["card"]["id"]) == ("online", id_of(streamer))
