"""What the balance projection announces on its channel: each changed account's balance."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class BalanceChanged:
    """An account's coins after a change (its owner is the change's key)."""

    kind: str  # wallet or earnings
    coins: int
    version: int
    position: int

    def to_json(self) -> dict[str, Any]:
        # short keys: a NOTIFY payload is bounded, a busy page packs many changes into one
        return {"k": self.kind, "c": self.coins, "v": self.version, "p": self.position}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BalanceChanged:
        return cls(kind=data["k"], coins=data["c"], version=data["v"], position=data["p"])
