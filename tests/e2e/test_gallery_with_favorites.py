"""The gallery, favorites and review wired together as `app.py` composes them: a favorite
coming online (a real connection, through presence's hook) notifies the follower, the card
shows the favorite and its followers, and a streamer suspended by abuse blocks leaves feeds."""

from __future__ import annotations

from typing import Any

from favorites_support import ADD, NOTIFICATIONS, eventually, listed_ids
from gallery_support import GalleryWorld, gallery_world, id_of
from graphql_client import subscribe

from domains.blocklist.standing import BlockCategory


async def cards(world: GalleryWorld, who: Any) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in (await world.gallery(who))["cards"]}


async def test_a_favorite_coming_online_notifies_the_follower_and_marks_the_card(
    settings, database_url, serve
) -> None:
    async with gallery_world(settings, database_url, serve) as world:
        fan = await world.person("fan")
        star = await world.person("star", streamer=True)
        added = await world.gql(fan, ADD, userId=id_of(star))
        assert added["addFavorite"]["__typename"] == "FavoriteAdded"
        # Who follows the star is read from the favorites read model when the star comes
        # online: the favorite must be in it first.
        await listed_ids(world.base, fan.token, [id_of(star)])

        async with subscribe(world.base, NOTIFICATIONS, fan.token) as stream:
            await world.go_online(star)  # the first connection: the presence hook fires
            item = (await stream.next_data(10.0))["notifications"]
            assert (item["kind"], item["payload"]["userId"]) == ("favorite_online", id_of(star))

            await world.go_offline(star)
            await world.go_online(star)  # again within the window: no second notice
            assert await stream.pending(1.0) is None

        card = (await eventually(lambda: cards(world, fan), lambda c: id_of(star) in c))[
            id_of(star)
        ]
        assert (card["favorite"], card["followersCount"]) == (True, 1)


async def test_a_streamer_suspended_by_abuse_blocks_leaves_the_gallery(
    settings, database_url, serve
) -> None:
    settings.suspend_after_blocks = 1
    async with gallery_world(settings, database_url, serve) as world:
        fan = await world.person("fan")
        star = await world.person("star", streamer=True)
        other = await world.person("other", streamer=True)
        await world.go_online(star)
        await world.go_online(other)
        await eventually(lambda: cards(world, fan), lambda c: len(c) == 2)

        reporter = await world.person("reporter")
        await world.olo.services.blocklist.block(
            reporter.user_id, star.user_id, "exposed themself", BlockCategory.INDECENCY
        )
        left = await eventually(lambda: cards(world, fan), lambda c: id_of(star) not in c)
        assert list(left) == [id_of(other)]
