"""The call meter: N connected calls billed by ONE worker process (`olo worker`), on a
compressed tariff. Measures checkpoint lateness (Call.Charged `at - due_at`), charges/s, the
worker's CPU and memory per call, and checks exactly-once billing and settlement.

    .venv/bin/python -m bench.calls [--calls 1000] [--seconds 60] [--every 10]
    .venv/bin/python -m bench.calls --calls 20000 --profile-worker /tmp/meter.prof

Tariff (the seed's shape, compressed `60 / every` times; every=10 -> 6x): caller 9 coins at
0 s, 60 at `every/3` s, then 60 every `every` s; streamer 30 at `every/3` s, 30 at `every` s,
then 30 every `every` s. A call is billed twice per `every` s (once per side), so N calls
make 2N/every bill commands/s, each one transfer.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from typing import Any
from uuid import UUID

import psutil
import uvloop

from app import Olo, start
from bench.common import fresh_database, percentiles, report
from domains.billing.aggregate import CallKind, Schedule
from domains.profile.aggregate import Role
from domains.video.aggregate import Side
from eventlog.settings import Settings

FUNDING = 10_000_000
CHARGED = "olo.video:Call.Charged"
ENDED = "olo.video:Call.Ended"
CONNECTED = "olo.video:Call.Connected"
LONG = 3600.0  # ring and media deadlines: setup of 20k calls must not miss any


def tariff(every: int) -> tuple[Schedule, Schedule]:
    third = max(1, every // 3)
    caller = Schedule(((0, 9), (third, 60)), every, 60)
    return caller, Schedule(((third, 30), (every, 30)), every, 30)


def bench_env(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "OLO_MODE": "development",
        "OLO_MEDIA_EVENTS": "clients",
        "OLO_RING_SECONDS": str(LONG),
        "OLO_MEDIA_SECONDS": str(LONG),
    }


def spawn_meter_worker(env: dict[str, str], profile: str | None) -> subprocess.Popen[bytes]:
    """`olo worker` in its own process (under cProfile when asked)."""
    command = [sys.executable, "-m", "bench.calls", "--as-worker"]
    if profile:
        command += ["--profile-worker", profile]
    return subprocess.Popen(command, env=env)


def run_as_worker(profile: str | None) -> None:
    """The body of the worker process: cli's `run_worker`; with `profile`, cProfile runs
    from SIGUSR1 to SIGUSR2 (the measured window only) and dumps its stats there."""
    from cli import run_worker

    signal.signal(signal.SIGTERM, signal.default_int_handler)  # a KeyboardInterrupt
    if profile:
        profiler = cProfile.Profile()

        def stop(*_: Any) -> None:
            profiler.disable()
            profiler.dump_stats(profile)

        signal.signal(signal.SIGUSR1, lambda *_: profiler.enable())
        signal.signal(signal.SIGUSR2, stop)
    try:
        uvloop.run(run_worker(Settings(mode="development")))
    except (KeyboardInterrupt, asyncio.CancelledError):
        pass


async def bounded(items: list[Any], work: Any, concurrency: int) -> list[Any]:
    """Run `work(item)` for every item, at most `concurrency` at a time, in order."""
    slots = asyncio.Semaphore(concurrency)

    async def one(item: Any) -> Any:
        async with slots:
            return await work(item)

    return await asyncio.gather(*(one(i) for i in items))


async def create_parties(olo: Olo, n: int, concurrency: int) -> list[tuple[UUID, UUID]]:
    """n callers with coins and n streamers that are online and take calls."""
    profiles = olo.services.profiles
    balance = olo.services.balance
    calls = olo.services.calls

    async def pair(i: int) -> tuple[UUID, UUID]:
        caller = await profiles.register(f"bench-caller-{i}", display_name=f"caller {i}")
        streamer = await profiles.register(f"bench-streamer-{i}", display_name=f"streamer {i}")
        await profiles.set_role(streamer, Role.STREAMER)
        await balance.grant(caller, FUNDING, key=f"bench-calls/{caller}")
        await calls.set_availability(streamer, calls=True, roulette=False)
        return caller, streamer

    pairs = await bounded(list(range(n)), pair, concurrency)
    await olo.pool.execute(  # presence: as if each streamer had a callEvents subscription open
        "INSERT INTO video_presence (user_id, instance, expires_at) "
        "SELECT u, gen_random_uuid(), now() + interval '1 day' FROM unnest($1::uuid[]) AS u",
        [s for _, s in pairs],
    )
    return pairs


async def connect_calls(olo: Olo, pairs: list[tuple[UUID, UUID]], concurrency: int) -> list[UUID]:
    """Request, accept and join both sides (media events from the clients) for each pair."""
    service = olo.services.calls

    async def call(pair: tuple[UUID, UUID]) -> UUID:
        caller, streamer = pair
        requested = await service.request_call(caller, streamer)
        await service.accept_call(streamer, requested.id)
        await service.report_media(requested.id, Side.CALLER, joined=True)
        joined = await service.report_media(requested.id, Side.STREAMER, joined=True)
        assert joined.connected_at is not None
        return requested.id

    return await bounded(pairs, call, concurrency)


async def hang_up_all(olo: Olo, pairs: list[tuple[UUID, UUID]], ids: list[UUID], c: int) -> None:
    service = olo.services.calls
    await bounded(list(zip(pairs, ids, strict=True)), lambda p: service.hang_up(p[0][0], p[1]), c)


def decode(state: bytes) -> dict[str, Any]:
    return json.loads(state)  # the library's JSON transcoder; no cipher, no compression


def as_uuid(value: Any) -> str:
    return value["_data_"] if isinstance(value, dict) else str(value)


async def charges(olo: Olo) -> dict[str, list[dict[str, Any]]]:
    """Every Call.Charged in the log, by call id."""
    rows = await olo.pool.fetch(
        "SELECT originator_id, state FROM eventlog_events WHERE topic = $1",
        CHARGED,
    )
    by_call: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_call[row[0].hex].append(decode(row[1]))
    return by_call


async def caught_up(olo: Olo, names: tuple[str, ...], seconds: float = 600) -> None:
    """Wait until the worker's projections have applied the whole log."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        last = await olo.pool.fetchval("SELECT max(notification_id) FROM eventlog_events")
        tracked = await olo.pool.fetch(
            "SELECT name, max(position) AS p FROM olo_tracking WHERE name = ANY($1) GROUP BY name",
            list(names),
        )
        if len(tracked) == len(names) and all(r["p"] >= last for r in tracked):
            return
        await asyncio.sleep(0.5)
    raise TimeoutError("projections did not catch up")


class Sampler:
    """CPU seconds and RSS of the worker, and CPU seconds of PostgreSQL's processes."""

    def __init__(self, pid: int) -> None:
        self.worker = psutil.Process(pid)

    def cpu(self) -> dict[str, float]:
        t = self.worker.cpu_times()
        pg = 0.0
        for p in psutil.process_iter(["name", "cpu_times"]):
            if p.info["name"] and p.info["name"].startswith("postgres") and p.info["cpu_times"]:
                pg += p.info["cpu_times"].user + p.info["cpu_times"].system
        return {"worker": t.user + t.system, "postgres": pg, "wall": time.monotonic()}

    def rss_mb(self) -> float:
        return self.worker.memory_info().rss / 2**20


def window_stats(
    by_call: dict[str, list[dict[str, Any]]], t0: float, t1: float
) -> tuple[list[float], int]:
    """Lateness of checkpoints due in [t0, t1), and how many were charged in it."""
    lateness = [
        c["at"] - c["due_at"] for cs in by_call.values() for c in cs if t0 <= c["due_at"] < t1
    ]
    return lateness, len(lateness)


def missed_by(
    by_call: dict[str, list[dict[str, Any]]],
    connected: dict[str, float],
    schedules: tuple[Schedule, Schedule],
    t1: float,
    grace: float,
) -> int:
    """Checkpoints due before t1 that were not charged within `grace` s of their due time."""
    missed = 0
    for call_id, at in connected.items():
        for side, schedule in zip((Side.CALLER, Side.STREAMER), schedules, strict=True):
            owed = len(schedule.due(t1 - at))
            on_time = sum(
                1
                for c in by_call.get(call_id, [])
                if c["side"] == side.value and c["due_at"] < t1 and c["at"] - c["due_at"] <= grace
            )
            missed += max(0, owed - on_time)
    return missed


async def exactly_once(
    olo: Olo, by_call: dict[str, list[dict[str, Any]]], schedules: tuple[Schedule, Schedule]
) -> dict[str, Any]:
    """Contiguous indexes per call and side, one transfer per key, settlement = pure function,
    ledger sum zero, each caller's wallet down by exactly what the call charged."""
    gaps = 0
    for cs in by_call.values():
        for side in Side:
            indexes = sorted(c["index"] for c in cs if c["side"] == side.value)
            gaps += indexes != list(range(len(indexes)))
    keys = await olo.pool.fetch(
        "SELECT convert_from(state, 'UTF8')::jsonb ->> 'key' AS key, count(*) AS n "
        "FROM eventlog_events WHERE topic = 'olo.balance:Transfer.Made' "
        "AND convert_from(state, 'UTF8')::jsonb ->> 'key' LIKE 'call/%' GROUP BY 1"
    )
    transfer_keys = {r["key"] for r in keys}
    charge_keys = {
        f"call/{UUID(hex=cid)}/{c['side']}/{c['index']}" for cid, cs in by_call.items() for c in cs
    }
    ended = await olo.pool.fetch(
        "SELECT originator_id, state FROM eventlog_events WHERE topic = $1", ENDED
    )
    settlement_wrong = 0
    for row in ended:
        billed = decode(row[1])["billed_seconds"]
        cs = by_call.get(row[0].hex, [])
        for side, schedule in zip((Side.CALLER, Side.STREAMER), schedules, strict=True):
            coins = sum(c["coins"] for c in cs if c["side"] == side.value)
            settlement_wrong += coins != schedule.total(billed)
    ledger = await olo.pool.fetchval("SELECT coalesce(sum(coins), 0) FROM balance_ledger")
    wallets_wrong = await olo.pool.fetchval(
        "SELECT count(*) FROM balance_accounts a JOIN video_calls c ON c.caller_id = a.owner_id "
        "WHERE a.kind = 'wallet' AND a.coins <> $1 - c.caller_coins",
        FUNDING,
    )
    return {
        "calls_ended": len(ended),
        "index_gaps_or_duplicates": gaps,
        "duplicate_transfer_keys": sum(1 for r in keys if r["n"] > 1),
        "charges_without_transfer": len(charge_keys - transfer_keys),
        "transfers_without_charge": len(transfer_keys - charge_keys),
        "settlement_mismatches": settlement_wrong,
        "ledger_sum": int(ledger),
        "wallet_mismatches": int(wallets_wrong),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """One size: set up, connect, measure a window, hang up, check."""
    url = await fresh_database("olo_bench_calls")
    env = bench_env(url)
    os.environ.update({k: env[k] for k in ("OLO_MEDIA_EVENTS", "OLO_RING_SECONDS")})
    os.environ["OLO_MEDIA_SECONDS"] = env["OLO_MEDIA_SECONDS"]
    olo = await start(Settings(mode="development"), url)
    schedules = tariff(args.every)
    await olo.services.tariffs.ensure_seeded()
    await olo.services.tariffs.revise(CallKind.DIRECT, *schedules)
    worker = spawn_meter_worker(env, args.profile_worker)
    try:
        return await measure(olo, worker, schedules, args)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
        await olo.close()


async def measure(
    olo: Olo, worker: subprocess.Popen[bytes], schedules: tuple[Schedule, Schedule], args: Any
) -> dict[str, Any]:
    sampler = Sampler(worker.pid)
    await asyncio.sleep(3)  # the worker takes its leadership locks
    rss0 = sampler.rss_mb()
    t = time.monotonic()
    pairs = await create_parties(olo, args.calls, args.concurrency)
    setup_parties = time.monotonic() - t
    t = time.monotonic()
    ids = await connect_calls(olo, pairs, args.concurrency)
    setup_calls = time.monotonic() - t
    print(f"{len(ids)} calls connected in {setup_calls:.1f} s", flush=True)
    await asyncio.sleep(args.warmup)
    profiling = bool(args.profile_worker)
    if profiling:
        worker.send_signal(signal.SIGUSR1)
    cpu0, t0 = sampler.cpu(), time.time()
    await asyncio.sleep(args.seconds)
    cpu1, t1 = sampler.cpu(), time.time()
    if profiling:
        worker.send_signal(signal.SIGUSR2)
    rss1 = sampler.rss_mb()
    await asyncio.sleep(args.grace)
    by_call = await charges(olo)
    # From the log, not the calls read model: with the worker saturated its projection can
    # be far behind, and what is measured here is the meter.
    connected = {
        r[0].hex: decode(r[1])["at"]
        for r in await olo.pool.fetch(
            "SELECT originator_id, state FROM eventlog_events WHERE topic = $1", CONNECTED
        )
    }
    lateness, charged = window_stats(by_call, t0, t1)
    missed = missed_by(by_call, connected, schedules, t1, args.grace)
    t = time.monotonic()
    await hang_up_all(olo, pairs, ids, args.concurrency)
    hang_up = time.monotonic() - t
    await caught_up(olo, ("balance", "video.calls"))
    checks = await exactly_once(olo, await charges(olo), schedules)
    worker_cpu = cpu1["worker"] - cpu0["worker"]
    wall = cpu1["wall"] - cpu0["wall"]
    expected = 2 * len(ids) * (t1 - t0) / args.every
    return {
        "calls": len(ids),
        "every_s": args.every,
        "window_s": round(t1 - t0, 1),
        "charges_per_s": round(charged / (t1 - t0)),
        "expected_per_s": round(expected / (t1 - t0)),
        **percentiles([max(0.0, x) for x in lateness]),
        "missed_2s": missed,
        "worker_cpu_pct": round(100 * worker_cpu / wall, 1),
        "postgres_cpu_pct": round(100 * (cpu1["postgres"] - cpu0["postgres"]) / wall, 1),
        "cpu_us_per_charge": round(1e6 * worker_cpu / max(charged, 1)),
        "rss_mb": round(rss1),
        "kb_per_call": round((rss1 - rss0) * 1024 / max(len(ids), 1), 1),
        "setup_parties_s": round(setup_parties, 1),
        "setup_calls_s": round(setup_calls, 1),
        "hang_up_s": round(hang_up, 1),
        **checks,
    }


async def run_and_report(args: argparse.Namespace) -> None:
    row = await run(args)
    target = "20,000 calls, lateness p99 <= 100 ms, 0 missed, 0 double"
    report(f"calls-{args.calls}", [row], {"target": target, "tariff_every_s": args.every})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60, help="measured window")
    parser.add_argument("--every", type=int, default=10, help="tariff interval, seconds")
    parser.add_argument("--warmup", type=float, default=15, help="after all calls connect")
    parser.add_argument("--grace", type=float, default=2.0, help="later than this = missed")
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--profile-worker", help="cProfile the worker into this file")
    parser.add_argument("--as-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.as_worker:
        run_as_worker(args.profile_worker)
    else:
        uvloop.run(run_and_report(args))


if __name__ == "__main__":
    main()
