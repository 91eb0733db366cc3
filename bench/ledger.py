"""Ledger throughput: transfers/s with 64 concurrent clients through the service layer (group
commit), side by side with the library's plain one-save()-per-command path, same database.

    .venv/bin/python -m bench.ledger [--seconds 10] [--clients 64] [--wallets 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import threading
import time
from uuid import uuid4

import uvloop

from app import start
from bench.common import fresh_database, percentiles, report
from domains.balance.aggregate import Account, AccountKind, InsufficientFundsError, Transfer
from domains.balance.service import AccountRef, BalanceService
from eventlog.application import open_event_log
from eventlog.settings import Settings

FUNDING = 1_000_000


async def fund(balance: BalanceService, users: list, coins: int) -> None:
    sem = asyncio.Semaphore(256)

    async def one(user_id: object) -> None:
        async with sem:
            await balance.grant(user_id, coins, key=f"bench-fund/{user_id}")  # type: ignore[arg-type]

    await asyncio.gather(*(one(u) for u in users))


async def group_commit(url: str, users: list, clients: int, seconds: float) -> dict:
    olo = await start(Settings(mode="development"), url)
    balance = olo.services.balance
    await fund(balance, users, FUNDING)
    batches0, units0 = olo.writer.batches, olo.writer.units
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        rng = random.Random()
        while time.perf_counter() < deadline:
            a, b = rng.sample(users, 2)
            t0 = time.perf_counter()
            await balance.transfer(
                key=str(uuid4()),
                source=AccountRef.wallet(a),
                target=AccountRef.wallet(b),
                amount=1,
                reason="transfer",
            )
            latencies.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - t0
    batches = olo.writer.batches - batches0
    units = olo.writer.units - units0
    conflicts = olo.store.conflicts
    await olo.close()
    return {
        "path": "group commit (service layer)",
        "clients": clients,
        "transfers": len(latencies),
        "transfers_per_s": round(len(latencies) / elapsed),
        **percentiles(latencies),
        "commands_per_batch": round(units / max(batches, 1), 1),
        "conflict_retries": conflicts,
    }


def plain_save(url: str, users: list, clients: int, seconds: float) -> dict:
    """The library's path: repository.get + one save() per command, a thread per client."""
    app = open_event_log(url, pool_size=clients)  # a connection per thread: no pool waits
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client() -> None:
        rng = random.Random()
        while time.perf_counter() < deadline:
            a, b = rng.sample(users, 2)
            t0 = time.perf_counter()
            for _ in range(20):
                try:
                    source: Account = app.repository.get(Account.create_id(a, AccountKind.WALLET))
                    target: Account = app.repository.get(Account.create_id(b, AccountKind.WALLET))
                    transfer = Transfer(
                        key=str(uuid4()),
                        source=source.id,
                        target=target.id,
                        amount=1,
                        reason="transfer",
                        memo="",
                    )
                    source.debit(transfer.id, 1, "transfer", target.id)
                    target.credit(transfer.id, 1, "transfer", source.id)
                    app.save(transfer, source, target)
                    break
                except InsufficientFundsError:
                    break
                except Exception:  # IntegrityError: another thread won the race; try again
                    continue
            with lock:
                latencies.append(time.perf_counter() - t0)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    app.close()
    return {
        "path": "library plain save() per command",
        "clients": clients,
        "transfers": len(latencies),
        "transfers_per_s": round(len(latencies) / elapsed),
        **percentiles(latencies),
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--wallets", type=int, default=10_000)
    parser.add_argument("--skip-plain", action="store_true", help="group commit only")
    args = parser.parse_args()
    url = await fresh_database("olo_bench_ledger")
    users = [uuid4() for _ in range(args.wallets)]
    fast = await group_commit(url, users, args.clients, args.seconds)
    if args.skip_plain:
        report("ledger-group-commit-only", [fast])
        return
    slow = await asyncio.to_thread(plain_save, url, users, args.clients, args.seconds)
    ratio = round(fast["transfers_per_s"] / max(slow["transfers_per_s"], 1), 1)
    report("ledger", [fast, slow], {"speedup": ratio, "target": ">= 5,000/s and >= 10x"})
    print(f"speedup: {ratio}x")


if __name__ == "__main__":
    uvloop.run(main())  # what uvicorn runs olo on
