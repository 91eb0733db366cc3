"""Chat's aggregates: a message (its id derived from the sender and the client's message id,
so a replay finds the first), a reader's read marker in a chat, and an entry (a call, a gift)
shown in a conversation. A conversation itself is no aggregate: its id is derived from the
pair, and its order is the log's."""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

NAMESPACE = uuid5(NAMESPACE_URL, "https://olo.app/chat")

TEXT_MAX_CHARS = 2000


class ChatError(Exception):
    """A chat rule was broken."""


class SelfChatError(ChatError):
    def __init__(self) -> None:
        super().__init__("you cannot message yourself")


class ChatNotFoundError(ChatError):
    """No such chat, or not yours (the two look the same to the asker)."""


class ChatBlockedError(ChatError):
    def __init__(self) -> None:
        super().__init__("one of you blocked the other: the chat is closed")


def chat_id_of(a: UUID, b: UUID) -> UUID:
    """The one conversation of a pair, whoever writes first."""
    low, high = sorted((a, b))
    return uuid5(NAMESPACE, f"chat:{low}:{high}")


def message_id_of(sender_id: UUID, client_message_id: str) -> UUID:
    return uuid5(NAMESPACE, f"message:{sender_id}:{client_message_id}")


def read_marker_id_of(chat_id: UUID, reader_id: UUID) -> UUID:
    return uuid5(NAMESPACE, f"read:{chat_id}:{reader_id}")


def entry_id_of(key: str) -> UUID:
    return uuid5(NAMESPACE, f"entry:{key}")


def check_not_self(sender_id: UUID, recipient_id: UUID) -> None:
    if sender_id == recipient_id:
        raise SelfChatError()


class Message(Aggregate):
    """One message from one party of a chat to the other, as it was stored and delivered
    (masked: the contacts it carried were never written)."""

    TOPIC = "olo.chat:Message"
    CACHED = False  # written once: no command builds on it later

    class Created(Aggregate.Created):
        TOPIC = "olo.chat:Message.Created"

    class Sent(Created):
        TOPIC = "olo.chat:Message.Sent"
        chat_id: UUID
        sender_id: UUID
        recipient_id: UUID
        client_message_id: str
        text: str
        at: float

    @event(Sent)
    def __init__(
        self,
        chat_id: UUID,
        sender_id: UUID,
        recipient_id: UUID,
        client_message_id: str,
        text: str,
        at: float,
    ) -> None:
        check_not_self(sender_id, recipient_id)
        self.chat_id = chat_id
        self.sender_id = sender_id
        self.recipient_id = recipient_id
        self.client_message_id = client_message_id
        self.text = text
        self.at = at
        self.masked: list[str] = []

    @staticmethod
    def create_id(sender_id: UUID, client_message_id: str) -> UUID:
        return message_id_of(sender_id, client_message_id)

    def is_party(self, user_id: UUID) -> bool:
        return user_id in (self.sender_id, self.recipient_id)

    def record_masking(self, kinds: list[str]) -> None:
        """Contacts were masked out of the text: one event for anti-fraud review."""
        if kinds:
            self._masked(self.chat_id, self.sender_id, sorted(kinds))

    # What anti-fraud reviews: what kinds of contact, from whom, in which chat. The contacts
    # themselves are kept nowhere (see masking.py).
    class ContactMasked(Aggregate.Event):
        TOPIC = "olo.chat:Message.ContactMasked"
        chat_id: UUID
        sender_id: UUID
        kinds: list[str]

    @event(ContactMasked)
    def _masked(self, chat_id: UUID, sender_id: UUID, kinds: list[str]) -> None:
        self.masked = list(kinds)


class ReadMarker(Aggregate):
    """How far a reader has read a chat (the message they last saw)."""

    TOPIC = "olo.chat:ReadMarker"

    class Created(Aggregate.Created):
        TOPIC = "olo.chat:ReadMarker.Created"

    class Started(Created):
        TOPIC = "olo.chat:ReadMarker.Started"
        chat_id: UUID
        reader_id: UUID

    @event(Started)
    def __init__(self, chat_id: UUID, reader_id: UUID) -> None:
        self.chat_id = chat_id
        self.reader_id = reader_id
        self.up_to: set[UUID] = set()

    @staticmethod
    def create_id(chat_id: UUID, reader_id: UUID) -> UUID:
        return read_marker_id_of(chat_id, reader_id)

    def read(self, peer_id: UUID, message_id: UUID, at: float) -> bool:
        """Read up to a message; False if that was already said (nothing is emitted). The
        read model keeps the furthest point: reading an older message moves nothing back."""
        if message_id in self.up_to:
            return False
        self._read(self.chat_id, self.reader_id, peer_id, message_id, at)
        return True

    class Read(Aggregate.Event):
        TOPIC = "olo.chat:ReadMarker.Read"
        chat_id: UUID
        reader_id: UUID
        peer_id: UUID
        up_to_message_id: UUID
        at: float

    @event(Read)
    def _read(
        self, chat_id: UUID, reader_id: UUID, peer_id: UUID, up_to_message_id: UUID, at: float
    ) -> None:
        self.up_to.add(up_to_message_id)


class Entry(Aggregate):
    """Something that happened between the pair shown in their conversation (a call, a gift):
    a `kind` and its data. `private` holds data only one party sees (by user id: what a call
    cost the caller is not what it earned the streamer)."""

    TOPIC = "olo.chat:Entry"
    CACHED = False

    class Created(Aggregate.Created):
        TOPIC = "olo.chat:Entry.Created"

    class Added(Created):
        TOPIC = "olo.chat:Entry.Added"
        key: str
        chat_id: UUID
        author_id: UUID
        peer_id: UUID
        kind: str
        data: dict[str, Any]
        private: dict[str, dict[str, Any]]
        at: float

    @event(Added)
    def __init__(
        self,
        key: str,
        chat_id: UUID,
        author_id: UUID,
        peer_id: UUID,
        kind: str,
        data: dict[str, Any],
        private: dict[str, dict[str, Any]],
        at: float,
    ) -> None:
        self.key = key
        self.chat_id = chat_id
        self.author_id = author_id
        self.peer_id = peer_id
        self.kind = kind
        self.data = data
        self.private = private
        self.at = at

    @staticmethod
    def create_id(key: str) -> UUID:
        return entry_id_of(key)
