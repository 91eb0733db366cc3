"""What the gallery asks of domains built beside it, as small protocols with defaults that
answer nothing: favorites (a viewer's favorites among some ids, followers counts) and
suspensions (blocklist). The composition root plugs the real ones in (`wire(...)`)."""

from __future__ import annotations

from typing import Protocol
from uuid import UUID


class FavoritesLookup(Protocol):
    async def is_favorite(self, viewer: UUID, ids: list[UUID], /) -> set[UUID]:
        """Which of `ids` the viewer has among their favorites."""
        ...

    async def followers_count(self, ids: list[UUID], /) -> dict[UUID, int]:
        """How many follow each of `ids` (missing: none)."""
        ...


class SuspensionLookup(Protocol):
    async def suspended(self, ids: list[UUID], /) -> set[UUID]:
        """Which of `ids` are suspended (they never appear in a feed)."""
        ...


class NoFavorites:
    async def is_favorite(self, viewer: UUID, ids: list[UUID], /) -> set[UUID]:
        return set()

    async def followers_count(self, ids: list[UUID], /) -> dict[UUID, int]:
        return {}


class NoSuspensions:
    async def suspended(self, ids: list[UUID], /) -> set[UUID]:
        return set()
