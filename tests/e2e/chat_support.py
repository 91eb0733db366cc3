"""The GraphQL the app sends for chat, and small helpers the chat tests share."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import asyncpg
from graphql_client import data_of, post, token_for

ITEM = "id chatId kind senderId text entryKind data position cursor"
SEND = (
    "mutation($to: String!, $text: String!, $cid: String!) {"
    " sendMessage(toUserId: $to, text: $text, clientMessageId: $cid) { __typename"
    f" ... on MessageSent {{ replayed masked item {{ {ITEM} }} }}"
    " ... on InvalidInput { message field } ... on NotFound { message }"
    " ... on Blocked { message } ... on Suspended { message } ... on RateLimited { message } } }"
)
MARK_READ = (
    "mutation($chat: String!, $upTo: String!) { markRead(chatId: $chat, upToMessageId: $upTo)"
    " { __typename ... on ChatRead { chatId upToMessageId }"
    " ... on InvalidInput { message field } ... on NotFound { message } } }"
)
TYPING = (
    "mutation($chat: String!) { typing(chatId: $chat) { __typename"
    " ... on TypingSent { chatId } ... on InvalidInput { field } ... on NotFound { message }"
    " ... on Blocked { message } } }"
)
CHATS = (
    "query($first: Int!, $after: String) { chats(first: $first, after: $after) { __typename"
    " ... on ChatPage { unreadTotal nextCursor chats { id unread cursor"
    f" peer {{ id displayName avatarUrl online }} lastItem {{ {ITEM} }} }} }}"
    " ... on InvalidInput { message field } } }"
)
MESSAGES = (
    "query($chat: String!, $first: Int!, $before: String) {"
    " messages(chatId: $chat, first: $first, before: $before) { __typename"
    f" ... on MessagePage {{ nextCursor peerReadPosition items {{ {ITEM} }} }}"
    " ... on InvalidInput { message field } ... on NotFound { message } } }"
)
CHAT_MESSAGES = (
    "subscription { chatMessages { type chatId actorId position upToMessageId"
    f" item {{ {ITEM} }} }} }}"
)


@dataclass
class Person:
    uid: str
    token: str
    user_id: str


async def person(base: str, uid: str, name: str | None = None) -> Person:
    """A signed-in user (they exist once they made a request)."""
    token = token_for(uid, name=name or uid.title())
    me = data_of(await post(base, "{ me { id } }", token=token))["me"]
    return Person(uid, token, str(me["id"]))


async def gql(base: str, who: Person, query: str, **variables: Any) -> Any:
    data = data_of(await post(base, query, variables or None, who.token))
    (result,) = data.values()
    return result


async def send(base: str, sender: Person, to: Person | str, text: str, cid: str) -> Any:
    to_id = to.user_id if isinstance(to, Person) else to
    return await gql(base, sender, SEND, to=to_id, text=text, cid=cid)


async def chats_until(
    base: str, who: Person, check: Any, *, first: int = 20, after: str | None = None
) -> dict[str, Any]:
    """`chats` once `check(page)` holds (the read model follows the log within moments)."""
    page: dict[str, Any] = {}
    for _ in range(200):
        page = await gql(base, who, CHATS, first=first, after=after)
        if page["__typename"] == "ChatPage" and check(page):
            return page
        await asyncio.sleep(0.05)
    raise AssertionError(f"chats never as wanted: {page}")


async def events_in_log(pg: asyncpg.Connection) -> int:
    return int(await pg.fetchval("SELECT count(*) FROM eventlog_events"))


async def settled_events(pg: asyncpg.Connection, quiet: float = 0.5) -> int:
    """The log's event count once policies' reactions (a notification of the last message)
    have been written: unchanged for `quiet` seconds."""
    count = await events_in_log(pg)
    for _ in range(100):
        await asyncio.sleep(quiet)
        now = await events_in_log(pg)
        if now == count:
            return count
        count = now
    raise AssertionError("the log never settled")


async def next_chat_event(stream: Any, kind: str, seconds: float = 10.0) -> dict[str, Any]:
    """The next chatMessages item of this type (others before it are skipped)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        left = deadline - asyncio.get_running_loop().time()
        assert left > 0, f"no {kind} on chatMessages"
        item = (await stream.next_data(left))["chatMessages"]
        if item["type"] == kind:
            assert isinstance(item, dict)
            return item
