"""What the notifications projection announces: a notification to show in-app."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class NotificationAnnounced:
    """A notification asked for, for its recipient (the change's key) to show and ACK."""

    id: str
    kind: str
    payload: dict[str, Any]
    at: float

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "payload": self.payload, "at": self.at}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NotificationAnnounced:
        return cls(id=data["id"], kind=data["kind"], payload=data["payload"], at=data["at"])
