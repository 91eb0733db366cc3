"""One balance subscription kept open over 100,000 updates: every update arrives, in order,
and the server's retained memory stays flat (graphql-core would keep ~1.2 KB per message)."""

from __future__ import annotations

import asyncio
import functools
import gc
import json
import time
import tracemalloc
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from graphql_client import BALANCE_SUBSCRIPTION, SubscriptionClient, subscribe, token_for

import app as olo_app
from domains.balance.projection import BALANCE_CHANNEL
from domains.profile.aggregate import user_id_of
from eventlog.hub import StreamHub, change_payloads
from eventlog.settings import Settings

WARM_UP = 10_000
TOTAL = 100_000
CHUNK = 1_000  # injected, then all received, before the next chunk: the queue stays small
MAX_SERVER_GROWTH = 2 * 2**20  # bytes retained by graphql, strawberry and olo's own code
MAX_TOTAL_GROWTH = 4 * 2**20  # bytes retained by anything in this process (client too)

PROJECT = Path(olo_app.__file__).resolve().parent
SERVER_CODE = ("/graphql/", "/strawberry/")


@dataclass
class Served:
    base: str
    app: FastAPI

    @property
    def hub(self) -> StreamHub:
        hub = self.app.state.olo.hub
        assert isinstance(hub, StreamHub)
        return hub


@pytest.fixture
async def served(
    settings: Settings, database_url: str, serve: Callable[[FastAPI], Any]
) -> AsyncIterator[Served]:
    """The API (no worker) under uvicorn in this event loop, with its app at hand."""
    app = olo_app.create_app(settings, database_url, run_worker=False)
    async with serve(app) as base_url:
        yield Served(base_url, app)


def _is_server_code(filename: str) -> bool:
    path = Path(filename)
    if any(part in filename for part in SERVER_CODE):
        return True
    return (
        path.is_relative_to(PROJECT)
        and not path.is_relative_to(PROJECT / ".venv")
        and (not path.is_relative_to(PROJECT / "tests"))
    )


def _growth(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot) -> tuple[int, int]:
    """(bytes retained by server code, bytes retained by anything) between two snapshots."""
    server = total = 0
    for stat in after.compare_to(before, "filename"):
        total += stat.size_diff
        if _is_server_code(stat.traceback[0].filename):
            server += stat.size_diff
    return server, total


async def _deliver(hub: StreamHub, user: str, stream: SubscriptionClient, versions: range) -> int:
    """Notify the hub of one wallet change per version, as the listener would; checks that
    exactly those versions arrive, in order, and returns how many did."""
    received = 0
    last = versions.start - 1
    for start in range(versions.start, versions.stop, CHUNK):
        chunk = range(start, min(start + CHUNK, versions.stop))
        for version in chunk:
            item = {"k": "wallet", "c": version * 10, "v": version, "p": 1_000_000 + version}
            for payload in change_payloads(1_000_000 + version, [(user, item)]):
                hub._on_notify(None, 0, BALANCE_CHANNEL, payload)
        async with asyncio.timeout(30):
            for _ in chunk:
                message = json.loads(await stream.ws.recv())
                assert message["type"] == "next", message
                version = message["payload"]["data"]["balance"]["version"]
                assert version == last + 1, (version, last)  # strictly increasing, none lost
                last = version
                received += 1
    return received


async def test_one_subscription_stays_flat_over_100k_updates(served: Served) -> None:
    uid = "memory-user"
    began = time.perf_counter()
    async with subscribe(served.base, BALANCE_SUBSCRIPTION, token_for(uid)) as stream:
        first = (await stream.next_data())["balance"]
        assert (first["coins"], first["version"]) == (0, 0)
        received = 1
        delivered_before = served.hub.delivered
        deliver = functools.partial(_deliver, served.hub, str(user_id_of(uid)), stream)

        received += await deliver(range(1, WARM_UP + 1))
        warmed = time.perf_counter()
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.take_snapshot()
            received += await deliver(range(WARM_UP + 1, TOTAL + 1))
            gc.collect()
            after = tracemalloc.take_snapshot()
        finally:
            tracemalloc.stop()
        assert await stream.pending(0.2) is None  # nothing more than was sent

    server_growth, total_growth = _growth(before, after)
    print(
        f"\n{received} messages in {time.perf_counter() - began:.1f} s"
        f" (warm-up {warmed - began:.1f} s); retained over {TOTAL - WARM_UP} messages:"
        f" server code {server_growth / 1024:.0f} KiB, everything {total_growth / 1024:.0f} KiB"
    )
    assert received == TOTAL + 1
    assert served.hub.delivered - delivered_before == TOTAL
    assert server_growth < MAX_SERVER_GROWTH
    assert total_growth < MAX_TOTAL_GROWTH
