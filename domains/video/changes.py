"""What the call projections announce: a call's events to its parties, and a streamer's
earnings as they grow."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CallChanged:
    """One event of a call (or a roulette) for one of its parties."""

    type: str  # incoming, accepted, ..., charged, tokenRenewed, ended, rouletteMatched, ...
    call_id: str
    at: float
    position: int
    reason: str | None = None
    side: str | None = None
    coins: int | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": self.type, "call": self.call_id, "at": self.at}
        data["p"] = self.position
        for key in ("reason", "side", "coins"):
            if (value := getattr(self, key)) is not None:
                data[key] = value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CallChanged:
        return cls(
            type=data["type"],
            call_id=data["call"],
            at=data["at"],
            position=data["p"],
            reason=data.get("reason"),
            side=data.get("side"),
            coins=data.get("coins"),
        )


@dataclass(frozen=True)
class EarningsChanged:
    """A streamer was credited for a call: the credit, the call's and today's totals."""

    call_id: str
    coins: int
    call_total: int
    today: int
    at: float
    position: int

    def to_json(self) -> dict[str, Any]:
        return {
            "call": self.call_id,
            "coins": self.coins,
            "callTotal": self.call_total,
            "today": self.today,
            "at": self.at,
            "p": self.position,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EarningsChanged:
        return cls(
            call_id=data["call"],
            coins=data["coins"],
            call_total=data["callTotal"],
            today=data["today"],
            at=data["at"],
            position=data["p"],
        )
