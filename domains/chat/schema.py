"""GraphQL for chat: `chats`, `messages`, `sendMessage`, `markRead`, `typing` and the live
`chatMessages` stream."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated
from uuid import UUID

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from domains.blocklist.schema import SUSPENDED_ERRORS, Suspended
from domains.chat.aggregate import ChatBlockedError, ChatNotFoundError, SelfChatError
from domains.chat.changes import ChatChanged
from domains.chat.projection import CHAT_CHANNEL
from domains.chat.services import ChatServices
from domains.chat.views import (
    ChatItemView,
    ChatMessageEvent,
    ChatPage,
    ChatRead,
    MessagePage,
    MessageSent,
    TypingSent,
    chat_view,
    item_view,
    sent_view,
)
from domains.profile.service import UserNotFoundError
from domains.video.results import Blocked
from eventlog.api import (
    Context,
    ErrorResults,
    InvalidInput,
    NotFound,
    RateLimited,
    parse_uuid,
    result_of,
)
from eventlog.hub import RESYNC

PAGE_MAX = 100

SendMessageResult = Annotated[
    MessageSent | InvalidInput | NotFound | Blocked | Suspended | RateLimited,
    strawberry.union("SendMessageResult"),
]
MarkReadResult = Annotated[ChatRead | InvalidInput | NotFound, strawberry.union("MarkReadResult")]
TypingResult = Annotated[
    TypingSent | InvalidInput | NotFound | Blocked | RateLimited, strawberry.union("TypingResult")
]
ChatsResult = Annotated[ChatPage | InvalidInput, strawberry.union("ChatsResult")]
MessagesResult = Annotated[
    MessagePage | InvalidInput | NotFound, strawberry.union("MessagesResult")
]

CHAT_ERRORS: ErrorResults = {
    SelfChatError: lambda e: InvalidInput(message=str(e), field="toUserId"),
    UserNotFoundError: lambda e: NotFound(message=f"there is no user {e}"),
    ChatBlockedError: lambda e: Blocked(message=str(e)),
    ChatNotFoundError: lambda e: NotFound(message="no such chat"),
    **SUSPENDED_ERRORS,
}

Ctx = Info[Context[ChatServices], None]

RESYNC_EVENT = ChatMessageEvent(
    type="resync", chat_id=strawberry.ID(""), actor_id=strawberry.ID(""), at=0.0, position=-1
)


def _first(first: int) -> InvalidInput | None:
    if not 1 <= first <= PAGE_MAX:
        return InvalidInput(message=f"first must be 1 to {PAGE_MAX}", field="first")
    return None


def _cursor(value: str | None, field: str) -> int | InvalidInput | None:
    if value is None:
        return None
    if not value.isdigit() or len(value) > 19:
        return InvalidInput(message=f"{field} must be a cursor this API returned", field=field)
    return int(value)


@strawberry.type
class ChatQuery:
    @strawberry.field(description="Your chats, latest activity first, with the unread total.")
    async def chats(self, info: Ctx, first: int = 20, after: str | None = None) -> ChatsResult:
        viewer = await info.context.viewer()
        after_position = _cursor(after, "after")
        if isinstance(after_position, InvalidInput):
            return after_position
        if bad := _first(first):
            return bad
        services = info.context.services
        rows = await services.chat_queries.chats(viewer.user_id, first + 1, after_position)
        page, more = rows[:first], len(rows) > first
        online = await services.presence.online([r.peer_id for r in page]) if page else set()
        return ChatPage(
            chats=[chat_view(r, r.peer_id in online) for r in page],
            next_cursor=str(page[-1].last_position) if more else None,
            unread_total=await services.chat_queries.unread_total(viewer.user_id),
        )

    @strawberry.field(description="A chat's messages and entries, newest first (yours only).")
    async def messages(
        self, info: Ctx, chat_id: str, first: int = 50, before: str | None = None
    ) -> MessagesResult:
        viewer = await info.context.viewer()
        chat = parse_uuid(chat_id, "chatId", "chat id")
        if isinstance(chat, InvalidInput):
            return chat
        before_position = _cursor(before, "before")
        if isinstance(before_position, InvalidInput):
            return before_position
        if bad := _first(first):
            return bad
        queries = info.context.services.chat_queries
        try:
            rows = await queries.items(chat, viewer.user_id, first + 1, before_position)
        except ChatNotFoundError:
            return NotFound(message="no such chat")
        page = rows[:first]
        return MessagePage(
            items=[item_view(r) for r in page],
            next_cursor=str(page[-1].position) if len(rows) > first else None,
            peer_read_position=await queries.peer_read_position(chat, viewer.user_id),
        )


@strawberry.type
class ChatMutation:
    @strawberry.mutation(description="Send a message; its contacts are masked.")
    async def send_message(
        self, info: Ctx, to_user_id: str, text: str, client_message_id: str
    ) -> SendMessageResult:
        viewer = await info.context.viewer()
        recipient = parse_uuid(to_user_id, "toUserId", "user id")
        if isinstance(recipient, InvalidInput):
            return recipient
        if limited := await info.context.rate_limited("sendMessage"):
            return limited
        sending = info.context.services.chat.send(
            viewer.user_id, recipient, text, client_message_id
        )
        return await result_of(sending, sent_view, CHAT_ERRORS)

    @strawberry.mutation(description="Mark a chat read up to a message.")
    async def mark_read(self, info: Ctx, chat_id: str, up_to_message_id: str) -> MarkReadResult:
        viewer = await info.context.viewer()
        chat = parse_uuid(chat_id, "chatId", "chat id")
        if isinstance(chat, InvalidInput):
            return chat
        message = parse_uuid(up_to_message_id, "upToMessageId", "message id")
        if isinstance(message, InvalidInput):
            return message
        marking = info.context.services.chat.mark_read(viewer.user_id, chat, message)
        read = ChatRead(
            chat_id=strawberry.ID(str(chat)), up_to_message_id=strawberry.ID(str(message))
        )
        return await result_of(marking, lambda _: read, CHAT_ERRORS)

    @strawberry.mutation(description="Tell the other party you are typing (never stored).")
    async def typing(self, info: Ctx, chat_id: str) -> TypingResult:
        viewer = await info.context.viewer()
        chat = parse_uuid(chat_id, "chatId", "chat id")
        if isinstance(chat, InvalidInput):
            return chat
        if limited := await info.context.rate_limited("typing"):
            return limited
        typing = info.context.services.chat.typing(viewer.user_id, chat)
        sent = TypingSent(chat_id=strawberry.ID(str(chat)))
        return await result_of(typing, lambda _: sent, CHAT_ERRORS)


@strawberry.type
class ChatSubscription:
    @strawberry.subscription(
        description="Your chats as they change: messages, entries, read receipts, typing."
    )
    async def chat_messages(self, info: Ctx) -> AsyncGenerator[ChatMessageEvent, None]:
        viewer = await info.context.viewer()
        stream = info.context.hub.subscribe(CHAT_CHANNEL, str(viewer.user_id))
        try:
            async for change in stream:
                if change is RESYNC:  # the hub lost its connection a moment
                    yield RESYNC_EVENT
                    continue
                event = await _event(info, ChatChanged.from_json(change.data), viewer.user_id)
                if event is not None:
                    yield event
        finally:
            stream.close()


async def _event(info: Ctx, change: ChatChanged, viewer_id: UUID) -> ChatMessageEvent | None:
    event = ChatMessageEvent(
        type=change.type,
        chat_id=strawberry.ID(change.chat_id),
        actor_id=strawberry.ID(change.actor_id),
        at=change.at,
        position=change.position,
    )
    if change.type == "read":
        event.up_to_message_id = strawberry.ID(change.item_id or "")
    elif change.type in ("message", "entry") and change.item_id is not None:
        if change.text_inline:
            event.item = _item_of(change)
        else:  # too long for a NOTIFY payload: read from the read model
            item = await info.context.services.chat_queries.item(UUID(change.item_id), viewer_id)
            if item is None:
                return None
            event.item = item_view(item)
    return event


def _item_of(change: ChatChanged) -> ChatItemView:
    assert change.item_id is not None
    return ChatItemView(
        id=strawberry.ID(change.item_id),
        chat_id=strawberry.ID(change.chat_id),
        kind=change.type,
        sender_id=strawberry.ID(change.actor_id),
        text=change.text,
        entry_kind=change.entry_kind,
        data=JSON(change.data) if change.data is not None else None,
        at=change.at,
        position=change.position,
        cursor=str(change.position),
    )
