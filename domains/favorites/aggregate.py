"""Favorites: one user following another. A pair's favorite can be added, removed and added
again; it also remembers when the follower was last told that the favorite came online."""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

NAMESPACE = uuid5(NAMESPACE_URL, "https://olo.app/favorites")


class FavoriteError(Exception):
    """A favorites rule was broken."""


class SelfFavoriteError(FavoriteError):
    def __init__(self) -> None:
        super().__init__("you cannot favorite yourself")


def favorite_id_of(follower_id: UUID, favorite_id: UUID) -> UUID:
    """The id of `follower_id`'s favorite `favorite_id` (direction matters)."""
    return uuid5(NAMESPACE, f"favorite:{follower_id}:{favorite_id}")


def check_not_self(follower_id: UUID, favorite_id: UUID) -> None:
    if follower_id == favorite_id:
        raise SelfFavoriteError()


class Favorite(Aggregate):
    """`follower_id` follows `favorite_id`, or did once (`active` False after a removal)."""

    TOPIC = "olo.favorites:Favorite"

    class Created(Aggregate.Created):
        TOPIC = "olo.favorites:Favorite.Created"
        follower_id: UUID
        favorite_id: UUID

    def __init__(self, follower_id: UUID, favorite_id: UUID) -> None:
        check_not_self(follower_id, favorite_id)
        self.follower_id = follower_id
        self.favorite_id = favorite_id
        self.active = False
        self.online_notified_at: float | None = None

    @staticmethod
    def create_id(follower_id: UUID, favorite_id: UUID) -> UUID:
        return favorite_id_of(follower_id, favorite_id)

    def add(self) -> bool:
        """Follow; False (nothing emitted) if already following."""
        if self.active:
            return False
        self._added(self.follower_id, self.favorite_id)
        return True

    def remove(self, why: str = "removed") -> bool:
        """Stop following (`why`: removed by the follower, or `blocked`); False if not
        following (nothing emitted): removing twice is no error."""
        if not self.active:
            return False
        self._removed(self.follower_id, self.favorite_id, why)
        return True

    def due_online_notice(self, at: float, every_seconds: float) -> bool:
        """Should the follower hear now that the favorite came online: following, and not
        told within `every_seconds`."""
        if not self.active:
            return False
        last = self.online_notified_at
        return last is None or at - last >= every_seconds

    def note_online_notice(self, at: float) -> None:
        self._online_noticed(self.follower_id, self.favorite_id, at)

    # The events repeat both ids so read models need nothing but the event.
    class Added(Aggregate.Event):
        TOPIC = "olo.favorites:Favorite.Added"
        follower_id: UUID
        favorite_id: UUID

    @event(Added)
    def _added(self, follower_id: UUID, favorite_id: UUID) -> None:
        self.active = True

    class Removed(Aggregate.Event):
        TOPIC = "olo.favorites:Favorite.Removed"
        follower_id: UUID
        favorite_id: UUID
        why: str  # "removed" (by the follower) or "blocked" (a block between the two)

    @event(Removed)
    def _removed(self, follower_id: UUID, favorite_id: UUID, why: str) -> None:
        self.active = False

    class OnlineNoticed(Aggregate.Event):
        TOPIC = "olo.favorites:Favorite.OnlineNoticed"
        follower_id: UUID
        favorite_id: UUID
        at: float

    @event(OnlineNoticed)
    def _online_noticed(self, follower_id: UUID, favorite_id: UUID, at: float) -> None:
        self.online_notified_at = at
