"""What the benchmarks share: a fresh database, latency summaries, the results table."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from cli import WEBSOCKET_IMPLEMENTATION, WEBSOCKET_PER_MESSAGE_DEFLATE
from eventlog.application import open_event_log
from eventlog.database import connect

RESULTS = Path(__file__).resolve().parent / "results"


def server_url() -> str:
    return os.environ.get("OLO_BENCH_DATABASE_URL") or os.environ.get(
        "OLO_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
    )


async def fresh_database(name: str) -> str:
    """Drop and create database `name` on the bench server; return its URL, tables made."""
    admin = await connect(server_url())
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    parts = urlsplit(server_url())
    url = urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))
    await asyncio.to_thread(lambda: open_event_log(url).close())
    return url


def spawn_api(
    factory: str,
    port: int,
    env: dict[str, str],
    *,
    ws: str = WEBSOCKET_IMPLEMENTATION,
    per_message_deflate: bool = WEBSOCKET_PER_MESSAGE_DEFLATE,
) -> subprocess.Popen[bytes]:
    """uvicorn serving `module:factory` on a loopback port, in its own process (websockets
    as `olo serve` runs them unless asked otherwise)."""
    command = [sys.executable, "-m", "uvicorn", factory, "--factory", "--port", str(port)]
    command += ["--log-level", "warning", "--no-access-log", "--ws", ws]
    command += ["--ws-per-message-deflate", str(per_message_deflate).lower()]
    return subprocess.Popen(command, env={"OLO_MODE": "development", **env})


def spawn_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """`olo worker` (projections and policies) on env's DATABASE_URL, in its own process."""
    command = [sys.executable, "-m", "cli", "worker"]
    return subprocess.Popen(command, env={"OLO_MODE": "development", **env})


async def wait_ready(base_url: str, *, seconds: float = 30) -> None:
    """Poll /readyz until the server answers 200 (or give up after `seconds`)."""
    async with httpx.AsyncClient(base_url=base_url) as client:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if (await client.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError(f"{base_url} not ready after {seconds} s")


def percentiles(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {"p50_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0}
    ordered = sorted(samples)
    q = statistics.quantiles(ordered, n=100) if len(ordered) > 1 else [ordered[0]] * 99
    return {
        "p50_ms": round(q[49] * 1000, 2),
        "p99_ms": round(q[98] * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


def report(name: str, rows: list[dict[str, Any]], extra: dict[str, Any] | None = None) -> None:
    """Print a table and write bench/results/<name>.json."""
    columns = list(dict.fromkeys(k for row in rows for k in row))
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns}
    print(" | ".join(c.ljust(widths[c]) for c in columns))
    print("-|-".join("-" * widths[c] for c in columns))
    for row in rows:
        print(" | ".join(str(row.get(c, "")).ljust(widths[c]) for c in columns))
    RESULTS.mkdir(exist_ok=True)
    payload = {
        "benchmark": name,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cores",
        "rows": rows,
        **(extra or {}),
    }
    (RESULTS / f"{name}.json").write_text(json.dumps(payload, indent=2) + "\n")
