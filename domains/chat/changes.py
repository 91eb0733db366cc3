"""What the chat announces on each party's `chatMessages` stream: a message, an entry, a read
receipt (all from the projection, with their log position) or typing (live only, never in
the log: position 0)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

# A NOTIFY payload must stay under 8,000 bytes: a long message (2,000 characters of Cyrillic
# are 12,000 bytes of JSON) is announced without its text, which the stream then reads.
TEXT_INLINE_BYTES = 3000


@dataclass(frozen=True)
class ChatChanged:
    """One change of a chat, for one of its two parties."""

    type: str  # message, entry, read, typing
    chat_id: str
    actor_id: str  # who sent, added, read or is typing
    at: float
    position: int
    item_id: str | None = None  # the message or entry; for `read`, the last message read
    text: str | None = None  # a message's text, if it fits the payload (else read it)
    text_inline: bool = True
    entry_kind: str | None = None
    data: dict[str, Any] | None = None  # an entry's data as this party sees it

    @staticmethod
    def inline(text: str) -> bool:
        return len(json.dumps(text)) <= TEXT_INLINE_BYTES

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": self.type,
            "chat": self.chat_id,
            "actor": self.actor_id,
            "at": self.at,
            "p": self.position,
        }
        if not self.text_inline:
            out["long"] = True
        for key, value in (
            ("item", self.item_id),
            ("text", self.text if self.text_inline else None),
            ("entryKind", self.entry_kind),
            ("data", self.data),
        ):
            if value is not None:
                out[key] = value
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChatChanged:
        return cls(
            type=data["type"],
            chat_id=data["chat"],
            actor_id=data["actor"],
            at=data["at"],
            position=data["p"],
            item_id=data.get("item"),
            text=data.get("text"),
            text_inline=not data.get("long", False),
            entry_kind=data.get("entryKind"),
            data=data.get("data"),
        )
