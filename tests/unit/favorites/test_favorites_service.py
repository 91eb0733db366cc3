"""FavoritesService on the in-memory store: given earlier commands, when one command, then
the events committed or the error (the e2e tests cover the read model and GraphQL)."""

from __future__ import annotations

from uuid import UUID

import pytest

from domains.blocklist.service import BlocklistService, ReviewRule
from domains.blocklist.standing import BlockCategory
from domains.favorites.aggregate import Favorite, SelfFavoriteError
from domains.favorites.service import FavoriteBlockedError, FavoritesService
from domains.profile.service import ProfileService, UserNotFoundError
from eventlog.clock import ManualClock
from eventlog.memory import InMemoryEventStore

HOURS = 6 * 3600.0


class World:
    def __init__(self) -> None:
        self.store = InMemoryEventStore()
        self.clock = ManualClock()
        self.profiles = ProfileService(self.store)
        self.follows: dict[UUID, list[UUID]] = {}
        self.favorites = FavoritesService(
            self.store, self.clock, self._followers_of, online_notice_seconds=HOURS
        )
        self.blocklist = BlocklistService(self.store, self.clock, ReviewRule(threshold=1))

    async def _followers_of(self, user_id: UUID) -> list[UUID]:
        return self.follows.get(user_id, [])

    async def users(self, *uids: str) -> list[UUID]:
        return [await self.profiles.register(uid) for uid in uids]

    def topics(self) -> list[str]:
        found = [type(e).TOPIC for e in self.store.committed]
        self.store.committed.clear()
        return [t for t in found if t.startswith("olo.favorites:")]


async def test_add_and_remove_are_idempotent() -> None:
    world = World()
    ann, bob = await world.users("ann", "bob")
    world.topics()
    assert (await world.favorites.add(ann, bob)).changed
    assert not (await world.favorites.add(ann, bob)).changed
    assert world.topics() == [Favorite.Created.TOPIC, Favorite.Added.TOPIC]
    assert (await world.favorites.remove(ann, bob)).changed
    assert not (await world.favorites.remove(ann, bob)).changed
    assert world.topics() == [Favorite.Removed.TOPIC]


async def test_refusals_write_nothing() -> None:
    world = World()
    ann, bob = await world.users("ann", "bob")
    with pytest.raises(SelfFavoriteError):
        await world.favorites.add(ann, ann)
    with pytest.raises(UserNotFoundError):
        await world.favorites.add(ann, UUID(int=7))
    await world.blocklist.block(bob, ann)
    world.topics()
    with pytest.raises(FavoriteBlockedError):
        await world.favorites.add(ann, bob)
    assert world.topics() == []


async def test_came_online_notes_each_follower_once_per_window() -> None:
    world = World()
    ann, bob, cat = await world.users("ann", "bob", "cat")
    await world.favorites.add(ann, cat)
    await world.favorites.add(bob, cat)
    world.follows[cat] = [ann, bob]
    world.topics()
    assert await world.favorites.came_online(cat) == 2
    assert await world.favorites.came_online(cat) == 0
    world.clock.advance(HOURS - 1)
    assert await world.favorites.came_online(cat) == 0
    await world.favorites.remove(bob, cat)  # no longer following: not told
    world.clock.advance(1)
    assert await world.favorites.came_online(cat) == 1
    assert world.topics() == [
        Favorite.OnlineNoticed.TOPIC,
        Favorite.OnlineNoticed.TOPIC,
        Favorite.Removed.TOPIC,
        Favorite.OnlineNoticed.TOPIC,
    ]


async def test_a_suspended_user_coming_online_notifies_nobody() -> None:
    world = World()
    ann, cat = await world.users("ann", "cat")
    await world.favorites.add(ann, cat)
    world.follows[cat] = [ann]
    receipt = await world.blocklist.block(ann, cat, "", BlockCategory.SCAM)  # K = 1 here
    assert receipt.suspended
    assert await world.favorites.came_online(cat) == 0


async def test_drop_pair_removes_both_ways_and_is_idempotent() -> None:
    world = World()
    ann, bob = await world.users("ann", "bob")
    await world.favorites.add(ann, bob)
    await world.favorites.add(bob, ann)
    world.topics()
    await world.favorites.drop_pair(ann, bob)
    await world.favorites.drop_pair(ann, bob)
    assert world.topics() == [Favorite.Removed.TOPIC, Favorite.Removed.TOPIC]


async def test_drop_pair_leaves_a_pair_that_never_followed_a_tombstone() -> None:
    """So an add racing the block conflicts with it instead of outliving it."""
    world = World()
    ann, bob = await world.users("ann", "bob")
    world.topics()
    await world.favorites.drop_pair(ann, bob)
    await world.favorites.drop_pair(ann, bob)
    assert world.topics() == [Favorite.Created.TOPIC, Favorite.Created.TOPIC]
    assert (await world.favorites.add(ann, bob)).changed  # no block here: adding works
