"""The interaction read model on the real log: what calls, gifts and messages between users
add to each pair, page by page as the worker applies it and rebuilt from zero (`olo replay
interaction`) alike; and the batch queries the gallery and anti-fraud read it by."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from interaction_support import People, connected_call, gift, people, unconnected_calls

from app import Olo, start
from domains.balance.service import AccountRef
from domains.billing.aggregate import CallKind
from domains.interaction.projection import InteractionProjection
from eventlog.clock import ManualClock
from eventlog.projection import ProjectionRunner, rebuild
from eventlog.settings import Settings

TABLES = {
    "interaction_pairs": "SELECT * FROM interaction_pairs ORDER BY user_a, user_b",
    "interaction_calls": "SELECT * FROM interaction_calls ORDER BY call_id",
}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def olo(settings: Settings, database_url: str, clock: ManualClock) -> AsyncIterator[Olo]:
    running = await start(settings, database_url, clock=clock)
    yield running
    await running.close()


def _runner(olo: Olo, page_size: int = 2000) -> ProjectionRunner:
    return ProjectionRunner(
        InteractionProjection(), olo.pool, olo.event_log.mapper, page_size=page_size
    )


async def _rows(olo: Olo) -> dict[str, list[tuple[object, ...]]]:
    return {name: [tuple(r) for r in await olo.pool.fetch(q)] for name, q in TABLES.items()}


async def _history(olo: Olo, clock: ManualClock, runner: ProjectionRunner) -> People:
    """Ann calls bob (direct 65 s, roulette 30 s, a declined call, an answered one that never
    connected), sends him a rose and a heart; they write; dan writes cat often, with a phone
    number, and never calls. The runner applies small pages as it goes."""
    p = await people(olo)
    chat = olo.services.chat
    start = clock.now()
    await chat.send(p.ann, p.bob, "hi bob", "a1")
    await runner.catch_up()
    clock.advance(10)
    await connected_call(olo, clock, p.ann, p.bob, 65)
    await runner.catch_up()
    clock.advance(10)
    await connected_call(olo, clock, p.ann, p.bob, 30, CallKind.ROULETTE)
    await unconnected_calls(olo, p.ann, p.bob)
    await gift(olo, p.ann, p.bob, "rose", "g1")
    await gift(olo, p.ann, p.bob, "heart", "g2")
    await runner.catch_up()
    await chat.send(p.bob, p.ann, "thanks!", "b1")
    for i in range(4):
        text = "call me +7 916 123 45 67" if i == 0 else f"hello {i}"
        await chat.send(p.dan, p.cat, text, f"d{i}")
    await chat.send(p.cat, p.dan, "hi", "c1")
    clock.advance(5)
    await chat.send(p.ann, p.bob, "bye", "a2")
    await runner.catch_up()
    assert clock.now() > start
    return p


async def test_a_pairs_history_from_each_side_and_a_rebuild_equals_live(
    olo: Olo, clock: ManualClock
) -> None:
    runner = _runner(olo, page_size=3)
    await runner.prepare()
    began = clock.now()
    p = await _history(olo, clock, runner)
    live = await _rows(olo)
    assert len(live["interaction_pairs"]) == 2
    assert live["interaction_calls"] == []  # every call is over: nothing kept

    queries = olo.services.interactions
    seen_by_ann = await queries.pair(p.ann, p.bob)
    seen_by_bob = await queries.pair(p.bob, p.ann)
    assert (seen_by_ann.direct_calls, seen_by_ann.roulette_calls) == (1, 1)
    assert (seen_by_ann.direct_seconds, seen_by_ann.roulette_seconds) == (65, 30)
    assert seen_by_ann.paid_calls == 2
    # Seed tariff: the caller pays 9 at 0 s, 60 at 20 s and 60 at 60 s; the streamer earns 30
    # at 20 s and 30 at 60 s. 65 s: 129 paid, 60 earned; 30 s: 69 paid, 30 earned; the
    # unconnected call's 9 came back. Gifts: a rose (10, half to bob) and a heart (30, half).
    assert seen_by_ann.call_coins_you_spent == 198
    assert seen_by_ann.gift_coins_you_spent == 40 and seen_by_ann.gifts_sent == 2
    assert seen_by_ann.coins_they_spent == 0 and seen_by_ann.coins_you_earned == 0
    assert (seen_by_ann.messages_sent, seen_by_ann.messages_received) == (2, 1)
    assert seen_by_bob.coins_they_spent == 238 and seen_by_bob.gifts_received == 2
    assert seen_by_bob.call_coins_you_earned == 90 and seen_by_bob.gift_coins_you_earned == 20
    assert (seen_by_bob.messages_sent, seen_by_bob.messages_received) == (1, 2)
    assert seen_by_bob.first_contact == datetime.fromtimestamp(began, UTC)
    assert seen_by_bob.last_contact == datetime.fromtimestamp(clock.now(), UTC)
    assert seen_by_bob.first_contact == seen_by_ann.first_contact
    # what ann's wallet says she spent on bob
    assert 1000 - await olo.services.balance.coins(AccountRef.wallet(p.ann)) == 238

    await rebuild(_runner(olo), olo.pool)
    assert await _rows(olo) == live


async def test_the_batch_queries(olo: Olo, clock: ManualClock) -> None:
    runner = _runner(olo)
    await runner.prepare()
    p = await _history(olo, clock, runner)
    clock.advance(60)
    await olo.services.chat.send(p.ann, p.cat, "hi cat", "a3")  # ann's latest contact
    await gift(olo, p.dan, p.bob, "teddy", "g3")  # dan spends 100 on bob
    await runner.catch_up()
    queries = olo.services.interactions

    # ann's counterparts, latest contact first, one per page
    page, cursor = await queries.pairs_of(p.ann, 1)
    assert [i.peer_id for i in page] == [p.cat] and cursor is not None
    page, cursor = await queries.pairs_of(p.ann, 1, cursor)
    assert [i.peer_id for i in page] == [p.bob] and cursor is None
    assert page[0].messages_sent == 2  # seen from ann's side
    assert (await queries.pairs_of(p.cat, 10))[0][0].peer_id in (p.ann, p.dan)

    # bob's spenders: ann 238 (198 in calls, 40 in gifts), then dan 100 (a teddy, 60 % his)
    spenders = await queries.top_spenders(p.bob, 10)
    assert [(s.user_id, s.call_coins, s.gift_coins, s.earned) for s in spenders] == [
        (p.ann, 198, 40, 110),
        (p.dan, 0, 100, 60),
    ]
    assert [s.user_id for s in await queries.top_spenders(p.bob, 1)] == [p.ann]
    assert await queries.top_spenders(p.ann, 10) == []  # nobody spent on ann

    # dan and cat: five messages, a masked phone number, no call; ann and bob paid for calls
    (pair,) = await queries.suspicious_pairs(min_messages=3, max_calls=0, limit=10)
    assert {pair.user_a, pair.user_b} == {p.dan, p.cat}
    dan_is_a = pair.user_a == p.dan
    assert (pair.messages_a, pair.messages_b) == ((4, 1) if dan_is_a else (1, 4))
    assert (pair.masked_a, pair.masked_b) == ((1, 0) if dan_is_a else (0, 1))
    assert (pair.calls, pair.paid_calls) == (0, 0)
    both = await queries.suspicious_pairs(min_messages=3, max_calls=2, limit=10)
    assert [{s.user_a, s.user_b} for s in both] == [{p.dan, p.cat}, {p.ann, p.bob}]
    assert await queries.suspicious_pairs(min_messages=6, max_calls=2, limit=10) == []

    # many counterparts at once, zeros for strangers, never oneself
    found = await queries.between(p.ann, [p.bob, p.cat, p.dan])
    assert found[p.bob].calls == 2 and found[p.cat].messages_sent == 1
    assert found[p.dan].calls == 0 and found[p.dan].last_contact is None
    assert found[p.dan].peer_id == p.dan and found[p.dan].viewer_id == p.ann


async def test_paging_counterparts_with_the_same_last_contact_skips_and_repeats_none(
    olo: Olo, clock: ManualClock
) -> None:
    runner = _runner(olo)
    await runner.prepare()
    profiles, chat = olo.services.profiles, olo.services.chat
    me = await profiles.register("me")
    others = [await profiles.register(f"peer-{i}") for i in range(7)]
    for i, other in enumerate(others):  # the clock stands still: one last contact for all
        if i % 2:
            await chat.send(me, other, "hi", f"m{i}")
        else:
            await chat.send(other, me, "hi", f"m{i}")
    await runner.catch_up()
    queries = olo.services.interactions
    seen: list[object] = []
    page, cursor = await queries.pairs_of(me, 2)
    seen += [i.peer_id for i in page]
    while cursor is not None:
        page, cursor = await queries.pairs_of(me, 2, cursor)
        seen += [i.peer_id for i in page]
    assert seen == sorted(others, reverse=True)  # ties broken by id, newest first
