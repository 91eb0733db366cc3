"""The chat domain's parts: conversations, their read model and stream, and the policies
that start chats on sign-up, add call entries and notify offline recipients.

Gifts: the gift domain (a layer below chat) is built on its own branch. Its gift-sent event
becomes a chat entry the way a call does (`CallEntryPolicy`): a policy over that event calls
`ChatService.add_entry(f"gift/{id}", sender, streamer, GIFT_ENTRY, data, private)`, and is
listed in `policies` below."""

from __future__ import annotations

from functools import partial

from domains.chat.policy import CallEntryPolicy, MessageNotificationPolicy, WelcomePolicy
from domains.chat.projection import CHAT_CHANNEL, ChatProjection, announce_typing
from domains.chat.queries import ChatQueries
from domains.chat.schema import ChatMutation, ChatQuery, ChatSubscription
from domains.chat.service import ChatService
from domains.chat.services import ChatServices
from domains.notification.services import NotificationServices
from eventlog.policy import Policy
from eventlog.wiring import Core, Domain, Parts

DOMAIN: Domain[ChatServices] = Domain(
    "chat",
    projections=(ChatProjection,),
    channels=(CHAT_CHANNEL,),
    query=(ChatQuery,),
    mutation=(ChatMutation,),
    subscription=(ChatSubscription,),
)


def wire(core: Core, notification: NotificationServices) -> Parts[ChatServices]:
    queries = ChatQueries(core.pool)
    chat = ChatService(core.store, core.clock, partial(announce_typing, core.pool), queries.peer_of)
    settings = core.settings
    policies: list[Policy] = [
        CallEntryPolicy(chat),
        WelcomePolicy(chat, settings.welcome_streamers, settings.welcome_greeting),
        MessageNotificationPolicy(notification.notifications, notification.presence.online),
    ]
    return Parts(
        ChatServices(chat, queries, notification.presence),
        policies=tuple(policies),
    )
