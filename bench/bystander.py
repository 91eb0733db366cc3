"""A bystander's `me` latency while one client sends maximum-size queries back to back.

`olo serve --no-worker` (the production entry point, with olo's limits) and `olo worker` on a
fresh database; one bystander sends `me` one request after another, first alone, then while
one attacker sends, back to back on one connection, the largest requests olo accepts or
refuses: alias, field, depth, token and length bombs at the limits, a 250 KB body of padded
variables, and a 1.8 MB alias bomb (refused by the body limit). Loopback only.

    .venv/bin/python -m bench.bystander --seconds 20
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from collections import Counter
from typing import Any

import httpx

from bench.common import fresh_database, percentiles, report, spawn_worker, wait_ready
from domains.profile.auth import mint_emulator_token

PORT = 8931
ME = "{ me { id displayName bio email phone balance { coins version position } } }"


def attacks() -> dict[str, dict[str, Any]]:
    """The attacker's requests, each as large as olo lets it be (or larger)."""
    return {
        "aliases": {"query": "{ me { " + " ".join(f"a{i}: id" for i in range(160)) + " } }"},
        "fields (100, accepted)": {"query": "{ " + "me { id } " * 50 + "}"},
        "fields (over)": {"query": "{ " + "me { id } " * 200 + "}"},
        "depth": {"query": "{ me " + "{ balance " * 300 + "{ coins }" + " }" * 301},
        "tokens": {"query": "{me{" + "id," * 1100 + "}}"},
        "length": {"query": "{ me { id } }" + "#" * 250_000},
        "variables 250 KB": {
            "query": "query($pad: String) { me { id } }",
            "variables": {"pad": "x" * 250_000},
        },
        "alias bomb 1.8 MB": {
            "query": "{ " + " ".join(f"a{i}: me {{ id }}" for i in range(100_000)) + " }"
        },
    }


async def bystander(
    client: httpx.AsyncClient, token: str, until: float, samples: list[float]
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    while time.monotonic() < until:
        started = time.perf_counter()
        response = await client.post("/graphql", json={"query": ME}, headers=headers)
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200 and "errors" not in response.json(), response.text
        await asyncio.sleep(0.005)  # a user's app, not a load generator


async def attacker(client: httpx.AsyncClient, token: str, until: float) -> Counter[str]:
    """Back to back, one request at a time, cycling through the attacks."""
    bodies = [
        (name, httpx.Request("POST", "/", json=body).content) for name, body in attacks().items()
    ]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    outcomes: Counter[str] = Counter()
    n = 0
    while time.monotonic() < until:
        name, content = bodies[n % len(bodies)]
        n += 1
        try:
            response = await client.post("/graphql", content=content, headers=headers)
        except httpx.TransportError:  # the server closed a 1.8 MB upload early
            outcomes[f"{name}: closed"] += 1
            continue
        codes = {e.get("extensions", {}).get("code") for e in response.json().get("errors", ())}
        outcomes[f"{name}: {response.status_code} {','.join(sorted(map(str, codes)))}"] += 1
    return outcomes


def spawn_serve(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """`olo serve --no-worker` on env's DATABASE_URL and OLO_PORT: uvicorn with olo's limits."""
    return subprocess.Popen([sys.executable, "-m", "cli", "serve", "--no-worker"], env=env)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    url = await fresh_database("olo_bench_bystander")
    env = {**os.environ, "DATABASE_URL": url, "OLO_PORT": str(PORT), "OLO_HOST": "127.0.0.1"}
    env.setdefault("OLO_MODE", "development")  # the demo-olo emulator tokens below
    worker = spawn_worker(env)
    server = spawn_serve(env)
    base = f"http://127.0.0.1:{PORT}"
    try:
        await wait_ready(base, seconds=60)
        ann = mint_emulator_token("bench-bystander", "demo-olo")
        mallory = mint_emulator_token("bench-attacker", "demo-olo")
        async with (
            httpx.AsyncClient(base_url=base, timeout=30) as a,
            httpx.AsyncClient(base_url=base, timeout=30) as b,
        ):
            for client, token in ((a, ann), (b, mallory)):  # registered before measuring
                await client.post(
                    "/graphql", json={"query": ME}, headers={"Authorization": f"Bearer {token}"}
                )
            alone: list[float] = []
            await bystander(a, ann, time.monotonic() + args.seconds, alone)
            attacked: list[float] = []
            until = time.monotonic() + args.seconds
            _, outcomes = await asyncio.gather(
                bystander(a, ann, until, attacked), attacker(b, mallory, until)
            )
    finally:
        server.terminate()
        worker.terminate()
        server.wait(30)
        worker.wait(30)
    rows = [
        {"phase": "bystander alone", "requests": len(alone), **percentiles(alone)},
        {
            "phase": "one attacker, back to back",
            "requests": len(attacked),
            **percentiles(attacked),
            "attacker_requests": sum(outcomes.values()),
        },
    ]
    report("bystander", rows, {"attacker_outcomes": dict(outcomes), "seconds": args.seconds})
    for outcome, count in sorted(outcomes.items()):
        print(f"  {count:6d}  {outcome}")


if __name__ == "__main__":
    asyncio.run(main())
