"""Commands of favorites: add and remove a favorite, drop a pair's favorites on a block, and
note that a favorite came online for each of its followers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from uuid import UUID

from domains.blocklist.review import ensure_not_suspended
from domains.blocklist.service import blocked_between, user_exists
from domains.blocklist.standing import SuspendedError
from domains.favorites.aggregate import Favorite, FavoriteError, check_not_self, favorite_id_of
from domains.profile.service import UserNotFoundError
from eventlog.clock import Clock
from eventlog.store import AggregateStore, Transaction

NOTICE_CONCURRENCY = 16  # followers noted at once when a favorite comes online


class FavoriteBlockedError(FavoriteError):
    def __init__(self) -> None:
        super().__init__("one of you has blocked the other")


@dataclass(frozen=True)
class FavoriteReceipt:
    favorite_id: UUID
    changed: bool  # False: it already stood so (added twice, removed twice)


async def _load(tx: Transaction, follower_id: UUID, favorite_id: UUID) -> Favorite | None:
    return await tx.get(favorite_id_of(follower_id, favorite_id), Favorite)


class FavoritesService:
    """Following users, and the once-per-window notice that a favorite came online."""

    def __init__(
        self,
        store: AggregateStore,
        clock: Clock,
        followers_of: Callable[[UUID], Awaitable[list[UUID]]],
        *,
        online_notice_seconds: float,
    ) -> None:
        self.store = store
        self.clock = clock
        self.followers_of = followers_of
        self.online_notice_seconds = online_notice_seconds

    async def add(self, follower_id: UUID, favorite_id: UUID) -> FavoriteReceipt:
        """Follow a user; following someone already followed changes nothing."""
        check_not_self(follower_id, favorite_id)

        async def command(tx: Transaction) -> FavoriteReceipt:
            favorite = await _load(tx, follower_id, favorite_id)
            if not await user_exists(tx, favorite_id):
                raise UserNotFoundError(str(favorite_id))
            if await blocked_between(tx, follower_id, favorite_id):
                raise FavoriteBlockedError()
            if favorite is None:
                favorite = Favorite(follower_id=follower_id, favorite_id=favorite_id)
                tx.add(favorite)
            return FavoriteReceipt(favorite_id, favorite.add())

        return await self.store.transact(command)

    async def remove(self, follower_id: UUID, favorite_id: UUID) -> FavoriteReceipt:
        """Stop following a user; removing someone not followed changes nothing."""
        check_not_self(follower_id, favorite_id)

        async def command(tx: Transaction) -> FavoriteReceipt:
            favorite = await _load(tx, follower_id, favorite_id)
            if favorite is None:
                if not await user_exists(tx, favorite_id):
                    raise UserNotFoundError(str(favorite_id))
                return FavoriteReceipt(favorite_id, False)
            return FavoriteReceipt(favorite_id, favorite.remove())

        return await self.store.transact(command)

    async def drop_pair(self, a: UUID, b: UUID) -> None:
        """A block between `a` and `b`: neither follows the other any more (idempotent).

        A pair that never had a favorite gets one, not following: an `add` that read the
        block before it landed and commits after this then conflicts with it, runs again,
        and sees the block, so no favorite survives a block."""

        async def command(tx: Transaction) -> None:
            found = [(a, b, await _load(tx, a, b)), (b, a, await _load(tx, b, a))]
            for follower_id, favorite_id, favorite in found:
                if favorite is None:
                    tx.add(Favorite(follower_id=follower_id, favorite_id=favorite_id))
                else:
                    favorite.remove("blocked")

        await self.store.transact(command)

    async def came_online(self, user_id: UUID) -> int:
        """`user_id` came online: note it for every follower not told within the window
        (the notification follows from the noted event); how many were noted.

        The last-notified time lives in the log, on each (follower, favorite) pair's own
        `Favorite` aggregate (`OnlineNoticed`), rather than in a cache or a time-bucketed
        key: it survives restarts, and several processes seeing the same user come online
        race on that aggregate's version, so exactly one of them notes it (the others retry,
        find it noted, and do nothing). A time bucket in the notification's key would let two
        notices through a few minutes apart across a bucket's edge. The notice itself is
        sent by a policy reacting to `OnlineNoticed` (key: the event's id), so a crash right
        after noting still notifies, once."""
        try:
            await ensure_not_suspended(self.store, user_id)
        except SuspendedError:
            return 0  # out of every feed pending review: nobody is sent to look
        followers = await self.followers_of(user_id)
        slots = asyncio.Semaphore(NOTICE_CONCURRENCY)

        async def note(follower_id: UUID) -> bool:
            async with slots:
                return await self.note_online(follower_id, user_id)

        noted = await asyncio.gather(*(note(f) for f in followers))
        return sum(noted)

    async def note_online(self, follower_id: UUID, favorite_id: UUID) -> bool:
        """Note for one follower that `favorite_id` came online, unless told within the
        window; whether it was noted."""

        async def command(tx: Transaction) -> bool:
            favorite = await _load(tx, follower_id, favorite_id)
            now = self.clock.now()
            if favorite is None or not favorite.due_online_notice(now, self.online_notice_seconds):
                return False
            favorite.note_online_notice(now)
            return True

        return await self.store.transact(command)
