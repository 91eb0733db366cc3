"""The chat read model: every item (message or entry) of every conversation in log order,
each party's place in it (last activity, how far they read), the masked-contact reports for
anti-fraud; and the live `chatMessages` stream of each user (the projection's changes, plus
typing, which is announced here straight to the stream and never written to the log)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg

from domains.chat.aggregate import Entry, Message, ReadMarker
from domains.chat.changes import ChatChanged
from eventlog.database import Connection, SchemaConnection
from eventlog.hub import change_payloads
from eventlog.projection import Recorded
from eventlog.text import storable

CHAT_CHANNEL = "olo_chat"

_TABLES = """
CREATE TABLE IF NOT EXISTS chat_items (
    item_id uuid PRIMARY KEY,
    chat_id uuid NOT NULL,
    position bigint NOT NULL,
    kind text NOT NULL,
    sender_id uuid NOT NULL,
    recipient_id uuid NOT NULL,
    text text,
    entry_kind text,
    data jsonb,
    private jsonb,
    at double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS chat_items_chat ON chat_items (chat_id, position DESC);
CREATE TABLE IF NOT EXISTS chat_members (
    chat_id uuid NOT NULL,
    user_id uuid NOT NULL,
    peer_id uuid NOT NULL,
    last_position bigint NOT NULL,
    read_position bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (chat_id, user_id)
);
CREATE INDEX IF NOT EXISTS chat_members_user ON chat_members (user_id, last_position DESC);
CREATE TABLE IF NOT EXISTS chat_contact_reports (
    message_id uuid PRIMARY KEY,
    chat_id uuid NOT NULL,
    sender_id uuid NOT NULL,
    kinds text[] NOT NULL,
    position bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS chat_contact_reports_sender ON chat_contact_reports (sender_id);
"""


def seen_by(data: dict[str, Any], private: dict[str, Any] | None, user_id: UUID | str) -> Any:
    """An entry's data as one party sees it: the shared data and their own private part."""
    return {**data, **((private or {}).get(str(user_id)) or {})}


class ChatProjection:
    name = "chat"
    topics = frozenset(
        {Message.Sent.TOPIC, Message.ContactMasked.TOPIC, Entry.Added.TOPIC, ReadMarker.Read.TOPIC}
    )

    async def create_tables(self, conn: SchemaConnection) -> None:
        await conn.execute(_TABLES)

    async def clear(self, conn: Connection) -> None:
        await conn.execute("TRUNCATE chat_items, chat_members, chat_contact_reports")

    async def apply(
        self, conn: Connection, events: Sequence[Recorded]
    ) -> dict[str, list[tuple[str, Any]]]:
        items: list[tuple[Any, ...]] = []
        members: dict[tuple[UUID, UUID], tuple[UUID, int]] = {}  # (chat, user) -> peer, last
        reads: list[tuple[UUID, UUID, UUID]] = []
        reports: list[tuple[Any, ...]] = []
        announced: list[tuple[str, Any]] = []
        for recorded in events:
            e, position = recorded.event, recorded.position
            match e:
                case Message.Sent():
                    text = storable(e.text)
                    row = (e.originator_id, e.chat_id, position, "message", e.sender_id)
                    items.append((*row, e.recipient_id, text, None, None, None, e.at))
                    _touch(members, e.chat_id, e.sender_id, e.recipient_id, position)
                    change = ChatChanged(
                        "message",
                        str(e.chat_id),
                        str(e.sender_id),
                        e.at,
                        position,
                        item_id=str(e.originator_id),
                        text=text,
                        text_inline=ChatChanged.inline(text),
                    )
                    for user in (e.sender_id, e.recipient_id):
                        announced.append((str(user), change.to_json()))
                case Entry.Added():
                    data, private = storable(e.data), storable(e.private)
                    row = (e.originator_id, e.chat_id, position, "entry", e.author_id)
                    items.append((*row, e.peer_id, None, e.kind, data, private, e.at))
                    _touch(members, e.chat_id, e.author_id, e.peer_id, position)
                    for user in (e.author_id, e.peer_id):
                        change = ChatChanged(
                            "entry",
                            str(e.chat_id),
                            str(e.author_id),
                            e.at,
                            position,
                            item_id=str(e.originator_id),
                            entry_kind=e.kind,
                            data=seen_by(data, private, user),
                        )
                        announced.append((str(user), change.to_json()))
                case ReadMarker.Read():
                    reads.append((e.chat_id, e.reader_id, e.up_to_message_id))
                    change = ChatChanged(
                        "read",
                        str(e.chat_id),
                        str(e.reader_id),
                        e.at,
                        position,
                        item_id=str(e.up_to_message_id),
                    )
                    for user in (e.reader_id, e.peer_id):
                        announced.append((str(user), change.to_json()))
                case Message.ContactMasked():
                    reports.append((e.originator_id, e.chat_id, e.sender_id, e.kinds, position))
        await _write(conn, items, members, reads, reports)
        return {CHAT_CHANNEL: announced}


def _touch(
    members: dict[tuple[UUID, UUID], tuple[UUID, int]],
    chat_id: UUID,
    a: UUID,
    b: UUID,
    position: int,
) -> None:
    members[(chat_id, a)] = (b, position)
    members[(chat_id, b)] = (a, position)


async def _write(
    conn: Connection,
    items: list[tuple[Any, ...]],
    members: dict[tuple[UUID, UUID], tuple[UUID, int]],
    reads: list[tuple[UUID, UUID, UUID]],
    reports: list[tuple[Any, ...]],
) -> None:
    if items:
        await conn.executemany(
            "INSERT INTO chat_items (item_id, chat_id, position, kind, sender_id, recipient_id,"
            " text, entry_kind, data, private, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,"
            " $10, $11) ON CONFLICT (item_id) DO NOTHING",
            items,
        )
    if members:
        await conn.executemany(
            "INSERT INTO chat_members (chat_id, user_id, peer_id, last_position) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT (chat_id, user_id) DO UPDATE SET "
            "last_position = GREATEST(chat_members.last_position, excluded.last_position)",
            [(chat, user, peer, last) for (chat, user), (peer, last) in members.items()],
        )
    if reads:
        # After the items: a message read on the page it was sent on is found.
        await conn.executemany(
            "UPDATE chat_members m SET read_position = GREATEST(m.read_position, i.position) "
            "FROM chat_items i WHERE i.item_id = $3 AND m.chat_id = $1 AND m.user_id = $2",
            reads,
        )
    if reports:
        await conn.executemany(
            "INSERT INTO chat_contact_reports (message_id, chat_id, sender_id, kinds, position) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (message_id) DO NOTHING",
            reports,
        )


async def announce_typing(
    pool: asyncpg.Pool, recipient_id: UUID, chat_id: UUID, typist_id: UUID, at: float
) -> None:
    """`typist_id` is typing in the chat: straight to the recipient's stream (position 0:
    no log position, nothing was written)."""
    change = ChatChanged("typing", str(chat_id), str(typist_id), at, 0)
    for payload in change_payloads(0, [(str(recipient_id), change.to_json())]):
        await pool.execute("SELECT pg_notify($1, $2)", CHAT_CHANNEL, payload)
