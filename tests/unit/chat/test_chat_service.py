"""ChatService on the real event log: what each command writes (given, when, then events)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from uuid import UUID, uuid4

import pytest

from app import Olo
from domains.chat.aggregate import (
    ChatBlockedError,
    ChatNotFoundError,
    SelfChatError,
    chat_id_of,
    entry_id_of,
    message_id_of,
)
from domains.chat.changes import ChatChanged
from domains.chat.masking import MASK
from domains.chat.policy import (
    GIFT_ENTRY,
    EntryPolicy,
    EntrySpec,
    WelcomePolicy,
    welcome_senders,
)
from domains.profile.aggregate import user_id_of
from domains.profile.service import UserNotFoundError
from eventlog.text import InvalidTextError


async def _users(olo: Olo, *uids: str) -> list[UUID]:
    return [await olo.services.profiles.register(uid) for uid in uids]


async def _topics(olo: Olo, oid: UUID) -> list[str]:
    rows = await olo.pool.fetch(
        "SELECT topic FROM eventlog_events WHERE originator_id = $1 ORDER BY originator_version",
        oid,
    )
    return [r["topic"] for r in rows]


async def _count(olo: Olo) -> int:
    return int(await olo.pool.fetchval("SELECT count(*) FROM eventlog_events"))


async def test_a_message_with_a_contact_is_sent_masked_and_reported(olo: Olo) -> None:
    ann, bob = await _users(olo, "ann", "bob")
    sent = await olo.services.chat.send(ann, bob, "my tg: ann_99, ok?", "c1")
    assert sent.text == f"my tg: {MASK}, ok?" and sent.masked == ("handle",)
    assert sent.chat_id == chat_id_of(bob, ann) and not sent.replayed
    assert await _topics(olo, message_id_of(ann, "c1")) == [
        "olo.chat:Message.Sent",
        "olo.chat:Message.ContactMasked",
    ]
    before = await _count(olo)
    again = await olo.services.chat.send(ann, bob, "something else", "c1")
    assert again.replayed and again.message_id == sent.message_id and again.text == sent.text
    assert await _count(olo) == before


async def test_sending_is_refused_without_writing(olo: Olo) -> None:
    ann, bob = await _users(olo, "ann", "bob")
    chat = olo.services.chat
    before = await _count(olo)
    with pytest.raises(SelfChatError):
        await chat.send(ann, ann, "hi", "c")
    with pytest.raises(UserNotFoundError):
        await chat.send(ann, uuid4(), "hi", "c")
    with pytest.raises(InvalidTextError):
        await chat.send(ann, bob, " \n ", "c")
    with pytest.raises(InvalidTextError):
        await chat.send(ann, bob, "hi", "with space")
    assert await _count(olo) == before
    await olo.services.blocklist.block(bob, ann, "spam")
    before = await _count(olo)
    for sender, recipient in ((ann, bob), (bob, ann)):
        with pytest.raises(ChatBlockedError):
            await chat.send(sender, recipient, "hi", "c")
    assert await _count(olo) == before


async def test_marking_read_once_per_message_and_only_by_a_party(olo: Olo) -> None:
    ann, bob, eve = await _users(olo, "ann", "bob", "eve")
    chat = olo.services.chat
    sent = await chat.send(ann, bob, "hello", "h")
    assert await chat.mark_read(bob, sent.chat_id, sent.message_id) is True
    assert await chat.mark_read(bob, sent.chat_id, sent.message_id) is False
    for reader, chat_id, message in (
        (eve, sent.chat_id, sent.message_id),  # not a party
        (bob, chat_id_of(bob, eve), sent.message_id),  # the message is in another chat
        (bob, sent.chat_id, uuid4()),  # no such message
        (bob, sent.chat_id, bob),  # the id of a user, not a message
    ):
        with pytest.raises(ChatNotFoundError):
            await chat.mark_read(reader, chat_id, message)


async def test_an_entry_is_added_once_per_key(olo: Olo) -> None:
    ann, bob = await _users(olo, "ann", "bob")
    chat = olo.services.chat
    first = await chat.add_entry("call/x", ann, bob, "call", {"callId": "x"}, {ann: {"coins": 9}})
    second = await chat.add_entry("call/x", ann, bob, "call", {"callId": "y"})
    assert first == second == entry_id_of("call/x")
    assert await _topics(olo, first) == ["olo.chat:Entry.Added"]


def test_welcome_streamers_are_ids_or_firebase_uids() -> None:
    known = uuid4()
    assert welcome_senders([str(known), "demo-bella"]) == [known, user_id_of("demo-bella")]


def test_a_change_survives_its_payload_and_a_long_text_is_not_inlined() -> None:
    change = ChatChanged("message", "c", "a", 1.5, 7, item_id="m", text="hi")
    assert ChatChanged.from_json(change.to_json()) == change
    long = "ж" * 2000
    assert not ChatChanged.inline(long)
    omitted = ChatChanged("message", "c", "a", 1.5, 7, item_id="m", text=long, text_inline=False)
    restored = ChatChanged.from_json(omitted.to_json())
    assert restored.text is None and not restored.text_inline


async def test_an_entry_policy_shows_another_domains_event_in_the_chat(olo: Olo) -> None:
    # The hook gifts will use: an EntryPolicy over the gift-sent event (here a stand-in).
    ann, bella = await _users(olo, "ann", "bella")

    async def describe(event: dict[str, object]) -> EntrySpec:
        data = {"giftId": "rose", "coins": 50}
        return EntrySpec(f"gift/{event['id']}", ann, bella, GIFT_ENTRY, data)

    policy = EntryPolicy("chat.test_gifts", frozenset({"gift.Sent"}), describe, olo.services.chat)
    for _ in range(2):  # a replay adds nothing
        await policy.handle({"id": "g-1"}, 1)
    assert await _topics(olo, entry_id_of("gift/g-1")) == ["olo.chat:Entry.Added"]


async def test_the_greeting_is_for_a_sign_up_not_for_users_of_long_ago(olo: Olo) -> None:
    bella, old, new = await _users(olo, "bella", "old-user", "new-user")
    policy = WelcomePolicy(olo.services.chat, ["bella"], "Hi!")
    now = datetime.now(UTC)
    for user, at in ((old, now - timedelta(days=30)), (new, now)):
        await policy.handle(SimpleNamespace(originator_id=user, timestamp=at), 1)
        await policy.handle(SimpleNamespace(originator_id=user, timestamp=at), 1)  # a replay
    assert await _topics(olo, message_id_of(bella, f"welcome/{old}")) == []
    assert await _topics(olo, message_id_of(bella, f"welcome/{new}")) == ["olo.chat:Message.Sent"]
