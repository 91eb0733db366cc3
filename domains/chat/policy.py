"""Chat's reactions to other domains' events, and the notification of its own messages. Each
effect is keyed by the event it reacts to, so a replay writes nothing twice."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from domains.chat.aggregate import ChatBlockedError, Message
from domains.chat.service import ChatService
from domains.gift.aggregate import GiftSend
from domains.notification.aggregate import NotificationKind
from domains.notification.service import NotificationService
from domains.profile.aggregate import User, user_id_of
from domains.video.aggregate import Call, Side

log = logging.getLogger(__name__)

CALL_ENTRY = "call"
GIFT_ENTRY = "gift"


@dataclass(frozen=True)
class EntrySpec:
    """An entry to show in a pair's chat, as a policy derived it from an event: `key` makes
    it once; `private` is what only that user sees (by user id)."""

    key: str
    author_id: UUID
    peer_id: UUID
    kind: str
    data: dict[str, Any]
    private: dict[UUID, dict[str, Any]] = field(default_factory=dict)


# What an event of another domain shows in a chat (None: nothing).
Describe = Callable[[Any], Awaitable[EntrySpec | None]]


class EntryPolicy:
    """Events of another domain shown as entries in the pair's chat: one generic policy per
    source, given the topics it follows and how an event becomes an entry (calls below;
    gifts the same way, see wiring.py)."""

    concurrency = 32

    def __init__(
        self, name: str, topics: frozenset[str], describe: Describe, chat: ChatService
    ) -> None:
        self.name = name
        self.topics = topics
        self.describe = describe
        self.chat = chat

    async def handle(self, event: Any, position: int) -> None:
        spec = await self.describe(event)
        if spec is not None:
            await self.chat.add_entry(
                spec.key, spec.author_id, spec.peer_id, spec.kind, spec.data, spec.private
            )


def call_entries(chat: ChatService) -> EntryPolicy:
    """Every call that ended (direct or roulette) is an entry: its kind, how long it was
    connected, and what it cost the caller or earned the streamer (each sees only their own
    side)."""

    async def describe(event: Any) -> EntrySpec:
        call = await chat.store.load(event.originator_id, fresh=True)
        assert isinstance(call, Call)
        connected = 0.0
        if call.connected_at is not None and call.ended_at is not None:
            connected = max(0.0, call.ended_at - call.connected_at)
        data = {
            "callId": str(call.id),
            "callKind": call.kind.value,
            "durationSeconds": round(connected),
            "endReason": call.end_reason.value if call.end_reason else None,
        }
        private = {
            call.caller_id: {"side": Side.CALLER.value, "coins": call.coins[Side.CALLER]},
            call.callee_id: {"side": Side.STREAMER.value, "coins": call.coins[Side.STREAMER]},
        }
        return EntrySpec(
            f"call/{call.id}", call.caller_id, call.callee_id, CALL_ENTRY, data, private
        )

    return EntryPolicy("chat.call_entries", frozenset({Call.Ended.TOPIC}), describe, chat)


def gift_entries(chat: ChatService) -> EntryPolicy:
    """Every gift sent is an entry in the pair's chat: the gift, and the call it was sent in;
    the sender sees what it cost, the streamer what they earned."""

    async def describe(event: Any) -> EntrySpec:
        sent: GiftSend.Sent = event
        data = {
            "giftId": str(sent.gift_id),
            "name": sent.name,
            "imageUrl": sent.image_url,
            "callId": str(sent.call_id) if sent.call_id else None,
        }
        private = {
            sent.sender_id: {"side": "sender", "coins": sent.coins},
            sent.recipient_id: {"side": "streamer", "coins": sent.streamer_coins},
        }
        key = f"gift/{sent.originator_id}"
        return EntrySpec(key, sent.sender_id, sent.recipient_id, GIFT_ENTRY, data, private)

    return EntryPolicy("chat.gift_entries", frozenset({GiftSend.Sent.TOPIC}), describe, chat)


def welcome_senders(configured: Sequence[str]) -> list[UUID]:
    """The configured streamers as user ids: each an id, or the firebase uid they signed in
    with (the seeded demo streamers are known by uid)."""
    senders: list[UUID] = []
    for value in configured:
        try:
            senders.append(UUID(value))
        except ValueError:
            senders.append(user_id_of(value))
    return senders


# A policy follows the log from its start when first deployed: users who signed up longer
# ago than this are not greeted then (a greeting belongs to the sign-up).
WELCOME_WINDOW_SECONDS = 7 * 24 * 3600


class WelcomePolicy:
    """On sign-up, the configured streamers greet the new user: their chats start at once.
    One greeting per (streamer, user): its client message id is derived from the user."""

    name = "chat.welcome"
    concurrency = 16
    topics = frozenset({User.Registered.TOPIC})

    def __init__(self, chat: ChatService, streamers: Sequence[str], greeting: str) -> None:
        self.chat = chat
        self.senders = welcome_senders(streamers)
        self.greeting = greeting

    async def handle(self, event: Any, position: int) -> None:
        user_id = event.originator_id
        if self.chat.clock.now() - event.timestamp.timestamp() > WELCOME_WINDOW_SECONDS:
            return
        for sender_id in self.senders:
            if sender_id == user_id:
                continue
            if not isinstance(await self.chat.store.load(sender_id), User):
                log.warning("welcome streamer %s is not a user; no greeting from them", sender_id)
                continue
            try:
                await self.chat.send(sender_id, user_id, self.greeting, f"welcome/{user_id}")
            except ChatBlockedError:
                continue


class MessageNotificationPolicy:
    """A message to someone offline is notified (`new_message`: in-app first, then push;
    collapsed per chat on the devices). Someone online sees it on `chatMessages`."""

    name = "chat.message_notifications"
    concurrency = 32
    topics = frozenset({Message.Sent.TOPIC})

    def __init__(
        self,
        notifications: NotificationService,
        online: Callable[[list[UUID]], Awaitable[set[UUID]]],
    ) -> None:
        self.notifications = notifications
        self.online = online

    async def handle(self, event: Any, position: int) -> None:
        if await self.online([event.recipient_id]):
            return
        payload = {
            "chatId": str(event.chat_id),
            "messageId": str(event.originator_id),
            "senderId": str(event.sender_id),
        }
        await self.notifications.notify(
            event.recipient_id,
            NotificationKind.NEW_MESSAGE,
            payload,
            key=f"chat/message/{event.originator_id}",
        )
