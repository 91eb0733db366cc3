"""Tariffs: what a call costs the caller and earns the streamer, second by second.

A schedule is a list of checkpoints `(at_second, coins)` plus a repeat rule (`every N s, M
coins`) after the last one. Charges are a pure function of the schedule and the connected
duration, so the meter, settlement and a replay all agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

NAMESPACE = uuid5(NAMESPACE_URL, "https://olo.app/billing")


class CallKind(StrEnum):
    DIRECT = "direct"
    ROULETTE = "roulette"


class InvalidTariffError(Exception):
    """A schedule that cannot be billed."""


@dataclass(frozen=True)
class Checkpoint:
    """The `index`-th charge of a schedule: `coins` due once `at_second` s are connected."""

    index: int
    at_second: int
    coins: int


@dataclass(frozen=True)
class Schedule:
    checkpoints: tuple[tuple[int, int], ...]  # (at_second, coins), times increasing
    repeat_every: int  # seconds between charges after the last checkpoint
    repeat_coins: int

    @classmethod
    def of(cls, data: dict[str, Any]) -> Schedule:
        return cls(
            tuple((int(at), int(coins)) for at, coins in data["checkpoints"]),
            int(data["repeat_every"]),
            int(data["repeat_coins"]),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "checkpoints": [list(c) for c in self.checkpoints],
            "repeat_every": self.repeat_every,
            "repeat_coins": self.repeat_coins,
        }

    def check(self) -> None:
        if not self.checkpoints:
            raise InvalidTariffError("a schedule needs at least one checkpoint")
        previous = -1
        for at, coins in self.checkpoints:
            if at < 0 or at <= previous:
                raise InvalidTariffError("checkpoint times must start at 0 s or later and increase")
            if coins <= 0:
                raise InvalidTariffError("every checkpoint must charge at least 1 coin")
            previous = at
        if self.repeat_every <= 0:
            raise InvalidTariffError("the repeat period must be at least 1 s")
        if self.repeat_coins <= 0:
            raise InvalidTariffError("the repeat charge must be at least 1 coin")

    def checkpoint(self, index: int) -> Checkpoint:
        """The index-th checkpoint, past the listed ones through the repeat rule."""
        if index < len(self.checkpoints):
            at, coins = self.checkpoints[index]
            return Checkpoint(index, at, coins)
        last_at = self.checkpoints[-1][0]
        beyond = index - len(self.checkpoints) + 1
        return Checkpoint(index, last_at + beyond * self.repeat_every, self.repeat_coins)

    def due(self, seconds: float) -> list[Checkpoint]:
        """Every checkpoint due after `seconds` connected (at_second <= seconds)."""
        due: list[Checkpoint] = []
        index = 0
        while (c := self.checkpoint(index)).at_second <= seconds:
            due.append(c)
            index += 1
        return due

    def first_minute(self) -> int:
        """Coins due before a call's 60th connected second: what a caller needs so that a
        call is not cut off within its first minute."""
        return sum(c.coins for c in self.due(60) if c.at_second < 60)

    def total(self, seconds: float) -> int:
        """Coins due after `seconds` connected."""
        listed = [coins for at, coins in self.checkpoints if at <= seconds]
        total = sum(listed)
        if len(listed) == len(self.checkpoints):
            last_at = self.checkpoints[-1][0]
            total += int((seconds - last_at) // self.repeat_every) * self.repeat_coins
        return total


def tariff_id_of(kind: CallKind) -> UUID:
    return uuid5(NAMESPACE, f"tariff:{CallKind(kind).value}")


class Tariff(Aggregate):
    """The versioned tariff of one call kind: a caller schedule and a streamer schedule."""

    TOPIC = "olo.billing:Tariff"

    class Created(Aggregate.Created):
        TOPIC = "olo.billing:Tariff.Created"

    class Published(Created):
        TOPIC = "olo.billing:Tariff.Published"
        kind: str  # a CallKind's value
        caller: dict[str, Any]  # a Schedule.as_dict()
        streamer: dict[str, Any]

    @event(Published)
    def __init__(self, kind: CallKind, caller: dict[str, Any], streamer: dict[str, Any]) -> None:
        self.kind = CallKind(kind)
        self.caller = Schedule.of(caller)
        self.streamer = Schedule.of(streamer)

    @staticmethod
    def create_id(kind: CallKind) -> UUID:
        return tariff_id_of(kind)

    @classmethod
    def publish(cls, kind: CallKind, caller: Schedule, streamer: Schedule) -> Tariff:
        caller.check()
        streamer.check()
        return cls(kind=kind, caller=caller.as_dict(), streamer=streamer.as_dict())

    def revise(self, caller: Schedule, streamer: Schedule) -> None:
        """A new version; calls already connected keep the version they connected with."""
        caller.check()
        streamer.check()
        self._revised(caller.as_dict(), streamer.as_dict())

    class Revised(Aggregate.Event):
        TOPIC = "olo.billing:Tariff.Revised"
        caller: dict[str, Any]
        streamer: dict[str, Any]

    @event(Revised)
    def _revised(self, caller: dict[str, Any], streamer: dict[str, Any]) -> None:
        self.caller = Schedule.of(caller)
        self.streamer = Schedule.of(streamer)


# The seed: the caller pays 9 on connect, 60 at 20 s, 60 at 60 s, then 60 a minute; the
# streamer earns 30 at 20 s, 30 at 60 s, then 30 a minute. Both sides share the checkpoints.
SEED_CALLER = Schedule(((0, 9), (20, 60), (60, 60)), 60, 60)
SEED_STREAMER = Schedule(((20, 30), (60, 30)), 60, 30)
# Earlier seeds: where one is still current, seeding publishes the seed above as a new version.
SUPERSEDED_SEEDS = (
    # charged the third 60 at 80 s instead of 60 s (issue 10)
    (Schedule(((0, 9), (20, 60)), 60, 60), SEED_STREAMER),
)
