"""API: `purchaseCoins` through HTTP GraphQL vs a trivial cached strawberry mutation, same
server process (API only; a separate `olo worker` projects), same run.
Load from `wrk` (apt-get install wrk) on loopback.

    .venv/bin/python -m bench.api [--seconds 10] [--rounds 3] [--connections 64] [--users 100]
                                  [--profile FILE]

The two load one after the other, `--rounds` times (trivial, purchase, trivial, purchase,
...), and the ratio is the median of the rounds' ratios: this machine's speed drifts by up
to 2x over minutes (other tenants), which a single pair of phases minutes apart mistakes for
a difference between the two. `--profile` records the API process with py-spy (`--gil`,
speedscope) during the purchase phases.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx
import strawberry
from fastapi import FastAPI
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.fastapi import GraphQLRouter

from bench.common import fresh_database, report, spawn_api, spawn_worker, wait_ready
from domains.profile.auth import mint_emulator_token

PORT = 8765


@strawberry.type
class TrivialQuery:
    @strawberry.field
    def ok(self) -> bool:
        return True


@strawberry.type
class TrivialMutation:
    @strawberry.mutation
    async def ping(self, n: int) -> int:
        return n + 1


def bench_app() -> FastAPI:
    """olo's app plus, in the same process, a trivial cached mutation at /trivial."""
    from app import create_app
    from eventlog.settings import Settings

    # The production shape: API processes serve, a worker process projects.
    app = create_app(
        Settings(mode="development"), os.environ["OLO_BENCH_API_DATABASE_URL"], run_worker=False
    )
    trivial = strawberry.Schema(
        query=TrivialQuery,
        mutation=TrivialMutation,
        extensions=[lambda: ParserCache(maxsize=100), lambda: ValidationCache(maxsize=100)],
    )

    async def context() -> dict[str, object]:
        return {}

    app.include_router(GraphQLRouter(trivial, context_getter=context), prefix="/trivial")
    return app


LUA_TRIVIAL = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"query":"mutation($n: Int!) { ping(n: $n) }","variables":{"n":1}}'
"""

LUA_PURCHASE = """
local tokens = {%s}
local round = %d
local counter = 0
local id = 0
function setup(thread) id = id + 1; thread:set("thread_id", id) end
function request()
  counter = counter + 1
  local token = tokens[(counter %% #tokens) + 1]
  local body = '{"query":"mutation($r: String!) { purchaseCoins(packId: \\\\"coins_100\\\\", ' ..
    'store: \\\\"sandbox\\\\", receipt: $r) { __typename } }","variables":{"r":"bench-' ..
    round .. '-' .. thread_id .. '-' .. counter .. '"}}'
  return wrk.format("POST", "/graphql", {["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token}, body)
end
"""


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_wrk(
    path: str, script: str, seconds: float, connections: int, pids: dict[str, int]
) -> dict[str, Any]:
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{int(seconds)}s",
            "--latency",
            "-s",
            f.name,
            f"http://127.0.0.1:{PORT}{path}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    Path(f.name).unlink()
    used = {name: cpu_seconds(pid) - before[name] for name, pid in pids.items()}
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"50%\s+([\d.]+)(\w+)", out)
    p99 = re.search(r"99%\s+([\d.]+)(\w+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "requests_per_s": round(rps),
        "p50": f"{p50.group(1)}{p50.group(2)}" if p50 else "",
        "p99": f"{p99.group(1)}{p99.group(2)}" if p99 else "",
        "non_2xx": int(errors.group(1)) if errors else 0,
        **{f"{name}_cpu_us_per_req": round(used[name] / total * 1e6) for name in used},
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", type=Path, help="py-spy the API during purchases")
    args = parser.parse_args()
    url = await fresh_database("olo_bench_api")
    env = {**os.environ, "OLO_BENCH_API_DATABASE_URL": url, "DATABASE_URL": url}
    worker = spawn_worker(env)
    server = spawn_api("bench.api:bench_app", PORT, env)
    try:
        await wait_ready(f"http://127.0.0.1:{PORT}")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{PORT}") as client:
            tokens = [mint_emulator_token(f"bench-{i}", "demo-olo") for i in range(args.users)]
            for token in tokens:  # register every user before measuring
                await client.post(
                    "/graphql",
                    json={"query": "{ me { id } }"},
                    headers={"Authorization": f"Bearer {token}"},
                )
        pids = {"api": server.pid, "worker": worker.pid}
        quoted = ",".join(json.dumps(t) for t in tokens)
        rounds = []
        for n in range(args.rounds):
            lua = LUA_PURCHASE % (quoted, n)  # receipts new in every round, never replays
            trivial = run_wrk("/trivial", LUA_TRIVIAL, args.seconds, args.connections, pids)
            spy = spy_on(server.pid, args.profile, n) if args.profile else None
            purchase = run_wrk("/graphql", lua, args.seconds, args.connections, pids)
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                spy.wait(60)
            rounds.append((trivial, purchase))
    finally:
        server.terminate()
        worker.terminate()
        server.wait(10)
        worker.wait(10)
    from eventlog.database import connect

    conn = await connect(url)
    purchases = await conn.fetchval(
        "SELECT count(*) FROM eventlog_events WHERE topic = 'olo.payment:Purchase.Completed'"
    )
    await conn.close()
    ratios = [percent(p, t) for t, p in rounds]
    rows = []
    for n, (trivial, purchase) in enumerate(rounds, 1):
        rows.append({"round": n, "endpoint": "trivial cached mutation", **trivial})
        rows.append({"round": n, "endpoint": "purchaseCoins", **purchase, "percent": ratios[n - 1]})
    ratio = round(statistics.median(ratios))
    report(
        "api",
        rows,
        {"purchase_vs_trivial_percent": ratio, "rounds": ratios, "purchases_in_log": purchases},
    )
    print(f"purchaseCoins at {ratio}% of the trivial mutation's requests/s (median of {ratios})")


def percent(purchase: dict[str, Any], trivial: dict[str, Any]) -> int:
    return round(purchase["requests_per_s"] / max(trivial["requests_per_s"], 1) * 100)


def spy_on(pid: int, out: Path, n: int) -> subprocess.Popen[bytes]:
    """py-spy on the API process until SIGINT (py-spy: `.venv/bin/pip install py-spy`)."""
    spy = Path(sys.executable).parent / "py-spy"
    target = out.with_suffix(f".{n}.speedscope.json")
    command = [
        str(spy),
        "record",
        "--gil",
        "-r",
        "200",
        "--nonblocking",
        "-f",
        "speedscope",
        "-o",
        str(target),
    ]
    return subprocess.Popen([*command, "-p", str(pid)], stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    asyncio.run(main())
