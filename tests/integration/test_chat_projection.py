"""The chat read model on the real log: page by page as the worker applies it, and rebuilt
from zero (`olo replay chat`), it holds the same rows; unread counts follow read markers."""

from __future__ import annotations

from uuid import UUID

from app import Olo
from domains.chat.projection import ChatProjection
from eventlog.projection import ProjectionRunner, rebuild

TABLES = {
    "chat_items": "SELECT * FROM chat_items ORDER BY position",
    "chat_members": "SELECT * FROM chat_members ORDER BY chat_id, user_id",
    "chat_contact_reports": "SELECT * FROM chat_contact_reports ORDER BY position",
}


async def _rows(olo: Olo) -> dict[str, list[tuple[object, ...]]]:
    return {name: [tuple(r) for r in await olo.pool.fetch(q)] for name, q in TABLES.items()}


async def test_live_pages_and_a_rebuild_give_the_same_read_model(olo: Olo) -> None:
    ann, bob, cat = [await olo.services.profiles.register(u) for u in ("ann", "bob", "cat")]
    chat = olo.services.chat
    runner = ProjectionRunner(ChatProjection(), olo.pool, olo.event_log.mapper, page_size=3)
    await runner.prepare()
    sent = []
    for i in range(5):
        sent.append(await chat.send(ann, bob, f"hello {i}, my tg: ann_{i}x", f"m{i}"))
        await runner.catch_up()  # small pages, a few events at a time
    await chat.send(cat, bob, "hi bob", "c0")
    await chat.add_entry("call/1", ann, bob, "call", {"callId": "1"}, {ann: {"coins": 9}})
    await chat.mark_read(bob, sent[0].chat_id, sent[2].message_id)
    await chat.mark_read(bob, sent[0].chat_id, sent[1].message_id)  # older: nothing moves back
    await runner.catch_up()
    live = await _rows(olo)
    assert len(live["chat_items"]) == 7 and len(live["chat_contact_reports"]) == 5

    queries = olo.services.chat_queries
    assert await queries.unread_total(bob) == 3  # two of ann's after the third, one of cat's
    summaries = {s.peer_id: s.unread for s in await queries.chats(bob, 10)}
    assert summaries == {ann: 2, cat: 1}
    assert await queries.unread_total(ann) == 0

    await rebuild(ProjectionRunner(ChatProjection(), olo.pool, olo.event_log.mapper), olo.pool)
    assert await _rows(olo) == live


async def test_an_entrys_private_part_is_shown_only_to_its_user(olo: Olo) -> None:
    ann, bob = [await olo.services.profiles.register(u) for u in ("ann", "bob")]
    private: dict[UUID, dict[str, object]] = {ann: {"coins": 9}, bob: {"coins": 3}}
    await olo.services.chat.add_entry("call/2", ann, bob, "call", {"callId": "2"}, private)
    runner = ProjectionRunner(ChatProjection(), olo.pool, olo.event_log.mapper)
    await runner.prepare()
    await runner.catch_up()
    queries = olo.services.chat_queries
    for user, coins in ((ann, 9), (bob, 3)):
        (summary,) = await queries.chats(user, 5)
        assert summary.last_item is not None
        assert summary.last_item.data == {"callId": "2", "coins": coins}
