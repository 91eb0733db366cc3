"""Chat commands: send a message (masked, idempotent per client id), mark a chat read, add an
entry (a policy's), and the live-only typing signal."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domains.blocklist.review import check_not_suspended
from domains.blocklist.service import blocked_between
from domains.chat.aggregate import (
    TEXT_MAX_CHARS,
    ChatBlockedError,
    ChatNotFoundError,
    Entry,
    Message,
    ReadMarker,
    chat_id_of,
    check_not_self,
    message_id_of,
    read_marker_id_of,
)
from domains.chat.masking import mask
from domains.profile.aggregate import User
from domains.profile.service import UserNotFoundError
from eventlog import text as texts
from eventlog.clock import Clock
from eventlog.store import AggregateStore, Transaction

CLIENT_ID_MAX_CHARS = 64

# (recipient, chat, who is typing, when): reaches the recipient's stream, never the log.
Announce = Callable[[UUID, UUID, UUID, float], Awaitable[None]]
# (chat, user) -> the other party of the chat, None if the user is not one.
PeerOf = Callable[[UUID, UUID], Awaitable[UUID | None]]
# (a, b) -> either blocks the other (the blocklist's read model: typing writes nothing).
BlockedBetween = Callable[[UUID, UUID], Awaitable[bool]]


@dataclass(frozen=True)
class SentMessage:
    """A message as stored; `replayed`: the client sent this client id before (nothing new
    was written, this is the first message)."""

    message_id: UUID
    chat_id: UUID
    sender_id: UUID
    recipient_id: UUID
    text: str
    at: float
    masked: tuple[str, ...]
    replayed: bool


def message_text(value: object) -> str:
    """A message's text: 1 to 2,000 characters, newlines and tabs allowed, not blank."""
    text = texts.multiline(value, "text", TEXT_MAX_CHARS)
    if not text.strip():
        raise texts.InvalidTextError("text", "must not be blank")
    return text


async def _is_user(tx: Transaction, user_id: UUID) -> bool:
    try:
        return await tx.get(user_id, User) is not None
    except TypeError:  # the id of something that is not a user
        return False


def _sent(message: Message, replayed: bool) -> SentMessage:
    return SentMessage(
        message.id,
        message.chat_id,
        message.sender_id,
        message.recipient_id,
        message.text,
        message.at,
        tuple(message.masked),
        replayed,
    )


class ChatService:
    """Messages, read markers and entries of the conversations between pairs of users."""

    def __init__(
        self,
        store: AggregateStore,
        clock: Clock,
        announce: Announce,
        peer_of: PeerOf,
        blocked: BlockedBetween,
    ) -> None:
        self.store = store
        self.clock = clock
        self._announce = announce
        self._peer_of = peer_of
        self._blocked = blocked

    async def send(
        self, sender_id: UUID, recipient_id: UUID, text: str, client_message_id: str
    ) -> SentMessage:
        """Send a message, its contacts masked; sending a client id again answers the first
        message and writes nothing. ChatBlockedError if either blocks the other."""
        check_not_self(sender_id, recipient_id)
        text = message_text(text)
        client_message_id = texts.token(client_message_id, "client_message_id", CLIENT_ID_MAX_CHARS)
        masked = mask(text)

        async def command(tx: Transaction) -> SentMessage:
            existing = await tx.get(message_id_of(sender_id, client_message_id), Message)
            if existing is not None:
                return _sent(existing, replayed=True)
            await check_not_suspended(tx, sender_id)
            if not await _is_user(tx, recipient_id):
                raise UserNotFoundError(str(recipient_id))
            if await blocked_between(tx, sender_id, recipient_id):
                raise ChatBlockedError()
            message = Message(
                chat_id=chat_id_of(sender_id, recipient_id),
                sender_id=sender_id,
                recipient_id=recipient_id,
                client_message_id=client_message_id,
                text=masked.text,
                at=self.clock.now(),
            )
            message.record_masking(list(masked.kinds))
            tx.add(message)
            return _sent(message, replayed=False)

        return await self.store.transact(command)

    async def mark_read(self, reader_id: UUID, chat_id: UUID, up_to_message_id: UUID) -> bool:
        """The reader has read the chat up to this message (False: they had said so before).
        ChatNotFoundError unless the message is in that chat and the reader is a party."""

        async def command(tx: Transaction) -> bool:
            try:
                message = await tx.get(up_to_message_id, Message)
            except TypeError:
                message = None
            if message is None or message.chat_id != chat_id or not message.is_party(reader_id):
                raise ChatNotFoundError(f"no chat {chat_id} with message {up_to_message_id}")
            peer_id = message.recipient_id if message.sender_id == reader_id else message.sender_id
            marker = await tx.get(read_marker_id_of(chat_id, reader_id), ReadMarker)
            if marker is None:
                marker = ReadMarker(chat_id=chat_id, reader_id=reader_id)
                tx.add(marker)
            return marker.read(peer_id, up_to_message_id, self.clock.now())

        return await self.store.transact(command)

    async def add_entry(
        self,
        key: str,
        author_id: UUID,
        peer_id: UUID,
        kind: str,
        data: dict[str, Any],
        private: dict[UUID, dict[str, Any]] | None = None,
    ) -> UUID:
        """Show something that happened between two users in their chat, once per `key`
        (what a policy reacting to a call or a gift calls). `private`: data only that user
        sees (what the call cost them, or earned them)."""

        async def command(tx: Transaction) -> UUID:
            key_id = Entry.create_id(key)
            existing = await tx.get(key_id, Entry)
            if existing is not None:
                return existing.id
            entry = Entry(
                key=key,
                chat_id=chat_id_of(author_id, peer_id),
                author_id=author_id,
                peer_id=peer_id,
                kind=kind,
                data=data,
                private={str(user): seen for user, seen in (private or {}).items()},
                at=self.clock.now(),
            )
            tx.add(entry)
            return entry.id

        return await self.store.transact(command)

    async def typing(self, user_id: UUID, chat_id: UUID) -> UUID:
        """Tell the other party that the user is typing (live only: nothing is written);
        the peer's id. ChatNotFoundError unless the user is a party of the chat;
        ChatBlockedError if either blocks the other."""
        peer_id = await self._peer_of(chat_id, user_id)
        if peer_id is None:
            raise ChatNotFoundError(f"no chat {chat_id}")
        if await self._blocked(user_id, peer_id):
            raise ChatBlockedError()
        await self._announce(peer_id, chat_id, user_id, self.clock.now())
        return peer_id
