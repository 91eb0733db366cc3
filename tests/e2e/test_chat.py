"""Chat end to end: a message reaches the other party's `chatMessages`, the lists and the
unread counts; a replayed client id writes nothing; read receipts; paging both lists; a
stranger sees no chat; typing is live only; a block closes the chat both ways; bad input is
refused and writes nothing."""

from __future__ import annotations

import asyncio

from call_support import settled
from chat_support import (
    CHAT_MESSAGES,
    MARK_READ,
    MESSAGES,
    TYPING,
    chats_until,
    events_in_log,
    gql,
    next_chat_event,
    person,
    send,
    settled_events,
)
from graphql_client import subscribe

from app import create_app

BLOCK = "mutation($id: ID!) { block(userId: $id) { __typename } }"


async def test_a_message_reaches_the_peer_and_both_lists(api, pg) -> None:
    alice, bob = await person(api, "alice"), await person(api, "bob")
    async with subscribe(api, CHAT_MESSAGES, bob.token) as bobs:
        sent = await send(api, alice, bob, "Hi Bob! 500 coins at 10:30?", "c-1")
        assert sent["__typename"] == "MessageSent" and sent["replayed"] is False
        assert sent["masked"] == []
        got = await next_chat_event(bobs, "message")
    message = sent["item"]
    assert got["item"]["id"] == message["id"] and got["actorId"] == alice.user_id
    assert got["item"]["text"] == "Hi Bob! 500 coins at 10:30?"
    assert got["chatId"] == message["chatId"] and got["position"] > 0

    page = await chats_until(api, bob, lambda p: p["chats"])
    (chat,) = page["chats"]
    assert chat["id"] == message["chatId"] and chat["unread"] == 1 and page["unreadTotal"] == 1
    assert chat["peer"] == {
        "id": alice.user_id,
        "displayName": "Alice",
        "avatarUrl": None,
        "online": False,
    }
    assert chat["lastItem"]["text"] == "Hi Bob! 500 coins at 10:30?"
    mine = await chats_until(api, alice, lambda p: p["chats"])
    assert mine["chats"][0]["id"] == chat["id"] and mine["unreadTotal"] == 0
    listed = await gql(api, alice, MESSAGES, chat=chat["id"], first=10)
    assert [i["id"] for i in listed["items"]] == [message["id"]]


async def test_a_replayed_client_id_answers_the_first_message_and_writes_nothing(api, pg) -> None:
    alice, bob = await person(api, "alice"), await person(api, "bob")
    first = await send(api, alice, bob, "first", "same-id")
    before = await settled_events(pg)
    again = await send(api, alice, bob, "a different text", "same-id")
    assert again["replayed"] is True
    assert again["item"]["id"] == first["item"]["id"]
    assert again["item"]["text"] == "first"
    assert await events_in_log(pg) == before
    # the same client id from another sender is another message
    other = await send(api, bob, alice, "reply", "same-id")
    assert other["replayed"] is False and other["item"]["id"] != first["item"]["id"]


async def test_mark_read_moves_unread_counts_and_sends_a_receipt(api, pg) -> None:
    alice, bob, carol = [await person(api, n) for n in ("alice", "bob", "carol")]
    ids = [(await send(api, alice, bob, f"m{i}", f"a{i}"))["item"]["id"] for i in range(3)]
    await send(api, carol, bob, "hello from carol", "c1")
    page = await chats_until(api, bob, lambda p: p["unreadTotal"] == 4)
    chat_id = next(c["id"] for c in page["chats"] if c["peer"]["id"] == alice.user_id)
    async with subscribe(api, CHAT_MESSAGES, alice.token) as alices:
        read = await gql(api, bob, MARK_READ, chat=chat_id, upTo=ids[1])
        assert read == {"__typename": "ChatRead", "chatId": chat_id, "upToMessageId": ids[1]}
        receipt = await next_chat_event(alices, "read")
    assert receipt["actorId"] == bob.user_id and receipt["upToMessageId"] == ids[1]
    # opening the chat later, Alice sees how far Bob has read
    for _ in range(100):
        page = await gql(api, alice, MESSAGES, chat=chat_id, first=10)
        if page["peerReadPosition"] > 0:
            break
        await asyncio.sleep(0.05)
    read_up_to = {i["id"]: i["position"] <= page["peerReadPosition"] for i in page["items"]}
    assert read_up_to == {ids[0]: True, ids[1]: True, ids[2]: False}
    page = await chats_until(api, bob, lambda p: p["unreadTotal"] == 2)
    unread = {c["peer"]["id"]: c["unread"] for c in page["chats"]}
    assert unread == {alice.user_id: 1, carol.user_id: 1}
    # reading an older message again moves nothing back
    await gql(api, bob, MARK_READ, chat=chat_id, upTo=ids[0])
    await asyncio.sleep(0.3)
    assert (await chats_until(api, bob, lambda p: True))["unreadTotal"] == 2


async def test_paging_messages_and_chats(api, pg) -> None:
    alice = await person(api, "alice")
    peers = [await person(api, f"peer{i}") for i in range(3)]
    for i, peer in enumerate(peers):
        await send(api, alice, peer, f"hello {i}", f"hello-{i}")
    texts = [f"n{i}" for i in range(5)]
    for i, text in enumerate(texts):
        await send(api, alice, peers[0], text, f"n-{i}")
    first = await chats_until(api, alice, lambda p: p["nextCursor"], first=2)
    assert [c["peer"]["id"] for c in first["chats"]] == [peers[0].user_id, peers[2].user_id]
    rest = await gql(api, alice, CHATS_PAGE, first=2, after=first["nextCursor"])
    assert [c["peer"]["id"] for c in rest["chats"]] == [peers[1].user_id]
    assert rest["nextCursor"] is None

    chat_id = first["chats"][0]["id"]
    seen, before = [], None
    while True:
        page = await gql(api, alice, MESSAGES, chat=chat_id, first=2, before=before)
        seen += [i["text"] for i in page["items"]]
        before = page["nextCursor"]
        if before is None:
            break
    assert seen == [*reversed(texts), "hello 0"]


CHATS_PAGE = (
    "query($first: Int!, $after: String) { chats(first: $first, after: $after) {"
    " ... on ChatPage { nextCursor chats { peer { id } } } } }"
)


async def test_a_stranger_cannot_read_mark_or_type_in_a_chat(api, pg) -> None:
    alice, bob, mallory = [await person(api, n) for n in ("alice", "bob", "mallory")]
    sent = (await send(api, alice, bob, "private", "p1"))["item"]
    await chats_until(api, bob, lambda p: p["chats"])
    chat_id = sent["chatId"]
    listed = await gql(api, mallory, MESSAGES, chat=chat_id, first=10)
    assert listed == {"__typename": "NotFound", "message": "no such chat"}
    read = await gql(api, mallory, MARK_READ, chat=chat_id, upTo=sent["id"])
    assert read["__typename"] == "NotFound"
    typing = await gql(api, mallory, TYPING, chat=chat_id)
    assert typing["__typename"] == "NotFound"
    assert (await chats_until(api, mallory, lambda p: True))["chats"] == []


async def test_typing_reaches_the_peer_and_is_never_in_the_log(api, pg) -> None:
    alice, bob = await person(api, "alice"), await person(api, "bob")
    chat_id = (await send(api, alice, bob, "hey", "t1"))["item"]["chatId"]
    await chats_until(api, bob, lambda p: p["chats"])
    async with subscribe(api, CHAT_MESSAGES, bob.token) as bobs:
        await asyncio.sleep(0.2)  # the subscription is registered with the hub
        before = await settled_events(pg)
        typed = await gql(api, alice, TYPING, chat=chat_id)
        assert typed == {"__typename": "TypingSent", "chatId": chat_id}
        item = await next_chat_event(bobs, "typing")
    assert item["actorId"] == alice.user_id and item["chatId"] == chat_id
    assert item["position"] == 0 and item["item"] is None
    await asyncio.sleep(0.3)
    assert await events_in_log(pg) == before


async def test_a_block_closes_the_chat_both_ways(api, pg) -> None:
    alice, bob = await person(api, "alice"), await person(api, "bob")
    chat_id = (await send(api, alice, bob, "before", "b0"))["item"]["chatId"]
    await chats_until(api, bob, lambda p: p["chats"])
    assert (await gql(api, bob, BLOCK, id=alice.user_id))["__typename"] == "UserBlocked"
    before = await settled_events(pg)
    for sender, peer in ((alice, bob), (bob, alice)):
        refused = await send(api, sender, peer, "after", f"after-{sender.uid}")
        assert refused["__typename"] == "Blocked", refused
    assert await events_in_log(pg) == before
    for typist in (alice, bob):  # once the blocklist's read model has the block
        for _ in range(100):
            typing = await gql(api, typist, TYPING, chat=chat_id)
            if typing["__typename"] == "Blocked":
                break
            await asyncio.sleep(0.05)
        assert typing["__typename"] == "Blocked", typing


async def test_a_lost_listener_tells_the_stream_to_read_again(
    settings, database_url, serve
) -> None:
    app = create_app(settings, database_url)
    async with serve(app) as base:
        alice, bob = await person(base, "alice"), await person(base, "bob")
        async with subscribe(base, CHAT_MESSAGES, bob.token) as bobs:
            await asyncio.sleep(0.2)
            hub = app.state.olo.hub
            assert hub._conn is not None
            await hub._conn.close()  # the process's one LISTEN connection drops
            resync = await next_chat_event(bobs, "resync")
            assert resync["position"] == -1
            await send(base, alice, bob, "after the gap", "g1")
            got = await next_chat_event(bobs, "message")
        assert got["item"]["text"] == "after the gap"


ABUSE_BLOCK = (
    "mutation($userId: ID!) {"
    ' block(userId: $userId, reason: "threats", category: HARASSMENT) { __typename } }'
)


async def test_a_suspended_user_cannot_send_and_nothing_is_written(api, pg) -> None:
    troll, victim = await person(api, "troll"), await person(api, "victim")
    first = await send(api, troll, victim, "hi", "t1")
    assert first["__typename"] == "MessageSent"
    for uid in ("r1", "r2", "r3"):  # three distinct abuse blocks: suspended pending review
        reporter = await person(api, uid)
        blocked = await gql(api, reporter, ABUSE_BLOCK, userId=troll.user_id)
        assert blocked["__typename"] == "UserBlocked"
    await settled(pg)  # the blocks' own reactions are written before the count
    before = await pg.fetchval("SELECT count(*) FROM eventlog_events")

    refused = await send(api, troll, victim, "hello again", "t2")
    assert refused["__typename"] == "Suspended", refused
    assert await pg.fetchval("SELECT count(*) FROM eventlog_events") == before
    replayed = await send(api, troll, victim, "hi", "t1")  # sent before: still answered
    assert (replayed["__typename"], replayed["replayed"]) == ("MessageSent", True)
