"""The group-commit writer on real PostgreSQL: many concurrent commands, one or two writer
processes on one log, conflicts isolated to the command that lost, and no lost update."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID, uuid4

import asyncpg
import pytest
from ledger_support import earnings_id, pay, replay_ledger, transfer, version_holes, wallet_id

from app import Olo, start
from domains.balance.aggregate import InsufficientFundsError, transfer_id_of
from domains.balance.service import AccountRef, BalanceService
from eventlog.settings import Settings
from eventlog.store import EventStore
from eventlog.writer import ConflictError

CLIENTS, TRANSFERS, WALLETS, FUNDS = 64, 30, 16, 100


@pytest.fixture
async def other(settings: Settings, database_url: str) -> AsyncIterator[Olo]:
    """A second process's worth of olo (writer, store, cache) on the same database."""
    running = await start(settings, database_url)
    yield running
    await running.close()


@asynccontextmanager
async def log_locked(pg: asyncpg.Connection) -> AsyncIterator[None]:
    """Hold the log's table lock, as a slow batch of another process would."""
    async with pg.transaction():
        await pg.execute("LOCK TABLE eventlog_events IN EXCLUSIVE MODE")
        yield


async def inserts_waiting(pg: asyncpg.Connection, count: int) -> None:
    """Return once `count` writers' inserts are queued behind the table lock."""
    for _ in range(1000):
        waiting = await pg.fetchval(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE c.relname = 'eventlog_events' AND NOT l.granted"
        )
        if waiting >= count:
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"never saw {count} inserts waiting for the log's lock")


async def test_64_concurrent_clients_lose_no_update(olo: Olo, pg: asyncpg.Connection) -> None:
    balance = olo.services.balance
    users = [uuid4() for _ in range(WALLETS)]
    await asyncio.gather(*(balance.grant(u, FUNDS, key=f"fund/{u}") for u in users))

    async def client(n: int) -> list[tuple[UUID, UUID, UUID, int]]:
        rng, made = random.Random(n), []
        for i in range(TRANSFERS):
            source, target = rng.sample(users, 2)
            amount = rng.randint(1, 8)
            try:
                receipt = await transfer(balance, f"client{n}/{i}", source, target, amount)
            except InsufficientFundsError:
                continue
            made.append((receipt.transfer_id, source, target, amount))
        return made

    clients = await asyncio.gather(*(client(n) for n in range(CLIENTS)))

    expected = dict.fromkeys(users, FUNDS)
    for made in clients:
        for _, source, target, amount in made:
            expected[source] -= amount
            expected[target] += amount
    replay = await replay_ledger(pg, olo.event_log.mapper)
    assert {u: replay.coins[wallet_id(u)] for u in users} == expected
    assert {u: await balance.coins(AccountRef.wallet(u)) for u in users} == expected
    assert sum(replay.coins.values()) == FUNDS * WALLETS
    assert replay.breaks == [] and replay.lowest >= 0
    succeeded = sum(len(made) for made in clients)
    assert succeeded > CLIENTS * TRANSFERS // 2  # contention, not an empty run
    assert len(replay.transfers) == WALLETS + succeeded  # refused transfers left nothing
    assert await version_holes(pg) == []
    assert olo.writer.batches < olo.writer.units  # commands really were grouped

    rows = await pg.fetch(
        "SELECT originator_id, notification_id FROM eventlog_events "
        "WHERE originator_id = ANY($1::uuid[])",
        [t for made in clients for t, *_ in made],
    )
    ids: dict[UUID, int] = {r[0]: r[1] for r in rows}
    for made in clients:
        positions = [ids[t] for t, *_ in made]
        assert positions == sorted(set(positions))  # one client's commits in its own order


async def test_two_commands_on_one_version_in_one_batch_both_land(
    olo: Olo, pg: asyncpg.Connection
) -> None:
    balance = olo.services.balance
    payer, first, second, bystander = (uuid4() for _ in range(4))
    await balance.grant(payer, 10, key="fund")
    # Two stores with their own caches, one writer: both will build on version 2 of the payer.
    stores = [EventStore(olo.event_log.mapper, olo.pool, olo.writer) for _ in range(2)]
    for store in stores:
        await store.load(wallet_id(payer))
    handed = [asyncio.Event(), asyncio.Event()]
    async with log_locked(pg):
        blocker = asyncio.create_task(balance.grant(bystander, 1, key="blocker"))
        await inserts_waiting(pg, 1)  # the writer is stuck on `blocker`: the next two queue up
        payments = [
            asyncio.create_task(pay(s, f"pay/{i}", payer, to, 3, handed=handed[i]))
            for i, (s, to) in enumerate(zip(stores, (first, second), strict=True))
        ]
        await asyncio.gather(*(h.wait() for h in handed))
    await blocker
    receipts = await asyncio.gather(*payments)

    assert sorted(r.source_balance or 0 for r in receipts) == [4, 7]
    winner, loser = sorted(s.conflicts for s in stores)
    assert winner == 0 and loser >= 1  # the batch failed only the command that lost
    replay = await replay_ledger(pg, olo.event_log.mapper)
    assert [replay.coins[wallet_id(u)] for u in (payer, first, second)] == [4, 3, 3]
    assert replay.breaks == []


async def test_command_out_of_retries_raises_conflict_and_writes_nothing(
    olo: Olo, pg: asyncpg.Connection
) -> None:
    balance = olo.services.balance
    payer, payee, other_payee = uuid4(), uuid4(), uuid4()
    await balance.grant(payer, 10, key="fund")
    impatient = EventStore(olo.event_log.mapper, olo.pool, olo.writer, retries=1)
    await impatient.load(wallet_id(payer))  # caches version 2
    await transfer(balance, "meanwhile", payer, other_payee, 4)  # the log moves to version 3

    with pytest.raises(ConflictError):
        await transfer(BalanceService(impatient), "stale", payer, payee, 5)

    assert (
        await pg.fetchval(
            "SELECT count(*) FROM eventlog_events WHERE originator_id = ANY($1::uuid[])",
            [transfer_id_of("stale"), wallet_id(payee)],
        )
        == 0
    )
    replay = await replay_ledger(pg, olo.event_log.mapper)
    assert replay.coins[wallet_id(payer)] == 6
    # With retries left, the same command reloads and lands.
    assert (await transfer(BalanceService(impatient), "stale", payer, payee, 5)).source_balance == 1


async def test_two_processes_racing_debits_on_one_wallet_lose_no_update(
    olo: Olo, other: Olo, pg: asyncpg.Connection
) -> None:
    payer, streamer = uuid4(), uuid4()
    processes = (olo.services.balance, other.services.balance)
    await processes[0].grant(payer, 100, key="fund")
    await processes[1].coins(AccountRef.wallet(payer))  # the other process caches version 2

    async def debit(n: int) -> bool:
        try:
            await processes[n % 2].transfer(
                key=f"race/{n}",
                source=AccountRef.wallet(payer),
                target=AccountRef.earnings(streamer),
                amount=1,
                reason="call",
            )
        except ConflictError:
            return False  # gave up: must have written nothing (checked below)
        return True

    await debit(0)  # opens the streamer's earnings; the other process's copy is now stale
    paid = [True]
    for start_at in range(1, 81, 16):  # rounds of 8 + 8 concurrent debits, one per process
        paid += await asyncio.gather(*(debit(n) for n in range(start_at, start_at + 16)))

    replay = await replay_ledger(pg, olo.event_log.mapper)
    assert replay.breaks == [] and replay.lowest >= 0
    assert replay.coins[wallet_id(payer)] == 100 - sum(paid)
    race = [transfer_id_of(f"race/{n}") for n in range(81)]
    assert {t for t, ok in zip(race, paid, strict=True) if ok} <= replay.transfers
    assert not {t for t, ok in zip(race, paid, strict=True) if not ok} & replay.transfers
    assert any(paid[1::2]) and any(paid[2::2])  # both processes wrote to the wallet
    assert other.store.conflicts > 0  # the race was real
    assert await version_holes(pg) == []


async def test_many_first_payments_to_an_account_not_yet_opened_all_land(
    olo: Olo, pg: asyncpg.Connection
) -> None:
    balance = olo.services.balance
    viewer, streamer = uuid4(), uuid4()
    await balance.grant(viewer, 500, key="fund")

    async def gift(n: int) -> str:
        try:
            await balance.transfer(
                key=f"gift/{n}",
                source=AccountRef.wallet(viewer),
                target=AccountRef.earnings(streamer),  # opened by whichever gift lands first
                amount=1,
                reason="gift",
            )
        except ConflictError:
            return "gave up"
        return "sent"

    outcomes = await asyncio.gather(*(gift(n) for n in range(64)))

    replay = await replay_ledger(pg, olo.event_log.mapper)
    assert replay.breaks == []
    assert replay.coins[earnings_id(streamer)] == outcomes.count("sent")
    assert outcomes.count("gave up") == 0


async def test_balance_read_in_one_process_sees_debits_made_by_another(
    olo: Olo, other: Olo
) -> None:
    here, there = olo.services.balance, other.services.balance
    payer, payee = uuid4(), uuid4()
    await here.grant(payer, 10, key="fund")
    assert await there.coins(AccountRef.wallet(payer)) == 10
    await transfer(here, "spend", payer, payee, 4)
    assert await there.coins(AccountRef.wallet(payer)) == 6  # "authoritative", says coins()


async def test_command_chained_on_a_dropped_command_is_dropped_too(
    olo: Olo, other: Olo, pg: asyncpg.Connection
) -> None:
    """A unit built in memory on a command the writer dropped must not land, even when its
    versions happen to fit what another process stored meanwhile."""
    here, there = olo.services.balance, other.services.balance
    a, b, c, d, e = (uuid4() for _ in range(5))
    await here.grant(a, 10, key="fund/a")
    await here.grant(b, 10, key="fund/b")  # this process caches a and b at version 2
    await transfer(there, "there/a", a, c, 1)  # ... and its copy of a is now stale
    u2_handed, u3_handed = asyncio.Event(), asyncio.Event()
    async with log_locked(pg):
        u1 = asyncio.create_task(transfer(here, "u1", a, c, 1))  # stale: will be rejected
        await inserts_waiting(pg, 1)
        u2 = asyncio.create_task(pay(olo.store, "u2", a, b, 1, handed=u2_handed))  # on u1 via a
        await u2_handed.wait()
        u3 = asyncio.create_task(pay(olo.store, "u3", b, d, 1, handed=u3_handed))  # on u2 via b
        await u3_handed.wait()
        p2 = asyncio.create_task(transfer(there, "there/b", b, e, 5))
        await inserts_waiting(pg, 2)  # the other process's debit of b gets the lock next
    await asyncio.gather(u1, u2, u3, p2)

    replay = await replay_ledger(pg, olo.event_log.mapper)
    assert replay.breaks == []
    # a: 10 - 1 - 1 - 1, b: 10 + 1 - 1 - 5, c: 1 + 1, d: 1, e: 5 (b is 11 when u3 lands on u2)
    assert [replay.coins[wallet_id(u)] for u in (a, b, c, d, e)] == [7, 5, 2, 1, 5]


async def test_replayed_key_is_not_reported_done_while_its_first_try_can_still_fail(
    olo: Olo, other: Olo, pg: asyncpg.Connection
) -> None:
    here, there = olo.services.balance, other.services.balance
    payer, payee, elsewhere = uuid4(), uuid4(), uuid4()
    await here.grant(payer, 1, key="fund")  # cached here with 1 coin
    await transfer(there, "spent elsewhere", payer, elsewhere, 1)  # the log says 0 now
    first_handed = asyncio.Event()

    first, second = await asyncio.gather(
        pay(olo.store, "pay", payer, payee, 1, handed=first_handed),
        # the client sends the same request again while the first is in flight
        pay(olo.store, "pay", payer, payee, 1, handed=asyncio.Event(), after=first_handed),
        return_exceptions=True,
    )

    assert isinstance(first, InsufficientFundsError)
    replay = await replay_ledger(pg, olo.event_log.mapper)
    assert transfer_id_of("pay") not in replay.transfers
    assert wallet_id(payee) not in replay.coins
    assert isinstance(second, InsufficientFundsError), f"told {second!r}; no coins moved"
