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
    # A gift sent during the call (type `gift`, from the gift domain's projection).
    gift_id: str | None = None
    gift_name: str | None = None
    sender_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": self.type, "call": self.call_id, "at": self.at}
        data["p"] = self.position
        for key in _OPTIONAL:
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
            gift_id=data.get("gift_id"),
            gift_name=data.get("gift_name"),
            sender_id=data.get("sender_id"),
        )


_OPTIONAL = ("reason", "side", "coins", "gift_id", "gift_name", "sender_id")


@dataclass(frozen=True)
class EarningsChanged:
    """A streamer was credited for a call (or by another source: a gift, with the call it
    was sent in, if any): the credit, the call's and today's totals."""

    call_id: str | None
    coins: int
    call_total: int
    today: int
    at: float
    position: int
    source: str = "call"  # or "gift"; only other sources are written out
    gift_name: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "call": self.call_id,
            "coins": self.coins,
            "callTotal": self.call_total,
            "today": self.today,
            "at": self.at,
            "p": self.position,
        }
        if self.source != "call":
            data["source"] = self.source
        if self.gift_name is not None:
            data["gift"] = self.gift_name
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EarningsChanged:
        return cls(
            call_id=data["call"],
            coins=data["coins"],
            call_total=data["callTotal"],
            today=data["today"],
            at=data["at"],
            position=data["p"],
            source=data.get("source", "call"),
            gift_name=data.get("gift"),
        )
