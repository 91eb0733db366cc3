"""Websocket memory of the API process: RSS retained after N connect/close cycles, and RSS per
open `balance` subscriber, for each uvicorn websocket implementation and deflate setting.

    .venv/bin/python -m bench.ws_memory [--cycles 20000] [--open 1000,5000]
        [--variants websockets,websockets-no-deflate,sansio,sansio-no-deflate]

Loopback only. Each variant gets a fresh API process (uvicorn, no worker) on one database.
The clients are the `websockets` library's, which offer permessage-deflate as most apps do.
A cycle: connect, `connection_init`, `connection_ack`, close. A subscriber: connect, init,
subscribe to `balance`, first item received, held open. Users: a pool of USERS (the per-user
cap is lifted for the bench), so registrations do not count as websocket memory.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import time
from typing import Any

import websockets
from websockets.typing import Subprotocol

from bench.common import fresh_database, report, spawn_api, wait_ready
from domains.profile.auth import mint_emulator_token
from eventlog.settings import Settings

PROTOCOL = Subprotocol("graphql-transport-ws")
PORT = 8767
URL = f"ws://127.0.0.1:{PORT}/graphql"
USERS = 100
CONCURRENCY = 50
QUERY = "subscription { balance { coins version position } }"
WARM_UP = 1000
VARIANTS: dict[str, dict[str, Any]] = {
    "websockets": {"ws": "websockets", "per_message_deflate": True},
    "websockets-no-deflate": {"ws": "websockets", "per_message_deflate": False},
    "sansio": {"ws": "websockets-sansio", "per_message_deflate": True},
    "sansio-no-deflate": {"ws": "websockets-sansio", "per_message_deflate": False},
}


def api_app() -> Any:
    from app import create_app

    settings = Settings(mode="development")
    return create_app(settings, os.environ["OLO_BENCH_WS_DATABASE_URL"], run_worker=False)


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


TOKENS = [mint_emulator_token(f"ws-{i}", "demo-olo") for i in range(USERS)]


async def _init(ws: Any, n: int) -> None:
    init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {TOKENS[n % USERS]}"}}
    await ws.send(json.dumps(init))
    ack = json.loads(await asyncio.wait_for(ws.recv(), 30))
    assert ack["type"] == "connection_ack", ack


async def cycles(total: int) -> tuple[float, int]:
    """`total` connect/init/close cycles, CONCURRENCY at a time; (cycles per second, failed)."""
    started = time.monotonic()
    left = iter(range(total))
    failed = 0

    async def client() -> None:
        nonlocal failed
        for n in left:
            try:
                async with websockets.connect(
                    URL, subprotocols=[PROTOCOL], ping_interval=None
                ) as ws:
                    await _init(ws, n)
            except (OSError, AssertionError, TimeoutError, websockets.WebSocketException):
                failed += 1  # the shared database was full, say: counted, not fatal

    await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
    return total / (time.monotonic() - started), failed


async def open_subscribers(stack: contextlib.AsyncExitStack, start: int, count: int) -> None:
    """`count` more balance subscribers, each held open by `stack`."""
    sem = asyncio.Semaphore(CONCURRENCY)

    async def one(n: int) -> None:
        async with sem:
            ws = await stack.enter_async_context(
                websockets.connect(URL, subprotocols=[PROTOCOL], ping_interval=None, max_queue=None)
            )
            await _init(ws, n)
            for attempt in range(5):  # an error (the database busy) ends only that operation
                subscribe = {"id": str(attempt), "type": "subscribe", "payload": {"query": QUERY}}
                await ws.send(json.dumps(subscribe))
                item = json.loads(await asyncio.wait_for(ws.recv(), 30))
                if item["type"] == "next":
                    return
                await asyncio.sleep(0.5)
            raise RuntimeError(f"subscriber {n}: {item}")

    await asyncio.gather(*(one(n) for n in range(start, start + count)))


async def settled_rss(pid: int) -> int:
    await asyncio.sleep(2.0)
    return rss_kib(pid)


async def measure(name: str, url: str, n_cycles: int, levels: list[int]) -> dict[str, Any]:
    variant = VARIANTS[name]
    env = {
        **os.environ,
        "OLO_BENCH_WS_DATABASE_URL": url,
        "DATABASE_URL": url,
        "OLO_WS_MAX_CONNECTIONS_PER_USER": "1000000",
        "OLO_WS_MAX_CONNECTIONS": "1000000",
        # Connections taken at start: the database server is shared and may be full later.
        "OLO_DB_POOL_MIN": "4",
        "OLO_DB_POOL_MAX": "4",
    }
    api = spawn_api(
        "bench.ws_memory:api_app",
        PORT,
        env,
        ws=variant["ws"],
        per_message_deflate=variant["per_message_deflate"],
    )
    row: dict[str, Any] = {"variant": name}
    try:
        await wait_ready(f"http://127.0.0.1:{PORT}")
        await cycles(WARM_UP)  # users registered, caches and pools warm
        before = await settled_rss(api.pid)
        rate, failed = await cycles(n_cycles)
        after = await settled_rss(api.pid)
        row |= {
            "rss_before_MiB": round(before / 1024, 1),
            f"rss_after_{n_cycles}_cycles_MiB": round(after / 1024, 1),
            "retained_per_cycle_B": round((after - before) * 1024 / n_cycles),
            "cycles_per_s": round(rate),
            "failed_cycles": failed,
        }
        async with contextlib.AsyncExitStack() as stack:
            opened = 0
            for level in levels:
                await open_subscribers(stack, opened, level - opened)
                opened = level
                held = await settled_rss(api.pid)
                row[f"rss_{level}_open_MiB"] = round(held / 1024, 1)
                row[f"per_subscriber_{level}_KiB"] = round((held - after) / level, 1)
        print(row, flush=True)
        return row
    finally:
        api.terminate()
        api.wait(timeout=30)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cycles", type=int, default=20_000)
    parser.add_argument("--open", default="1000,5000", help="subscriber counts to measure at")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    args = parser.parse_args()
    levels = sorted(int(n) for n in args.open.split(",") if n)
    url = await fresh_database("olo_bench_ws_memory")
    rows = [await measure(v, url, args.cycles, levels) for v in args.variants.split(",")]
    report(
        "ws_memory",
        rows,
        {
            "command": "python -m bench.ws_memory " + f"--cycles {args.cycles} --open {args.open}",
            "users": USERS,
            "concurrency": CONCURRENCY,
            "client": f"websockets {websockets.__version__} (offers permessage-deflate)",
        },
    )


if __name__ == "__main__":
    asyncio.run(main())
