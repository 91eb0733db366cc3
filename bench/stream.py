"""Stream: N websocket subscribers on ONE API process, each watching its own balance, while
500 transfers/s run: latency from commit to receipt on the subscriber.

    .venv/bin/python -m bench.stream [--subscribers 1000] [--rate 500] [--seconds 20]
                                     [--clients 1]

Processes: the API (uvicorn, no worker), one `olo worker` (projections), this one, which
commits the transfers through the service layer, and `--clients` processes holding the
websocket clients (subscribers shared out between them), so that at 10,000 subscribers the
clients are not the limit. Commit and receipt times are `time.time()` of one machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import time
import traceback
from multiprocessing.synchronize import Event as ProcessEvent
from typing import Any

import uvloop
import websockets

from app import start
from bench.common import fresh_database, percentiles, report, spawn_api, spawn_worker, wait_ready
from domains.balance.aggregate import Account, AccountKind, account_id_of
from domains.balance.service import AccountRef
from domains.profile.aggregate import user_id_of
from domains.profile.auth import mint_emulator_token
from eventlog.settings import Settings

PORT = 8766
QUERY = "subscription { balance { coins version position } }"
CONNECT_ATTEMPTS = 10
Receipt = tuple[str, int, float]  # uid, balance version, time.time() at receipt


def api_app():
    from app import create_app

    return create_app(
        Settings(mode="development"), os.environ["OLO_BENCH_STREAM_DATABASE_URL"], run_worker=False
    )


async def subscriber(uid: str, received: list[Receipt], connected: asyncio.Event) -> None:
    """One app: connect (again, as an app would, if the handshake times out or is refused),
    subscribe to its balance, note every update until cancelled."""
    for attempt in range(CONNECT_ATTEMPTS):
        try:
            await subscribe(uid, received, connected)
            return
        except (OSError, TimeoutError, websockets.WebSocketException):
            if connected.is_set() or attempt == CONNECT_ATTEMPTS - 1:
                raise
            await asyncio.sleep(random.uniform(1, 5))


async def subscribe(uid: str, received: list[Receipt], connected: asyncio.Event) -> None:
    token = mint_emulator_token(uid, "demo-olo")
    async with websockets.connect(
        f"ws://127.0.0.1:{PORT}/graphql",
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
        max_queue=None,
        ping_interval=None,
        open_timeout=30,
    ) as ws:
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
        await ws.send(json.dumps(init))
        await ws.recv()
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": QUERY}}))
        async for raw in ws:
            now = time.time()
            message = json.loads(raw)
            if message.get("type") == "next":
                received.append((uid, message["payload"]["data"]["balance"]["version"], now))
                connected.set()


async def hold(uids: list[str], ready: Any, stop: ProcessEvent) -> list[Receipt]:
    received: list[Receipt] = []
    tasks, connected = [], []
    began = time.time()
    for i, uid in enumerate(uids):
        connected.append(asyncio.Event())
        tasks.append(asyncio.create_task(subscriber(uid, received, connected[-1])))
        if i % 25 == 24:
            await asyncio.sleep(0.1)  # 250 handshakes a second per client process
    await asyncio.wait_for(asyncio.gather(*(c.wait() for c in connected)), timeout=600)
    ready.put((began, time.time()))
    await asyncio.to_thread(stop.wait)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return received


def client_process(uids: list[str], ready: Any, stop: ProcessEvent, results: Any) -> None:
    """A process of subscribers: says when all have their first item, runs until `stop`."""
    try:
        results.put(uvloop.run(hold(uids, ready, stop)))
    except BaseException:
        traceback.print_exc()  # the parent sees the queue stay empty; this says why
        raise


def delivery_latencies(
    committed: dict[tuple[str, int], float], received: list[Receipt]
) -> tuple[list[float], int]:
    """Commit -> first receipt of that version or a later one (a projection page coalesces
    several changes of one wallet into its latest state)."""
    by_user: dict[str, list[tuple[int, float]]] = {}
    for uid, version, at in received:
        by_user.setdefault(uid, []).append((version, at))
    latencies: list[float] = []
    missing = 0
    for (uid, version), at in committed.items():
        seen = [t for v, t in by_user.get(uid, []) if v >= version]
        if seen:
            latencies.append(max(0.0, min(seen) - at))
        else:
            missing += 1
    return latencies, missing


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=1, help="subscriber processes")
    args = parser.parse_args()
    url = await fresh_database("olo_bench_stream")
    env = {**os.environ, "OLO_BENCH_STREAM_DATABASE_URL": url, "DATABASE_URL": url}
    olo = await start(Settings(mode="development"), url)
    balance = olo.services.balance
    uids = [f"stream-{i}" for i in range(args.subscribers)]
    users = {uid: user_id_of(uid) for uid in uids}
    for chunk in range(0, len(uids), 200):
        await asyncio.gather(
            *(balance.grant(users[u], 100_000, key=f"fund/{u}") for u in uids[chunk : chunk + 200])
        )
    api = spawn_api("bench.stream:api_app", PORT, env)
    worker = spawn_worker(env)
    committed: dict[tuple[str, int], float] = {}
    spawn = multiprocessing.get_context("spawn")
    ready, results, stop = spawn.Queue(), spawn.Queue(), spawn.Event()
    clients = [
        spawn.Process(target=client_process, args=(uids[i :: args.clients], ready, stop, results))
        for i in range(args.clients)
    ]
    received: list[Receipt] = []
    try:
        await wait_ready(f"http://127.0.0.1:{PORT}")
        for client in clients:
            client.start()
        spans = [await asyncio.to_thread(ready.get, timeout=600) for _ in clients]
        # from the first handshake to the last subscriber's first item (process start-up out)
        connect_s = max(done for _, done in spans) - min(began for began, _ in spans)
        print(
            f"{len(uids)} subscribers connected in {connect_s:.1f} s "
            f"({len(uids) / connect_s:.0f}/s); running {args.rate} transfers/s",
            flush=True,
        )
        idle = list(uids)
        random.shuffle(idle)

        async def transfer(a: str, b: str) -> None:
            await balance.transfer(
                key=f"{a}->{b}/{time.perf_counter_ns()}",
                source=AccountRef.wallet(users[a]),
                target=AccountRef.wallet(users[b]),
                amount=1,
                reason="transfer",
            )
            now = time.time()
            for uid in (a, b):
                account = await olo.store.load(account_id_of(users[uid], AccountKind.WALLET))
                assert isinstance(account, Account)
                committed[(uid, account.version)] = now
            idle.extend((a, b))

        inflight: set[asyncio.Task[None]] = set()
        start_time = time.perf_counter()
        sent = 0
        while (elapsed := time.perf_counter() - start_time) < args.seconds:
            due = int(elapsed * args.rate) - sent
            for _ in range(max(0, due)):
                if len(idle) < 2:
                    break
                a, b = idle.pop(), idle.pop()
                task = asyncio.create_task(transfer(a, b))
                inflight.add(task)
                task.add_done_callback(inflight.discard)
                sent += 1
            await asyncio.sleep(0.005)
        achieved = sent / (time.perf_counter() - start_time)
        await asyncio.gather(*inflight)
        await asyncio.sleep(3)
        stop.set()
        for _ in clients:
            received += await asyncio.to_thread(results.get, timeout=120)
    finally:
        stop.set()
        for client in clients:
            client.join(30)
            if client.is_alive():
                client.kill()
        api.terminate()
        worker.terminate()
        api.wait(10)
        worker.wait(10)
        await olo.close()
    latencies, missing = delivery_latencies(committed, received)
    report(
        "stream",
        [
            {
                "subscribers": len(uids),
                "client_processes": args.clients,
                "connects_per_s": round(len(uids) / connect_s),
                "transfers_per_s": round(achieved),
                "updates": len(committed),
                "missing": missing,
                **percentiles(latencies),
            }
        ],
        {"target": "p99 <= 50 ms"},
    )


if __name__ == "__main__":
    uvloop.run(main())
