"""What the gallery's projection announces: a user's line became busy (a call rings or runs)
or free again. Presence transitions come from video (`PresenceChanged`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID


@dataclass(frozen=True)
class BusyChanged:
    user_id: UUID
    busy: bool
    position: int

    def to_json(self) -> dict[str, Any]:
        return {"user": str(self.user_id), "busy": self.busy, "p": self.position}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BusyChanged:
        return cls(UUID(data["user"]), bool(data["busy"]), int(data["p"]))
