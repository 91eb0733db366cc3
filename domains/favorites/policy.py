"""Reactions of favorites: a block drops the pair's favorites both ways; a noted
"came online" notifies the follower."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domains.blocklist.aggregate import Block
from domains.favorites.aggregate import Favorite
from domains.favorites.service import FavoritesService
from domains.notification.aggregate import NotificationKind
from domains.notification.service import NotificationService
from domains.profile.service import ProfileService, UserNotFoundError


class FavoritesOnBlockPolicy:
    """A block ends both users' favorites of each other (removing twice changes nothing,
    so a replay is harmless)."""

    name = "favorites.blocks"
    concurrency = 16  # pairs are independent
    topics = frozenset({Block.Blocked.TOPIC})

    def __init__(self, favorites: FavoritesService) -> None:
        self.favorites = favorites

    async def handle(self, event: Any, position: int) -> None:
        if isinstance(event, Block.Blocked):
            await self.favorites.drop_pair(event.blocker_id, event.blocked_id)


class FavoriteOnlinePolicy:
    """`favorite_online` to the follower for each noted notice, keyed by the event, so a
    replay or a crash never notifies twice (mutable: the notification domain drops it for
    a follower who muted the kind; in-app first, push fallback)."""

    name = "favorites.online"
    concurrency = 32
    topics = frozenset({Favorite.OnlineNoticed.TOPIC})

    def __init__(self, notifications: NotificationService, profiles: ProfileService) -> None:
        self.notifications = notifications
        self.profiles = profiles

    async def handle(self, event: Any, position: int) -> None:
        if not isinstance(event, Favorite.OnlineNoticed):
            return
        key = f"favorite_online/{event.originator_id}/{event.originator_version}"
        payload = {
            "userId": str(event.favorite_id),
            "displayName": await self._name(event.favorite_id),
        }
        await self.notifications.notify(
            event.follower_id, NotificationKind.FAVORITE_ONLINE, payload, key=key
        )

    async def _name(self, user_id: UUID) -> str | None:
        try:
            user = await self.profiles.user(user_id)
        except UserNotFoundError:  # a notice without a name beats none
            return None
        name = user.public.get("display_name")
        return name if isinstance(name, str) else None
