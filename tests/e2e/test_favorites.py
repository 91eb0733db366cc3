"""Favorites through the API: add, list (newest first, paged, small public cards), remove,
the typed refusals (which store nothing), a block dropping favorites both ways, and a
favorite coming online notified to the follower once per window."""

from __future__ import annotations

import asyncio
from uuid import UUID, uuid4

import asyncpg
from favorites_support import (
    ADD,
    BLOCK,
    NOTIFICATIONS,
    REMOVE,
    UNBLOCK,
    favorites,
    listed_ids,
    mutate,
    user,
)
from graphql_client import UPDATE_PROFILE, data_of, post, subscribe

from app import Olo, create_app
from eventlog.clock import ManualClock


async def _favorite_events(pg: asyncpg.Connection, topic: str = "%") -> int:
    return int(
        await pg.fetchval(
            "SELECT count(*) FROM eventlog_events WHERE topic LIKE 'olo.favorites:' || $1", topic
        )
    )


async def test_add_list_page_and_remove(api: str) -> None:
    ann, _ = await user(api, "ann-fav", "Ann")
    bob, bob_id = await user(api, "bob-fav", "Bob")
    cat, cat_id = await user(api, "cat-fav", "Cat")
    avatar = {"input": {"avatarUrl": "https://img.example/cat.png"}}
    await post(api, UPDATE_PROFILE, avatar, cat)

    added = await mutate(api, ADD, ann, userId=bob_id)
    assert added == {"__typename": "FavoriteAdded", "userId": bob_id, "alreadyFavorite": False}
    assert (await mutate(api, ADD, ann, userId=cat_id))["alreadyFavorite"] is False
    again = await mutate(api, ADD, ann, userId=bob_id)
    assert again == {"__typename": "FavoriteAdded", "userId": bob_id, "alreadyFavorite": True}
    await mutate(api, ADD, bob, userId=cat_id)
    await listed_ids(api, bob, [cat_id])

    items = await listed_ids(api, ann, [cat_id, bob_id])  # newest first
    cards = [(i["displayName"], i["avatarUrl"], i["online"], i["followersCount"]) for i in items]
    assert cards == [("Cat", "https://img.example/cat.png", False, 2), ("Bob", None, False, 1)]

    first = await favorites(api, ann, first=1)
    assert [i["id"] for i in first["items"]] == [cat_id]
    second = await favorites(api, ann, first=1, after=first["nextCursor"])
    assert [i["id"] for i in second["items"]] == [bob_id] and second["nextCursor"] is None

    removed = await mutate(api, REMOVE, ann, userId=bob_id)
    assert removed == {"__typename": "FavoriteRemoved", "userId": bob_id, "wasFavorite": True}
    assert (await mutate(api, REMOVE, ann, userId=bob_id))["wasFavorite"] is False
    await listed_ids(api, ann, [cat_id])
    # Added again: newest once more.
    await mutate(api, ADD, ann, userId=bob_id)
    await listed_ids(api, ann, [bob_id, cat_id])

    bad = await post(api, '{ favorites(after: "x") { nextCursor } }', token=ann)
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_refusals_are_typed_and_store_nothing(api: str, pg: asyncpg.Connection) -> None:
    ann, ann_id = await user(api, "ann-fav-no", "Ann")
    bob, bob_id = await user(api, "bob-fav-no", "Bob")

    own = await mutate(api, ADD, ann, userId=ann_id)
    assert (own["__typename"], own["field"]) == ("InvalidInput", "userId")
    junk = await mutate(api, ADD, ann, userId="not-an-id")
    assert (junk["__typename"], junk["field"]) == ("InvalidInput", "userId")
    nobody = str(uuid4())
    assert (await mutate(api, ADD, ann, userId=nobody))["__typename"] == "NotFound"
    assert (await mutate(api, REMOVE, ann, userId=nobody))["__typename"] == "NotFound"
    assert (await mutate(api, REMOVE, ann, userId=ann_id))["__typename"] == "InvalidInput"
    assert await _favorite_events(pg) == 0

    assert (await mutate(api, BLOCK, bob, userId=ann_id))["__typename"] == "UserBlocked"
    # Blocked either way: neither may follow the other.
    assert (await mutate(api, ADD, ann, userId=bob_id))["__typename"] == "Blocked"
    assert (await mutate(api, ADD, bob, userId=ann_id))["__typename"] == "Blocked"
    assert await _favorite_events(pg, "Favorite.Added") == 0
    assert (await favorites(api, ann))["items"] == []


async def test_a_block_drops_favorites_both_ways(api: str) -> None:
    ann, ann_id = await user(api, "ann-fav-bl", "Ann")
    bob, bob_id = await user(api, "bob-fav-bl", "Bob")
    _, cat_id = await user(api, "cat-fav-bl", "Cat")
    await mutate(api, ADD, ann, userId=bob_id)
    await mutate(api, ADD, ann, userId=cat_id)
    await mutate(api, ADD, bob, userId=ann_id)
    await listed_ids(api, ann, [cat_id, bob_id])
    await listed_ids(api, bob, [ann_id])

    await mutate(api, BLOCK, ann, userId=bob_id)
    await listed_ids(api, ann, [cat_id])  # Cat stays
    await listed_ids(api, bob, [])
    assert (await mutate(api, ADD, bob, userId=ann_id))["__typename"] == "Blocked"

    await mutate(api, UNBLOCK, ann, userId=bob_id)
    assert (await mutate(api, ADD, bob, userId=ann_id))["alreadyFavorite"] is False
    items = await listed_ids(api, bob, [ann_id])
    assert items[0]["followersCount"] == 1


async def test_a_favorite_coming_online_is_notified_once_per_window(
    settings, database_url, serve
) -> None:
    clock = ManualClock()
    app = create_app(settings, database_url, clock=clock)
    async with serve(app) as base:
        olo: Olo = app.state.olo
        ann, _ = await user(base, "ann-fav-on", "Ann")
        dan, _ = await user(base, "dan-fav-on", "Dan")
        _, bob_id = await user(base, "bob-fav-on", "Bob")
        await mutate(base, ADD, ann, userId=bob_id)
        await mutate(base, ADD, dan, userId=bob_id)
        muted = (
            'mutation { muteNotifications(kind: "favorite_online", muted: true) { __typename } }'
        )
        data_of(await post(base, muted, token=dan))
        await listed_ids(base, ann, [bob_id])
        await listed_ids(base, dan, [bob_id])
        favorites_of_bob = olo.services.favorites

        async with subscribe(base, NOTIFICATIONS, ann) as stream:
            await asyncio.sleep(0.1)  # the subscription is listening
            # Several processes saw Bob come online at once: one notice.
            noted = await asyncio.gather(
                *(favorites_of_bob.came_online(UUID(bob_id)) for _ in range(4))
            )
            assert sorted(noted) == [0, 0, 0, 2]
            item = (await stream.next_data())["notifications"]
            assert item["kind"] == "favorite_online"
            assert item["payload"] == {"userId": bob_id, "displayName": "Bob"}
            clock.advance(6 * 3600 - 1)
            assert await favorites_of_bob.came_online(UUID(bob_id)) == 0
            assert await stream.pending(0.5) is None
            clock.advance(1)
            assert await favorites_of_bob.came_online(UUID(bob_id)) == 2
            later = (await stream.next_data())["notifications"]
            assert (later["kind"], later["payload"]["userId"]) == ("favorite_online", bob_id)
            assert later["id"] != item["id"]

        # Dan muted the kind: noted for him too, never notified; Ann was, twice.
        kinds = await olo.pool.fetch(
            "SELECT recipient_id, count(*) FROM notification_items "
            "WHERE kind = 'favorite_online' GROUP BY recipient_id"
        )
        ann_id = data_of(await post(base, "{ me { id } }", token=ann))["me"]["id"]
        assert {(str(r[0]), r[1]) for r in kinds} == {(ann_id, 2)}


async def test_cards_show_who_is_online_and_batch_queries(settings, database_url, serve) -> None:
    app = create_app(settings, database_url)
    async with serve(app) as base:
        olo: Olo = app.state.olo
        ann, ann_id = await user(base, "ann-fav-q", "Ann")
        bob, bob_id = await user(base, "bob-fav-q", "Bob")
        _, cat_id = await user(base, "cat-fav-q", "Cat")
        await mutate(base, ADD, ann, userId=bob_id)
        await mutate(base, ADD, bob, userId=cat_id)
        await listed_ids(base, ann, [bob_id])
        await listed_ids(base, bob, [cat_id])
        async with subscribe(base, NOTIFICATIONS, bob):
            await asyncio.sleep(0.2)  # Bob's live connection makes him online
            items = (await favorites(base, ann))["items"]
            assert [(i["id"], i["online"]) for i in items] == [(bob_id, True)]
        queries = olo.services.favorites_queries
        ids = [UUID(ann_id), UUID(bob_id), UUID(cat_id)]
        assert await queries.is_favorite(UUID(ann_id), ids) == {UUID(bob_id)}
        assert await queries.followers_count(ids) == {ids[0]: 0, ids[1]: 1, ids[2]: 1}
