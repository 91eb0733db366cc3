"""The chat's GraphQL object types and how read-model rows become them."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from domains.chat.queries import ChatItem, ChatSummary
from domains.chat.service import SentMessage


@strawberry.type(description="The other party of a chat, as a card.")
class ChatPeer:
    id: strawberry.ID
    display_name: str | None
    avatar_url: str | None
    online: bool


@strawberry.type(
    description="A message (`kind: message`, `text` masked of contacts) or an entry "
    "(`kind: entry`: a call or a gift, `entryKind` and `data`; a call's `data` has callId, "
    "callKind, durationSeconds, endReason, and your side's `side` and `coins`)."
)
class ChatItemView:
    id: strawberry.ID
    chat_id: strawberry.ID
    kind: str
    sender_id: strawberry.ID
    text: str | None
    entry_kind: str | None
    data: JSON | None
    at: float
    position: int
    cursor: str


@strawberry.type(description="A chat: the peer, the latest item, your unread messages.")
class ChatView:
    id: strawberry.ID
    peer: ChatPeer
    last_item: ChatItemView | None
    unread: int
    cursor: str


@strawberry.type(
    description="A page of your chats, latest activity first; `unreadTotal`: unread messages "
    "in all your chats."
)
class ChatPage:
    chats: list[ChatView]
    next_cursor: str | None
    unread_total: int


@strawberry.type(
    description="A page of a chat's items, newest first; `peerReadPosition`: the other party "
    "has read your messages up to this position (0: none)."
)
class MessagePage:
    items: list[ChatItemView]
    next_cursor: str | None
    peer_read_position: int


@strawberry.type(
    description="The message was sent (`replayed`: this client id was sent "
    "before; this is the first message, nothing new was written)."
)
class MessageSent:
    item: ChatItemView
    replayed: bool
    masked: list[str]


@strawberry.type(description="The chat is marked read up to this message.")
class ChatRead:
    chat_id: strawberry.ID
    up_to_message_id: strawberry.ID


@strawberry.type(description="The other party was told you are typing.")
class TypingSent:
    chat_id: strawberry.ID


@strawberry.type(
    description="A change of one of your chats: `message` and `entry` (with `item`), `read` "
    "(`actorId` read up to `upToMessageId`), `typing` (`actorId` is typing; live only, "
    "position 0), `resync` (changes may have been missed: read `chats` and `messages` again; "
    "no chat, position -1)."
)
class ChatMessageEvent:
    type: str
    chat_id: strawberry.ID
    actor_id: strawberry.ID
    at: float
    position: int
    item: ChatItemView | None = None
    up_to_message_id: strawberry.ID | None = None


def item_view(item: ChatItem) -> ChatItemView:
    return ChatItemView(
        id=strawberry.ID(str(item.item_id)),
        chat_id=strawberry.ID(str(item.chat_id)),
        kind=item.kind,
        sender_id=strawberry.ID(str(item.sender_id)),
        text=item.text,
        entry_kind=item.entry_kind,
        data=JSON(item.data) if item.data is not None else None,
        at=item.at,
        position=item.position,
        cursor=str(item.position),
    )


def sent_view(sent: SentMessage, position: int = 0) -> MessageSent:
    """The message as its sender gets it back (its log position is the stream's to tell)."""
    item = ChatItem(
        sent.message_id,
        sent.chat_id,
        position,
        "message",
        sent.sender_id,
        sent.text,
        None,
        None,
        sent.at,
    )
    return MessageSent(item=item_view(item), replayed=sent.replayed, masked=list(sent.masked))


def chat_view(summary: ChatSummary, online: bool) -> ChatView:
    peer = ChatPeer(
        id=strawberry.ID(str(summary.peer_id)),
        display_name=summary.peer_name,
        avatar_url=summary.peer_avatar_url,
        online=online,
    )
    last = item_view(summary.last_item) if summary.last_item is not None else None
    return ChatView(
        id=strawberry.ID(str(summary.chat_id)),
        peer=peer,
        last_item=last,
        unread=summary.unread,
        cursor=str(summary.last_position),
    )
