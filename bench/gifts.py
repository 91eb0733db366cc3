"""Gifts: `sendGift` through HTTP GraphQL vs the trivial cached mutation of bench/api.py, same
server process (`bench.api:bench_app`: olo's app plus /trivial; API only, a separate `olo
worker` projects and notifies), same run, phases alternating as in bench/api.py.
Load from `wrk` (apt-get install wrk) on loopback.

    .venv/bin/python -m bench.gifts [--scale 1.0] [--rounds 3]

`--scale 1` is 10 s phases, 64 connections, 100 senders each gifting their own streamer (so
two senders never contend for one streamer's earnings account); `--scale 0.05` is a smoke
run of a few seconds. Every request is a new gift (a fresh idempotency key): a rose, 10 coins,
5 to the streamer and 5 to the platform. Rate limits are lifted for the run (a limited
request sends nothing), and the gifts in the log are counted against the requests.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
from typing import Any

from bench.api import LUA_TRIVIAL, PORT, percent, run_wrk
from bench.common import fresh_database, report, spawn_api, spawn_worker, wait_ready
from domains.gift.aggregate import gift_id_of
from domains.profile.aggregate import Role
from domains.profile.auth import mint_emulator_token

FUNDING = 10**9  # coins per sender: never the limit

LUA_GIFTS = """
local tokens = {%s}
local streamers = {%s}
local gift = "%s"
local round = %d
local counter = 0
local id = 0
function setup(thread) id = id + 1; thread:set("thread_id", id) end
function request()
  counter = counter + 1
  local i = (counter %% #tokens) + 1
  local body = '{"query":"mutation($to: String!, $g: String!, $k: String!) { ' ..
    'sendGift(toUserId: $to, giftId: $g, idempotencyKey: $k) { __typename } }",' ..
    '"variables":{"to":"' .. streamers[i] .. '","g":"' .. gift .. '","k":"bench-' ..
    round .. '-' .. thread_id .. '-' .. counter .. '"}}'
  return wrk.format("POST", "/graphql", {["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. tokens[i]}, body)
end
"""


async def people(url: str, senders: int) -> tuple[list[str], list[str]]:
    """Senders with coins and a streamer each, the seed catalog; the senders' tokens and the
    streamers' ids, pairwise."""
    from app import start
    from eventlog.settings import Settings

    olo = await start(Settings(mode="development"), url)
    try:
        await olo.services.tariffs.ensure_seeded()
        await olo.services.gift_catalog.ensure_seeded()
        profiles, tokens, streamers = olo.services.profiles, [], []
        for n in range(senders):
            sender = await profiles.register(f"bench-fan-{n}", display_name=f"fan {n}")
            await olo.services.balance.grant(sender, FUNDING, key=f"bench-gifts/{sender}")
            streamer = await profiles.register(f"bench-star-{n}", display_name=f"star {n}")
            await profiles.set_role(streamer, Role.STREAMER)
            tokens.append(mint_emulator_token(f"bench-fan-{n}", "demo-olo"))
            streamers.append(str(streamer))
        return tokens, streamers
    finally:
        await olo.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    seconds = max(2, round(10 * args.scale))
    connections = max(4, round(64 * args.scale))
    senders = max(4, round(100 * args.scale))
    url = await fresh_database("olo_bench_gifts")
    tokens, streamers = await people(url, senders)
    env = {
        **os.environ,
        "OLO_BENCH_API_DATABASE_URL": url,
        "DATABASE_URL": url,
        "OLO_RATE_LIMITS": json.dumps({"sendGift": "1000000/second"}),
    }
    worker = spawn_worker(env)
    server = spawn_api("bench.api:bench_app", PORT, env)
    try:
        await wait_ready(f"http://127.0.0.1:{PORT}")
        pids = {"api": server.pid, "worker": worker.pid}
        quoted = ",".join(json.dumps(t) for t in tokens)
        ids = ",".join(json.dumps(s) for s in streamers)
        rounds = []
        for n in range(args.rounds):
            lua = LUA_GIFTS % (quoted, ids, gift_id_of("rose"), n)  # new keys every round
            trivial = run_wrk("/trivial", LUA_TRIVIAL, seconds, connections, pids)
            gifts = run_wrk("/graphql", lua, seconds, connections, pids)
            rounds.append((trivial, gifts))
    finally:
        server.terminate()
        worker.terminate()
        server.wait(10)
        worker.wait(10)
    sent, ledger = await audit(url)
    ratios = [percent(g, t) for t, g in rounds]
    rows: list[dict[str, Any]] = []
    for n, (trivial, gifts) in enumerate(rounds, 1):
        rows.append({"round": n, "endpoint": "trivial cached mutation", **trivial})
        rows.append({"round": n, "endpoint": "sendGift", **gifts, "percent": ratios[n - 1]})
    ratio = round(statistics.median(ratios))
    report(
        "gifts",
        rows,
        {
            "gift_vs_trivial_percent": ratio,
            "rounds": ratios,
            "gifts_in_log": sent,
            "ledger": ledger,
        },
    )
    print(
        f"sendGift at {ratio}% of the trivial mutation's requests/s (median of {ratios}); "
        f"{sent} gifts in the log, ledger sum {ledger}"
    )


async def audit(url: str) -> tuple[int, int]:
    """Gifts in the log, and the sum of the ledger (0) once the worker has projected."""
    from eventlog.database import connect

    conn = await connect(url)
    try:
        sent = await conn.fetchval(
            "SELECT count(*) FROM eventlog_events WHERE topic = 'olo.gift:GiftSend.Sent'"
        )
        ledger = await conn.fetchval("SELECT coalesce(sum(coins), 0) FROM balance_ledger")
    finally:
        await conn.close()
    return int(sent), int(ledger)


if __name__ == "__main__":
    asyncio.run(main())
