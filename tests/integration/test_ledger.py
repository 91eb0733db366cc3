"""The coin ledger on real PostgreSQL: wallets never go negative, a key moves coins once, the
ledger sums to zero, and its read model (followed live or rebuilt) agrees with the log."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest
from ledger_support import earnings_id, pay, replay_ledger, wallet_id

from app import Olo
from domains.balance.aggregate import (
    AccountKind,
    IdempotencyKeyReusedError,
    InsufficientFundsError,
    PlatformAccount,
)
from domains.balance.service import AccountRef, BalanceService, TransferReceipt
from domains.payment.aggregate import ReceiptAlreadyUsedError
from eventlog.projection import ProjectionRunner, rebuild

READ_MODEL = {
    "balance_accounts": "account_id",
    "balance_history": "account_id, version",
    "balance_ledger": "account_id",
}


def balance_runner(olo: Olo) -> ProjectionRunner:
    return next(
        r for r in olo.runners if isinstance(r, ProjectionRunner) and r.projection.name == "balance"
    )


async def caught_up(olo: Olo) -> ProjectionRunner:
    runner = balance_runner(olo)
    await runner.prepare()
    await runner.catch_up()
    return runner


async def read_model(pg: asyncpg.Connection) -> dict[str, list[tuple[Any, ...]]]:
    return {
        table: [tuple(r) for r in await pg.fetch(f"SELECT * FROM {table} ORDER BY {keys}")]
        for table, keys in READ_MODEL.items()
    }


async def pay_streamer(
    balance: BalanceService, key: str, payer: UUID, streamer: UUID, amount: int
) -> TransferReceipt:
    return await balance.transfer(
        key=key,
        source=AccountRef.wallet(payer),
        target=AccountRef.earnings(streamer),
        amount=amount,
        reason="call",
    )


@dataclass
class Workload:
    """What a mixed day on the ledger should have done, counted by the clients."""

    sold: int = 0
    granted: int = 0
    fees: int = 0
    refused: int = 0
    users: set[UUID] = field(default_factory=set)


async def mixed_workload(olo: Olo, seed: int) -> Workload:
    """Purchases (some sent twice), grants, calls paid to streamers, fees, refused debits."""
    balance, payments = olo.services.balance, olo.services.payments
    buyers, streamers = [uuid4() for _ in range(8)], [uuid4() for _ in range(3)]
    done = Workload(users=set(buyers) | set(streamers))

    async def stock_up(me: UUID) -> None:
        for receipt in (f"{me}/1", f"{me}/2", f"{me}/1"):
            bought = await payments.purchase_coins(
                me, pack_id="coins_100", store="sandbox", receipt=receipt
            )
            done.sold += 0 if bought.replayed else bought.coins
        granted = await balance.grant(me, 25, key=f"grant/{me}")
        done.granted += granted.amount

    async def call_streamers(n: int, me: UUID) -> None:
        rng = random.Random(seed * 100 + n)
        for i in range(12):
            streamer, amount = rng.choice(streamers), rng.randint(5, 40)
            try:
                await pay_streamer(balance, f"call/{me}/{i}", me, streamer, amount)
            except InsufficientFundsError:
                done.refused += 1

    await asyncio.gather(*(stock_up(me) for me in buyers))
    for streamer in streamers:  # each streamer's first call opens their earnings account
        await pay_streamer(balance, f"first/{streamer}", buyers[0], streamer, 1)
    await asyncio.gather(*(call_streamers(n, me) for n, me in enumerate(buyers)))
    for streamer in streamers:
        fee = await balance.coins(AccountRef.earnings(streamer)) // 5
        await balance.transfer(
            key=f"fee/{streamer}",
            source=AccountRef.earnings(streamer),
            target=AccountRef.platform(PlatformAccount.REVENUE),
            amount=fee,
            reason="payout",
        )
        done.fees += fee
    return done


async def test_200_concurrent_debits_of_a_50_coin_wallet(olo: Olo, pg: asyncpg.Connection) -> None:
    balance, queries = olo.services.balance, olo.services.balance_queries
    payer, streamer = uuid4(), uuid4()
    await balance.grant(payer, 51, key="fund")
    # The call has begun (its earnings account is open; opening one under a rush is
    # test_group_commit's first-payments test): 50 coins left for 200 concurrent minutes.
    await pay_streamer(balance, "minute/0", payer, streamer, 1)

    async def debit(n: int) -> str:
        try:
            await pay_streamer(balance, f"minute/{n + 1}", payer, streamer, 1)
        except InsufficientFundsError:
            return "refused"
        return "paid"

    outcomes = await asyncio.gather(*(debit(n) for n in range(200)))

    assert Counter(outcomes) == {"paid": 50, "refused": 150}
    assert await balance.coins(AccountRef.wallet(payer)) == 0
    replay = await replay_ledger(pg, olo.event_log.mapper)
    assert (replay.coins[wallet_id(payer)], replay.coins[earnings_id(streamer)]) == (0, 51)
    assert replay.breaks == [] and replay.lowest == 0
    await caught_up(olo)
    assert (await queries.balance(payer)).coins == 0
    assert (await queries.balance(streamer, AccountKind.EARNINGS)).coins == 51
    balances = [
        r[0]
        for r in await pg.fetch(
            "SELECT balance FROM balance_history WHERE account_id = $1 ORDER BY version",
            wallet_id(payer),
        )
    ]
    assert balances == list(range(51, -1, -1))  # every coin left once, never below zero


async def test_one_key_moves_coins_once_and_cannot_be_reused_for_another_amount(
    olo: Olo,
) -> None:
    balance = olo.services.balance
    payer, streamer = uuid4(), uuid4()
    # Enough for all 20 copies below: see the next test for what happens when it is not.
    await balance.grant(payer, 300, key="fund")

    first = await pay_streamer(balance, "gift/1", payer, streamer, 30)
    again = await pay_streamer(balance, "gift/1", payer, streamer, 30)
    assert (first.replayed, again.replayed, again.transfer_id) == (False, True, first.transfer_id)

    together = await asyncio.gather(
        *(pay_streamer(balance, "gift/2", payer, streamer, 7) for _ in range(20))
    )
    assert [r.replayed for r in together].count(False) == 1

    with pytest.raises(IdempotencyKeyReusedError):
        await pay_streamer(balance, "gift/2", payer, streamer, 8)
    assert await balance.coins(AccountRef.wallet(payer)) == 300 - 30 - 7
    assert await balance.coins(AccountRef.earnings(streamer)) == 30 + 7


async def test_a_client_retry_of_one_gift_does_not_refuse_another(
    olo: Olo, pg: asyncpg.Connection
) -> None:
    viewer, friend = uuid4(), uuid4()
    await olo.services.balance.grant(viewer, 14, key="fund")
    await olo.services.balance.grant(friend, 1, key="open")
    gift, retry, other_gift = asyncio.Event(), asyncio.Event(), asyncio.Event()

    outcomes = await asyncio.gather(
        pay(olo.store, "gift/rose", viewer, friend, 7, handed=gift),
        pay(olo.store, "gift/rose", viewer, friend, 7, handed=retry, after=gift),
        pay(olo.store, "gift/star", viewer, friend, 3, handed=other_gift, after=retry),
        return_exceptions=True,
    )

    rose, rose_again, star = outcomes
    assert isinstance(rose, TransferReceipt) and isinstance(rose_again, TransferReceipt)
    assert rose_again.transfer_id == rose.transfer_id
    # 14 - 7 = 7 coins are left for a 3-coin gift: the retry's debit never happened.
    assert isinstance(star, TransferReceipt), f"refused: {star!r}"
    replay = await replay_ledger(pg, olo.event_log.mapper)
    assert replay.coins[wallet_id(viewer)] == 14 - 7 - 3


async def test_a_store_transaction_credits_coins_once(olo: Olo, pg: asyncpg.Connection) -> None:
    payments, balance = olo.services.payments, olo.services.balance
    buyer, someone_else = uuid4(), uuid4()

    results = await asyncio.gather(
        *(
            payments.purchase_coins(buyer, pack_id="coins_550", store="sandbox", receipt="txn-9")
            for _ in range(10)
        )
    )
    assert [r.replayed for r in results].count(False) == 1
    assert {r.purchase_id for r in results} == {results[0].purchase_id}

    with pytest.raises(ReceiptAlreadyUsedError):
        await payments.purchase_coins(
            someone_else, pack_id="coins_550", store="sandbox", receipt="txn-9"
        )
    assert await balance.coins(AccountRef.wallet(buyer)) == 550
    replay = await replay_ledger(pg, olo.event_log.mapper)
    assert wallet_id(someone_else) not in replay.coins
    assert replay.ledger[PlatformAccount.PAYMENT_CLEARING.account_id] == -550


async def test_ledger_sums_to_zero_and_read_model_matches_the_aggregates(
    olo: Olo, pg: asyncpg.Connection
) -> None:
    done = await mixed_workload(olo, seed=1)
    await caught_up(olo)
    queries, balance = olo.services.balance_queries, olo.services.balance
    replay = await replay_ledger(pg, olo.event_log.mapper)

    assert await queries.ledger_total() == 0
    assert done.refused > 0 and replay.breaks == [] and replay.lowest >= 0
    ledger: dict[UUID, int] = {
        r[0]: r[1] for r in await pg.fetch("SELECT account_id, coins FROM balance_ledger")
    }
    assert ledger[PlatformAccount.PAYMENT_CLEARING.account_id] == -done.sold < 0
    assert ledger[PlatformAccount.PROMOTIONS.account_id] == -done.granted < 0
    assert ledger[PlatformAccount.REVENUE.account_id] == done.fees > 0
    rows = {r["account_id"]: r for r in await pg.fetch("SELECT * FROM balance_accounts")}
    history: dict[UUID, int] = {
        r[0]: r[1]
        for r in await pg.fetch(
            "SELECT account_id, count(*) FROM balance_history GROUP BY account_id"
        )
    }
    assert set(rows) == set(replay.coins)
    for user in done.users:
        for kind in AccountKind:
            account = (
                AccountRef.wallet(user) if kind is AccountKind.WALLET else AccountRef.earnings(user)
            )
            coins = await balance.coins(account)
            assert (await queries.balance(user, kind)).coins == coins
            assert replay.coins.get(account.account_id, 0) == coins
            assert ledger.get(account.account_id, 0) == coins
            if account.account_id in rows:
                assert rows[account.account_id]["owner_id"] == user
                assert history[account.account_id] == replay.events[account.account_id]
    assert sum(replay.coins.values()) == done.sold + done.granted - done.fees


async def test_rebuilt_projection_equals_the_one_followed_live(
    olo: Olo, pg: asyncpg.Connection
) -> None:
    runner = balance_runner(olo)
    await runner.prepare()
    finished = asyncio.Event()

    async def follow_live() -> int:
        pages = 0
        for _ in range(100_000):
            if finished.is_set():
                break
            pages += await runner.run_page() > 0
            await asyncio.sleep(0.002)
        return pages

    follower = asyncio.create_task(follow_live())
    await mixed_workload(olo, seed=2)
    finished.set()
    live_pages = await follower
    await runner.catch_up()
    live = await read_model(pg)

    await rebuild(runner, olo.pool)

    assert live_pages > 1  # the live read model was built in many small steps
    assert all(live.values())
    assert await read_model(pg) == live
    assert await pg.fetchval(
        "SELECT position FROM olo_tracking WHERE name = 'balance'"
    ) == await pg.fetchval("SELECT max(notification_id) FROM eventlog_events")
