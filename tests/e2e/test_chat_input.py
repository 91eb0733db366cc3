"""Chat input: contacts are masked in what is stored and delivered (and reported for
anti-fraud without the contact itself); a 2,000-character message arrives whole; bad input
anywhere gets `InvalidInput` naming the field (or `NotFound`) and writes nothing."""

from __future__ import annotations

from uuid import uuid4

import pytest
from chat_support import (
    CHAT_MESSAGES,
    CHATS,
    MARK_READ,
    MESSAGES,
    TYPING,
    chats_until,
    gql,
    next_chat_event,
    person,
    send,
    settled_events,
)
from graphql_client import subscribe

from domains.chat.masking import MASK


async def test_contacts_are_masked_before_they_are_stored_or_delivered(api, pg) -> None:
    alice, bob = await person(api, "alice"), await person(api, "bob")
    text = "call me +7 916 123-45-67 or write anna.k@mail.ru, 500 coins at 10:30"
    async with subscribe(api, CHAT_MESSAGES, bob.token) as bobs:
        sent = await send(api, alice, bob, text, "m1")
        got = await next_chat_event(bobs, "message")
    masked = f"call me {MASK} or write {MASK}, 500 coins at 10:30"
    assert sent["masked"] == ["email", "phone"] and sent["item"]["text"] == masked
    assert got["item"]["text"] == masked
    stored = await pg.fetch("SELECT topic, state FROM eventlog_events")
    assert not any(b"916" in r["state"] or b"anna.k" in r["state"] for r in stored)
    reports = [r for r in stored if r["topic"] == "olo.chat:Message.ContactMasked"]
    assert len(reports) == 1
    await chats_until(api, bob, lambda p: p["chats"])
    row = await pg.fetchrow("SELECT sender_id, kinds FROM chat_contact_reports")
    assert (str(row["sender_id"]), row["kinds"]) == (alice.user_id, ["email", "phone"])


async def test_a_long_message_in_cyrillic_arrives_whole(api) -> None:
    alice, bob = await person(api, "alice"), await person(api, "bob")
    text = ("привет " * 300)[:1999] + "!"  # 2,000 characters: 12 KB as JSON, over NOTIFY's
    assert len(text) == 2000
    async with subscribe(api, CHAT_MESSAGES, bob.token) as bobs:
        sent = await send(api, alice, bob, text, "long")
        got = await next_chat_event(bobs, "message")
    assert sent["__typename"] == "MessageSent"
    assert got["item"]["text"] == text and got["item"]["id"] == sent["item"]["id"]


@pytest.mark.parametrize(
    ("text", "client_id", "to", "field"),
    [
        ("", "c", None, "text"),
        ("   \n\t ", "c", None, "text"),
        ("nul \x00 here", "c", None, "text"),
        ("bell \x07 here", "c", None, "text"),
        ("x" * 2001, "c", None, "text"),
        ("hi", "", None, "clientMessageId"),
        ("hi", "has space", None, "clientMessageId"),
        ("hi", "x" * 65, None, "clientMessageId"),
        ("hi", "c", "not-a-user-id", "toUserId"),
        ("hi", "c", "self", "toUserId"),
    ],
)
async def test_bad_messages_are_refused_and_write_nothing(
    api, pg, text: str, client_id: str, to: str | None, field: str
) -> None:
    alice, bob = await person(api, "alice"), await person(api, "bob")
    before = await settled_events(pg, quiet=0.3)
    recipient = {None: bob.user_id, "self": alice.user_id}.get(to, to)
    refused = await send(api, alice, str(recipient), text, client_id)
    assert refused["__typename"] == "InvalidInput" and refused["field"] == field, refused
    assert await settled_events(pg, quiet=0.3) == before


async def test_unknown_ids_and_bad_arguments_elsewhere(api, pg) -> None:
    alice, bob = await person(api, "alice"), await person(api, "bob")
    sent = (await send(api, alice, bob, "hello", "h1"))["item"]
    await chats_until(api, bob, lambda p: p["chats"])
    before = await settled_events(pg, quiet=0.3)
    nobody = str(uuid4())
    assert (await send(api, alice, nobody, "hi", "h2"))["__typename"] == "NotFound"
    cases = [
        (MARK_READ, {"chat": "nope", "upTo": sent["id"]}, "chatId"),
        (MARK_READ, {"chat": sent["chatId"], "upTo": "nope"}, "upToMessageId"),
        (TYPING, {"chat": "nope"}, "chatId"),
        (MESSAGES, {"chat": "nope", "first": 5}, "chatId"),
        (MESSAGES, {"chat": sent["chatId"], "first": 0}, "first"),
        (MESSAGES, {"chat": sent["chatId"], "first": 101}, "first"),
        (MESSAGES, {"chat": sent["chatId"], "first": 5, "before": "abc"}, "before"),
        (CHATS, {"first": 0}, "first"),
        (CHATS, {"first": 5, "after": "-1"}, "after"),
    ]
    for query, variables, field in cases:
        result = await gql(api, bob, query, **variables)
        assert result["__typename"] == "InvalidInput" and result["field"] == field, result
    # a message id of another chat, or an unknown one, is no chat of yours
    for up_to in (nobody, sent["id"]):
        other_chat = str(uuid4()) if up_to == sent["id"] else sent["chatId"]
        result = await gql(api, bob, MARK_READ, chat=other_chat, upTo=up_to)
        assert result["__typename"] == "NotFound", result
    assert await settled_events(pg, quiet=0.3) == before
