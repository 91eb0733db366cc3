"""olo's call and notification services on the in-memory event store, for service tests
that run in milliseconds: given (earlier commands), when (one command), then (the events
committed, or the typed error). Presence and devices are sets the test fills in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from domains.balance.service import BalanceService
from domains.billing.service import TariffService
from domains.blocklist.service import BlocklistService
from domains.notification.service import NotificationService
from domains.profile.aggregate import Role
from domains.profile.service import ProfileService
from domains.video.roulette import RouletteService, RouletteTimings
from domains.video.service import CallService, CallTimings
from eventlog.clock import ManualClock
from eventlog.memory import InMemoryEventStore


def topics(events: Sequence[Any]) -> list[str]:
    return [type(e).TOPIC for e in events]


@dataclass
class FakeMatching:
    """The roulette's candidate query (SQL over read models) as a list in the test's
    order: it leaves out `exclude`, as the query does, and records what it was asked."""

    streamers: list[UUID] = field(default_factory=list)
    asked: list[dict[str, Any]] = field(default_factory=list)

    async def candidates(
        self, caller_id: UUID, *, exclude: Sequence[UUID], skipped_since: float, limit: int
    ) -> list[UUID]:
        self.asked.append({"exclude": list(exclude), "skipped_since": skipped_since})
        return [s for s in self.streamers if s not in exclude and s != caller_id][:limit]


class World:
    """Every service a call touches, on one in-memory store and one manual clock."""

    def __init__(self) -> None:
        self.store = InMemoryEventStore()
        self.clock = ManualClock()
        self.online: set[UUID] = set()
        self.with_devices: set[UUID] = set()
        self.profiles = ProfileService(self.store)
        self.balance = BalanceService(self.store)
        self.tariffs = TariffService(self.store)
        self.blocklist = BlocklistService(self.store)
        self.calls = CallService(self.store, self.clock, self._reachable, CallTimings())
        self.matching = FakeMatching()
        self.roulette = RouletteService(self.calls, self.matching, RouletteTimings())
        self.notifications = NotificationService(
            self.store, self.clock, ack_seconds_calls=15.0, ack_seconds=30.0
        )

    async def _reachable(self, user_id: UUID) -> bool:
        return user_id in self.online or user_id in self.with_devices

    async def is_online(self, user_id: UUID) -> bool:
        return user_id in self.online

    async def user(self, name: str, *, coins: int = 0) -> UUID:
        user_id = await self.profiles.register(name)
        if coins:
            await self.balance.grant(user_id, coins, key=f"test/{name}")
        return user_id

    async def streamer(self, name: str, *, online: bool = True) -> UUID:
        user_id = await self.user(name)
        await self.profiles.set_role(user_id, Role.STREAMER)
        if online:
            self.online.add(user_id)
        return user_id

    @classmethod
    async def seeded(cls) -> World:
        """A world with the seed tariffs published (caller: 9 coins on answering)."""
        world = cls()
        await world.tariffs.ensure_seeded()
        world.store.take_events()
        return world
