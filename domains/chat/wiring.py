"""The chat domain's parts: conversations, their read model and stream, and the policies
that start chats on sign-up, add call entries and notify offline recipients.

Entries: each source of entries is one `EntryPolicy` (its topics, and how an event becomes an
`EntrySpec`), listed in `entry_policies`: calls and gifts."""

from __future__ import annotations

from functools import partial

from domains.chat.policy import (
    EntryPolicy,
    MessageNotificationPolicy,
    WelcomePolicy,
    call_entries,
    gift_entries,
)
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


def entry_policies(chat: ChatService) -> list[EntryPolicy]:
    """The sources of entries in chats: calls and gifts."""
    return [call_entries(chat), gift_entries(chat)]


def wire(core: Core, notification: NotificationServices) -> Parts[ChatServices]:
    queries = ChatQueries(core.pool)
    announce = partial(announce_typing, core.pool)
    chat = ChatService(core.store, core.clock, announce, queries.peer_of, queries.blocked_between)
    settings = core.settings
    policies: list[Policy] = [
        *entry_policies(chat),
        WelcomePolicy(chat, settings.welcome_streamers, settings.welcome_greeting),
        MessageNotificationPolicy(notification.notifications, notification.presence.online),
    ]
    return Parts(
        ChatServices(chat, queries, notification.presence),
        policies=tuple(policies),
    )
