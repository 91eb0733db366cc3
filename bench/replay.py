"""Replay: rebuild the balance projection from >= 1,000,000 events.

    .venv/bin/python -m bench.replay [--events 1000000] [--wallets 20000]

The log is written directly in large batches (the aggregates and mapper are the real ones,
the group-commit path is skipped to save time), then `rebuild()` runs as `olo replay` does.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from typing import Any
from uuid import uuid4

from app import start
from bench.common import fresh_database, report
from domains.balance.aggregate import Account, AccountKind, PlatformAccount, Transfer
from eventlog.database import INSERT_FUNCTION
from eventlog.projection import ProjectionRunner, rebuild
from eventlog.settings import Settings


async def write_log(olo, events: int, wallets: int) -> int:
    mapper, pool = olo.event_log.mapper, olo.pool
    rng = random.Random(7)
    accounts = [Account(owner_id=uuid4(), kind=AccountKind.WALLET) for _ in range(wallets)]
    clearing = PlatformAccount.PAYMENT_CLEARING.account_id
    pending: list[Any] = []
    for account in accounts:
        t = Transfer(
            key=str(uuid4()),
            source=clearing,
            target=account.id,
            amount=10**6,
            reason="purchase",
            memo="",
        )
        account.credit(t.id, 10**6, "purchase", clearing)
        pending += t.collect_events()
    written = 0

    async def flush() -> None:
        nonlocal pending, written
        for a in accounts:
            pending += a.collect_events()
        stored = [mapper.to_stored_event(e) for e in pending]
        await pool.fetch(
            f"SELECT {INSERT_FUNCTION}($1, $2, $3, $4)",
            [s.originator_id for s in stored],
            [s.originator_version for s in stored],
            [s.topic for s in stored],
            [s.state for s in stored],
        )
        written += len(stored)
        pending = []

    await flush()
    while written < events:
        for _ in range(3000):
            a, b = rng.sample(accounts, 2)
            t = Transfer(
                key=str(uuid4()), source=a.id, target=b.id, amount=1, reason="gift", memo=""
            )
            a.debit(t.id, 1, "gift", b.id)
            b.credit(t.id, 1, "gift", a.id)
            pending += t.collect_events()
        await flush()
    return written


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--wallets", type=int, default=20_000)
    parser.add_argument("--page-size", type=int, default=5000)
    args = parser.parse_args()
    url = await fresh_database("olo_bench_replay")
    olo = await start(Settings(mode="development", projection_page_size=args.page_size), url)
    t0 = time.perf_counter()
    written = await write_log(olo, args.events, args.wallets)
    print(f"wrote {written} events in {time.perf_counter() - t0:.1f} s")
    runner = next(
        r for r in olo.runners if isinstance(r, ProjectionRunner) and r.projection.name == "balance"
    )
    t0 = time.perf_counter()
    await rebuild(runner, olo.pool)
    elapsed = time.perf_counter() - t0
    total = int(await olo.pool.fetchval("SELECT coalesce(sum(coins), 0) FROM balance_ledger"))
    rows = await olo.pool.fetchval("SELECT count(*) FROM balance_history")
    await olo.close()
    report(
        "replay",
        [
            {
                "events": written,
                "page_size": args.page_size,
                "seconds": round(elapsed, 1),
                "events_per_s": round(written / elapsed),
                "history_rows": rows,
                "ledger_sum": total,
            }
        ],
        {"target": ">= 20,000 events/s"},
    )


if __name__ == "__main__":
    asyncio.run(main())
