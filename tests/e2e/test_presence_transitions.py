"""Presence transitions: a user comes online with their first live connection and goes
offline with their last, or when their process dies and the worker's sweep finds their rows
expired; each is published on the presence channel and handed to the registered hooks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any
from uuid import UUID

import pytest
from call_support import CALL_EVENTS
from gallery_support import GalleryWorld, gallery_world
from graphql_client import subscribe

from domains.video.presence import PRESENCE_CHANNEL, PRESENCE_KEY, Presence, PresenceChanged
from eventlog.hub import RESYNC, Subscription
from eventlog.settings import Settings


@pytest.fixture
async def world(
    settings: Settings, database_url: str, serve: Callable[..., Any]
) -> AsyncIterator[GalleryWorld]:
    quick = settings.model_copy(
        update={"presence_heartbeat_seconds": 0.3, "presence_ttl_seconds": 1.0}
    )
    async with gallery_world(quick, database_url, serve) as running:
        yield running


async def published(stream: Subscription, seconds: float = 10.0) -> PresenceChanged:
    while True:
        change = await asyncio.wait_for(stream.queue.get(), seconds)
        if change is not RESYNC:
            return PresenceChanged.from_json(change.data)


async def nothing_published(stream: Subscription, seconds: float = 0.5) -> bool:
    try:
        await published(stream, seconds)
    except TimeoutError:
        return True
    return False


def hooked(presence: Presence) -> dict[bool, list[UUID]]:
    seen: dict[bool, list[UUID]] = {True: [], False: []}

    async def came_online(user_id: UUID) -> None:
        seen[True].append(user_id)

    async def went_offline(user_id: UUID) -> None:
        seen[False].append(user_id)

    presence.on_online(came_online)
    presence.on_offline(went_offline)
    return seen


async def test_online_with_the_first_connection_offline_with_the_last(
    world: GalleryWorld,
) -> None:
    presence = world.olo.services.presence
    seen = hooked(presence)
    stream = world.olo.hub.subscribe(PRESENCE_CHANNEL, PRESENCE_KEY)
    streamer = await world.person("streamer", streamer=True)

    async with subscribe(world.base, CALL_EVENTS, streamer.token) as first:
        online = await published(stream)
        assert (online.user_id, online.online) == (streamer.user_id, True)
        assert await presence.online_since(streamer.user_id) == online.since
        async with subscribe(world.base, CALL_EVENTS, streamer.token):
            assert await nothing_published(stream)  # a second connection changes nothing
            await asyncio.sleep(0.5)  # heartbeats go by: still the first connection's time
            assert await presence.online_since(streamer.user_id) == online.since
        assert await nothing_published(stream)  # one connection is still open
        assert await presence.online_since(streamer.user_id) == online.since
        await first.ws.close()
        offline = await published(stream)
    assert (offline.user_id, offline.online) == (streamer.user_id, False)
    assert await presence.online_since(streamer.user_id) is None
    assert seen == {True: [streamer.user_id], False: [streamer.user_id]}


async def test_a_dead_process_users_go_offline_when_the_sweep_finds_their_rows_expired(
    world: GalleryWorld,
) -> None:
    seen = hooked(world.olo.services.presence)
    stream = world.olo.hub.subscribe(PRESENCE_CHANNEL, PRESENCE_KEY)
    streamer = await world.person("streamer", streamer=True)
    # Another API process: its user connects, then the process dies (no heartbeat, no stop).
    doomed = Presence(world.olo.pool, heartbeat_seconds=60, ttl_seconds=1.0)
    await doomed.connected(streamer.user_id)
    online = await published(stream)
    assert (online.user_id, online.online) == (streamer.user_id, True)
    assert seen[True] == []  # hooks run where the transition happened: the other process

    offline = await published(stream, seconds=10)  # the worker's sweep, once the TTL is over

    assert (offline.user_id, offline.online) == (streamer.user_id, False)
    assert offline.since > online.since
    assert await world.olo.services.presence.online_since(streamer.user_id) is None
    for _ in range(50):
        if seen[False]:
            break
        await asyncio.sleep(0.02)
    assert seen[False] == [streamer.user_id]  # the sweep ran in this process's worker
    rows = await world.olo.pool.fetchval(
        "SELECT count(*) FROM video_presence WHERE user_id = $1", streamer.user_id
    )
    assert rows == 0


async def test_a_stalled_process_brings_its_users_back_online_when_it_beats_again(
    world: GalleryWorld,
) -> None:
    stream = world.olo.hub.subscribe(PRESENCE_CHANNEL, PRESENCE_KEY)
    streamer = await world.person("streamer", streamer=True)
    stalled = Presence(world.olo.pool, heartbeat_seconds=0.2, ttl_seconds=1.0)
    await stalled.connected(streamer.user_id)
    assert (await published(stream)).online
    assert not (await published(stream)).online  # swept: its process stopped beating

    stalled.start()  # it beats again: the connection was open all along
    try:
        back = await published(stream)
        assert (back.user_id, back.online) == (streamer.user_id, True)
        assert await world.olo.services.presence.online_since(streamer.user_id) == back.since
    finally:
        await stalled.stop()
    gone = await published(stream)
    assert (gone.user_id, gone.online) == (streamer.user_id, False)
