"""Reads of the chat read model: a user's chats (newest activity first), a chat's items
(newest first), unread counts, who the other party of a chat is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from domains.chat.aggregate import ChatNotFoundError
from domains.chat.projection import seen_by


@dataclass(frozen=True)
class ChatItem:
    """A message or an entry, as the viewer sees it."""

    item_id: UUID
    chat_id: UUID
    position: int
    kind: str  # message or entry
    sender_id: UUID
    text: str | None
    entry_kind: str | None
    data: dict[str, Any] | None
    at: float


@dataclass(frozen=True)
class ChatSummary:
    chat_id: UUID
    peer_id: UUID
    peer_name: str | None  # None until the profile read model has the peer
    peer_avatar_url: str | None
    last_position: int
    last_item: ChatItem | None
    unread: int


_ITEM_COLUMNS = "item_id, chat_id, position, kind, sender_id, text, entry_kind, data, private, at"


def _item(row: asyncpg.Record, viewer_id: UUID) -> ChatItem:
    data = seen_by(row["data"], row["private"], viewer_id) if row["kind"] == "entry" else None
    return ChatItem(
        row["item_id"],
        row["chat_id"],
        row["position"],
        row["kind"],
        row["sender_id"],
        row["text"],
        row["entry_kind"],
        data,
        row["at"],
    )


_UNREAD = (
    "(SELECT count(*) FROM chat_items c WHERE c.chat_id = m.chat_id AND c.kind = 'message' "
    "AND c.sender_id = m.peer_id AND c.position > m.read_position)"
)


class ChatQueries:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def chats(
        self, user_id: UUID, first: int, after_position: int | None = None
    ) -> list[ChatSummary]:
        """The user's chats, the one with the latest item first; `after_position`: those
        whose latest item is older than that (the next page)."""
        rows = await self.pool.fetch(
            "SELECT m.chat_id, m.peer_id, u.public->>'display_name' AS name, "
            f"u.public->>'avatar_url' AS avatar, m.last_position, {_UNREAD} AS unread, "
            "i.item_id, i.position, i.kind, i.sender_id, i.text, i.entry_kind, i.data, "
            "i.private, i.at "
            "FROM chat_members m LEFT JOIN profile_users u ON u.user_id = m.peer_id "
            "LEFT JOIN LATERAL (SELECT * FROM chat_items WHERE chat_id = m.chat_id "
            "ORDER BY position DESC LIMIT 1) i ON true "
            "WHERE m.user_id = $1 AND ($2::bigint IS NULL OR m.last_position < $2) "
            "ORDER BY m.last_position DESC LIMIT $3",
            user_id,
            after_position,
            first,
        )
        return [
            ChatSummary(
                r["chat_id"],
                r["peer_id"],
                r["name"],
                r["avatar"],
                r["last_position"],
                _item(r, user_id) if r["item_id"] is not None else None,
                r["unread"],
            )
            for r in rows
        ]

    async def unread_total(self, user_id: UUID) -> int:
        """Messages to the user, in all their chats, after what they read."""
        count = await self.pool.fetchval(
            f"SELECT coalesce(sum({_UNREAD}), 0) FROM chat_members m WHERE m.user_id = $1",
            user_id,
        )
        return int(count)

    async def peer_of(self, chat_id: UUID, user_id: UUID) -> UUID | None:
        """The other party of the chat, None if the user is not one (or it has no item yet)."""
        peer: UUID | None = await self.pool.fetchval(
            "SELECT peer_id FROM chat_members WHERE chat_id = $1 AND user_id = $2",
            chat_id,
            user_id,
        )
        return peer

    async def peer_read_position(self, chat_id: UUID, viewer_id: UUID) -> int:
        """How far the other party has read the chat (a log position; 0: nothing)."""
        position = await self.pool.fetchval(
            "SELECT read_position FROM chat_members WHERE chat_id = $1 AND user_id <> $2",
            chat_id,
            viewer_id,
        )
        return int(position or 0)

    async def blocked_between(self, a: UUID, b: UUID) -> bool:
        """Either user blocks the other, as the blocklist's read model has it."""
        found = await self.pool.fetchval(
            "SELECT EXISTS (SELECT 1 FROM blocklist_blocks WHERE (blocker_id, blocked_id) "
            "IN (($1::uuid, $2::uuid), ($2::uuid, $1::uuid)))",
            a,
            b,
        )
        return bool(found)

    async def items(
        self, chat_id: UUID, viewer_id: UUID, first: int, before_position: int | None = None
    ) -> list[ChatItem]:
        """A chat's items, newest first, for one of its parties (ChatNotFoundError for
        anyone else: another user's chat looks like no chat at all)."""
        if await self.peer_of(chat_id, viewer_id) is None:
            raise ChatNotFoundError(f"no chat {chat_id}")
        rows = await self.pool.fetch(
            f"SELECT {_ITEM_COLUMNS} FROM chat_items WHERE chat_id = $1 "
            "AND ($2::bigint IS NULL OR position < $2) ORDER BY position DESC LIMIT $3",
            chat_id,
            before_position,
            first,
        )
        return [_item(r, viewer_id) for r in rows]

    async def item(self, item_id: UUID, viewer_id: UUID) -> ChatItem | None:
        """One item, if the viewer is a party of its chat."""
        row = await self.pool.fetchrow(
            f"SELECT {_ITEM_COLUMNS} FROM chat_items WHERE item_id = $1 "
            "AND $2 IN (sender_id, recipient_id)",
            item_id,
            viewer_id,
        )
        return _item(row, viewer_id) if row is not None else None
