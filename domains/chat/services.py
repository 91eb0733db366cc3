"""The chat domain's services and queries as one typed record: what its resolvers, higher
domains, tests and tools reach it by (`services.chat`)."""

from __future__ import annotations

from dataclasses import dataclass

from domains.chat.queries import ChatQueries
from domains.chat.service import ChatService
from domains.video.presence import Presence


@dataclass(frozen=True)
class ChatServices:
    chat: ChatService
    chat_queries: ChatQueries
    presence: Presence  # the video domain's: a peer card says whether the peer is online
