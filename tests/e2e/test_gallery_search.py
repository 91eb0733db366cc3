"""searchStreamers: display names matched without regard to case or accents, paged by name,
blocked pairs and non-streamers left out; bad input refused."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from call_support import REQUEST
from gallery_support import SEARCH, GalleryWorld, caught_up, gallery_world, id_of, ids

from eventlog.projection import ProjectionRunner, rebuild
from eventlog.settings import Settings


@pytest.fixture
async def world(
    settings: Settings, database_url: str, serve: Callable[..., Any]
) -> AsyncIterator[GalleryWorld]:
    async with gallery_world(settings, database_url, serve) as running:
        yield running


async def search(
    world: GalleryWorld, who: Any, q: str, first: int = 10, after: str | None = None
) -> dict[str, Any]:
    result = (await world.gql(who, SEARCH, q=q, first=first, after=after))["searchStreamers"]
    assert isinstance(result, dict)
    return result


async def test_names_match_without_case_or_accents(world: GalleryWorld) -> None:
    zoe = await world.person("Zoë Martín", streamer=True)
    shouting = await world.person("ZOE", streamer=True)
    chloe = await world.person("Chloé", streamer=True)
    await world.person("zoe the user")  # not a streamer: never found
    viewer = await world.person("viewer")
    await world.go_online(chloe)
    await caught_up(world.olo)

    assert ids(await search(world, viewer, "zoe")) == [id_of(shouting), id_of(zoe)]
    assert ids(await search(world, viewer, "MARTIN")) == [id_of(zoe)]
    assert ids(await search(world, viewer, "ZOË MARTÍN")) == [id_of(zoe)]
    found = await search(world, viewer, "chloe")
    assert ids(found) == [id_of(chloe)]
    assert found["cards"][0]["onlineSince"] is not None
    assert (await search(world, viewer, "zoe"))["cards"][0]["onlineSince"] is None
    assert ids(await search(world, viewer, "nobody")) == []


async def test_a_renamed_streamer_is_found_by_the_new_name(world: GalleryWorld) -> None:
    streamer = await world.person("Old Name", streamer=True)
    viewer = await world.person("viewer")
    update = "mutation($input: ProfileInput!) { updateProfile(input: $input) { __typename } }"
    await world.gql(streamer, update, input={"displayName": "Renée"})
    await caught_up(world.olo)

    assert ids(await search(world, viewer, "renee")) == [id_of(streamer)]
    assert ids(await search(world, viewer, "old")) == []


async def test_results_page_by_name(world: GalleryWorld) -> None:
    names = ["Anna", "Ánna B", "anna c", "Hanna", "Joanna"]
    streamers = {n: await world.person(n, streamer=True) for n in names}
    viewer = await world.person("viewer")
    await caught_up(world.olo)

    shown: list[str] = []
    after = None
    while True:
        page = await search(world, viewer, "anna", first=2, after=after)
        shown += ids(page)
        after = page["nextCursor"]
        if after is None:
            break
    expected = ["Anna", "Ánna B", "anna c", "Hanna", "Joanna"]
    assert shown == [id_of(streamers[n]) for n in expected]


async def test_blocked_pairs_and_yourself_are_not_found(world: GalleryWorld) -> None:
    viewer = await world.person("Lena viewer", streamer=True)
    blocked = await world.person("Lena one", streamer=True)
    blocking = await world.person("Lena two", streamer=True)
    free = await world.person("Lena three", streamer=True)
    block = "mutation($id: ID!) { block(userId: $id) { __typename } }"
    await world.gql(viewer, block, id=id_of(blocked))
    await world.gql(blocking, block, id=id_of(viewer))
    await caught_up(world.olo)

    assert ids(await search(world, viewer, "lena")) == [id_of(free)]


@pytest.mark.parametrize(
    ("q", "first", "after", "field"),
    [
        ("", 10, None, "query"),
        ("   ", 10, None, "query"),
        ("x" * 41, 10, None, "query"),
        ("a\u0000b", 10, None, "query"),
        ("anna", 0, None, "first"),
        ("anna", 500, None, "first"),
        ("anna", 10, "garbage!", "after"),
        ("anna", 10, "ZzEuMTIz", "after"),
        ("anna", 10, base64.urlsafe_b64encode(f"s1.{'0' * 32}.a\x00b".encode()).decode(), "after"),
    ],
)
async def test_bad_input_is_invalid_input(
    world: GalleryWorld, q: str, first: int, after: str | None, field: str
) -> None:
    viewer = await world.person("viewer")
    result = await search(world, viewer, q, first, after)
    assert result["__typename"] == "InvalidInput"
    assert result["field"] == field


async def test_a_rebuild_of_the_gallery_read_model_equals_the_live_one(
    world: GalleryWorld,
) -> None:
    streamer = await world.person("Old Name", streamer=True)
    caller = await world.person("caller", coins=500)
    await world.go_online(streamer)
    update = "mutation($input: ProfileInput!) { updateProfile(input: $input) { __typename } }"
    await world.gql(streamer, update, input={"displayName": "Renée"})
    call = (await world.gql(caller, REQUEST, id=id_of(streamer)))["requestCall"]
    assert call["__typename"] == "CallView"
    await caught_up(world.olo)
    # The worker's gallery runner would follow what comes next (the ring's notification):
    # a rebuild is made, as `olo replay` makes it, with nobody else leading the projection.
    await world.olo.stop_worker()

    async def tables() -> list[Any]:
        names = await world.olo.pool.fetch("SELECT * FROM gallery_names ORDER BY user_id")
        lines = await world.olo.pool.fetch("SELECT * FROM gallery_lines ORDER BY line_id")
        return [list(map(tuple, names)), list(map(tuple, lines))]

    live = await tables()
    (runner,) = [
        r
        for r in world.olo.runners
        if isinstance(r, ProjectionRunner) and r.projection.name == "gallery"
    ]
    await rebuild(runner, world.olo.pool)

    assert await tables() == live
    assert (id_of(streamer), "streamer", "renee") in [
        (str(u), role, key) for u, role, key in live[0]
    ]
    assert any(call_id is not None for _, _, call_id in live[1])
