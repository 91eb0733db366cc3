"""The batched projection runner on real PostgreSQL: pages, tracking, NOTIFY, lost tracking."""

from __future__ import annotations

import asyncio
import json
from uuid import UUID

import asyncpg
import pytest

from app import Olo
from domains.balance.aggregate import Account, AccountKind, PlatformAccount, account_id_of
from domains.balance.projection import BALANCE_CHANNEL, BalanceProjection
from domains.balance.service import AccountRef
from eventlog.database import connect
from eventlog.projection import LostTrackingError, ProjectionRunner, rebuild


def runner(olo: Olo, page_size: int = 2000) -> ProjectionRunner:
    return ProjectionRunner(
        BalanceProjection(), olo.pool, olo.event_log.mapper, page_size=page_size
    )


async def head(pg: asyncpg.Connection) -> int:
    return int(await pg.fetchval("SELECT coalesce(max(notification_id), 0) FROM eventlog_events"))


async def tracked(pg: asyncpg.Connection, name: str = "balance") -> int:
    return int(await pg.fetchval("SELECT position FROM olo_tracking WHERE name = $1", name))


async def ledger_activity(olo: Olo) -> tuple[UUID, UUID]:
    """Two users: Ann buys 550 coins and gets 100 granted, then sends Bo 30. A third joins last."""
    profiles, balance = olo.services.profiles, olo.services.balance
    ann = await profiles.register("ann")
    bo = await profiles.register("bo")
    await olo.services.payments.purchase_coins(
        ann, pack_id="coins_550", store="sandbox", receipt="t-1"
    )
    await balance.grant(ann, 100, key="grant/ann")
    await balance.transfer(
        key="gift/1",
        source=AccountRef.wallet(ann),
        target=AccountRef.wallet(bo),
        amount=30,
        reason="gift",
    )
    await profiles.register("cy")  # the log ends with an event the balance projection skips
    return ann, bo


async def assert_projected_once(olo: Olo, pg: asyncpg.Connection, ann: UUID, bo: UUID) -> None:
    queries = olo.services.balance_queries
    assert (await queries.balance(ann)).coins == 620
    assert (await queries.balance(bo)).coins == 30
    assert await queries.ledger_total() == 0
    promotions = await pg.fetchval(
        "SELECT coins FROM balance_ledger WHERE account_id = $1",
        PlatformAccount.PROMOTIONS.account_id,
    )
    assert promotions == -100
    assert [(e.delta, e.balance, e.reason) for e in await queries.history(ann)] == [
        (-30, 620, "gift"),
        (100, 650, "grant"),
        (550, 550, "purchase"),
    ]
    duplicates = await pg.fetchval(
        "SELECT count(*) - count(DISTINCT (account_id, transfer_id)) FROM balance_history"
    )
    assert duplicates == 0
    assert await pg.fetchval("SELECT count(*) FROM balance_history") == 4


async def test_one_page_projects_everything_in_one_transaction(
    olo: Olo, pg: asyncpg.Connection
) -> None:
    ann, bo = await ledger_activity(olo)
    projection = runner(olo)
    await projection.prepare()

    covered = await projection.run_page()

    last = await head(pg)
    assert covered == last  # one page from the first notification to the head
    assert await projection.run_page() == 0
    assert await tracked(pg) == last
    await assert_projected_once(olo, pg, ann, bo)
    # Rows and the tracking position were written by one and the same transaction.
    writers = await pg.fetchval(
        "SELECT count(DISTINCT x) FROM ("
        " SELECT xmin::text AS x FROM balance_history"
        " UNION ALL SELECT xmin::text FROM balance_accounts"
        " UNION ALL SELECT xmin::text FROM balance_ledger"
        " UNION ALL SELECT xmin::text FROM olo_tracking WHERE name = 'balance') t"
    )
    assert writers == 1


async def test_small_pages_advance_tracking_to_the_last_notification(
    olo: Olo, pg: asyncpg.Connection
) -> None:
    ann, bo = await ledger_activity(olo)
    projection = runner(olo, page_size=3)
    await projection.prepare()
    pages: list[int] = []

    await projection.catch_up(pages.append)

    last = await head(pg)
    assert sum(pages) == last and len(pages) == -(-last // 3)
    assert max(pages) == 3
    assert await tracked(pg) == last
    await assert_projected_once(olo, pg, ann, bo)


async def test_the_log_keeps_the_stored_topics_and_the_library_reads_it(
    olo: Olo, pg: asyncpg.Connection
) -> None:
    ann, _ = await ledger_activity(olo)

    topics = {r[0] for r in await pg.fetch("SELECT DISTINCT topic FROM eventlog_events")}
    assert topics == {
        "olo.profile:User.Registered",
        "olo.payment:Purchase.Completed",
        "olo.balance:Transfer.Made",
        "olo.balance:Account.Opened",
        "olo.balance:Account.Credited",
        "olo.balance:Account.Debited",
    }
    wallet_id = account_id_of(ann, AccountKind.WALLET)
    wallet: object = await asyncio.to_thread(lambda: olo.event_log.repository.get(wallet_id))
    assert isinstance(wallet, Account)
    assert (wallet.coins, wallet.version) == (620, 4)


async def test_two_runners_from_one_position_never_apply_a_page_twice(
    olo: Olo, pg: asyncpg.Connection
) -> None:
    ann, bo = await ledger_activity(olo)
    first, second = runner(olo), runner(olo)
    await first.prepare()
    await second.prepare()

    results = await asyncio.gather(first.run_page(), second.run_page(), return_exceptions=True)

    last = await head(pg)
    assert sorted(results, key=lambda r: isinstance(r, BaseException))[0] == last
    [failure] = [r for r in results if isinstance(r, BaseException)]
    # The loser either finds the position moved or collides with the winner's rows.
    assert isinstance(failure, LostTrackingError | asyncpg.UniqueViolationError), failure
    assert await tracked(pg) == last
    await assert_projected_once(olo, pg, ann, bo)


async def test_a_runner_that_lost_its_position_rolls_back_its_page(
    olo: Olo, pg: asyncpg.Connection
) -> None:
    _, bo = await ledger_activity(olo)
    first, second = runner(olo, page_size=1), runner(olo, page_size=1)
    await first.prepare()
    await first.catch_up()
    await olo.services.balance.grant(bo, 5, key="grant/bo")
    made_at = await head(pg)
    made = await pg.fetchval(
        "SELECT topic FROM eventlog_events WHERE notification_id = $1", made_at
    )
    assert made == "olo.balance:Transfer.Made"
    while first.position < made_at - 1:
        await first.run_page()
    await second.prepare()
    assert second.position == first.position == made_at - 1

    # Both start on the page holding only Transfer.Made: the ledger upsert is additive, so
    # only the tracking check stands between the loser and a doubled ledger.
    results = await asyncio.gather(first.run_page(), second.run_page(), return_exceptions=True)

    assert sorted(results, key=lambda r: isinstance(r, BaseException))[0] == 1
    assert [type(r) for r in results if isinstance(r, BaseException)] == [LostTrackingError]
    assert sorted([first.position, second.position]) == [made_at - 1, made_at]
    assert await tracked(pg) == made_at
    promotions = await pg.fetchval(
        "SELECT coins FROM balance_ledger WHERE account_id = $1",
        PlatformAccount.PROMOTIONS.account_id,
    )
    assert promotions == -105
    assert (await olo.services.balance_queries.balance(bo)).coins == 35
    assert await olo.services.balance_queries.ledger_total() == 0


async def test_a_page_announces_changed_balances_on_the_balance_channel(
    olo: Olo, pg: asyncpg.Connection, database_url: str
) -> None:
    ann = await olo.services.profiles.register("ann")
    projection = runner(olo)
    await projection.prepare()
    await projection.catch_up()
    listener = await connect(database_url)
    received: asyncio.Queue[str] = asyncio.Queue()
    await listener.add_listener(BALANCE_CHANNEL, lambda *args: received.put_nowait(args[3]))
    try:
        await olo.services.balance.grant(ann, 75, key="grant/notify")
        await projection.run_page()

        payload = json.loads(await asyncio.wait_for(received.get(), timeout=10))
    finally:
        await listener.close()

    credited_at = await pg.fetchval(
        "SELECT notification_id FROM eventlog_events WHERE originator_id = $1 "
        "AND topic = 'olo.balance:Account.Credited'",
        account_id_of(ann, AccountKind.WALLET),
    )
    last = await head(pg)
    assert payload == {
        "p": last,
        "i": [[str(ann), {"k": "wallet", "c": 75, "v": 2, "p": credited_at}]],
    }
    assert received.empty()


@pytest.mark.parametrize("page_size", [1, 4])
async def test_a_rebuilt_projection_equals_the_live_one(
    olo: Olo, pg: asyncpg.Connection, page_size: int
) -> None:
    ann, bo = await ledger_activity(olo)
    live_runner = runner(olo)
    await live_runner.prepare()
    await live_runner.catch_up()
    live = await pg.fetch("SELECT * FROM balance_history ORDER BY account_id, version")

    await rebuild(runner(olo, page_size), olo.pool)

    assert await pg.fetch("SELECT * FROM balance_history ORDER BY account_id, version") == live
    await assert_projected_once(olo, pg, ann, bo)


async def test_read_topics_filters_in_the_database_and_covers_every_position(
    olo: Olo, pg: asyncpg.Connection
) -> None:
    await ledger_activity(olo)
    from domains.profile.aggregate import User
    from eventlog.projection import read_topics

    wanted = frozenset({User.Registered.TOPIC})
    last, events = await read_topics(olo.pool, olo.event_log.mapper, 0, 3, wanted)
    assert last == 3  # a window of three positions, whatever their topics
    seen = list(events)
    while (page := await read_topics(olo.pool, olo.event_log.mapper, last, 3, wanted))[0] > last:
        last = page[0]
        seen += page[1]
    assert last == await head(pg)
    assert [type(r.event).__name__ for r in seen] == ["Registered"] * 3
    assert [r.position for r in seen] == sorted(r.position for r in seen)
    assert await read_topics(olo.pool, olo.event_log.mapper, last, 3, wanted) == (last, [])
