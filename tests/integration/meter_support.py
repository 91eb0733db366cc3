"""What the call meter's fault tests share: `olo worker` processes that can be killed, calls
connected on a compressed tariff, and the check of every charge against the raw log."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
from eventsourcing.persistence import Mapper, StoredEvent
from ledger_support import CREDITED, DEBITED, TRANSFER_MADE, earnings_id, replay_ledger, wallet_id

from app import Olo
from domains.balance.aggregate import PlatformAccount
from domains.billing.aggregate import CallKind, Schedule
from domains.profile.aggregate import Role
from domains.video.aggregate import Call, CallStateError, CallStatus, EndReason, Side
from domains.video.settlement import charge_key
from eventlog.leadership import lock_key

ROOT = Path(__file__).resolve().parents[2]
CHARGED = "olo.video:Call.Charged"
SHARDS = 4
POLL = 0.2
POOL_MAX = 4
# A coin a second each side, so a few seconds of outage leave several checkpoints overdue.
CALLER = Schedule(((0, 1), (1, 1)), 1, 1)
STREAMER = Schedule(((1, 1),), 1, 1)
RICH, POOR = 500, 5  # a poor caller cannot pay the 5th second: ended by the meter


@dataclass(frozen=True)
class Pair:
    call_id: UUID
    caller_id: UUID
    callee_id: UUID
    grant: int


class Worker:
    """One `olo worker` process; its log tells which jobs it took the lead of."""

    def __init__(
        self, name: str, database_url: str, log_dir: Path, env: dict[str, str] | None = None
    ) -> None:
        self.name = name
        self.log = log_dir / f"{name}.log"
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "OLO_MODE": "development",  # as the tests' settings fixture
            "OLO_MEDIA_EVENTS": "clients",
            "OLO_LEADERSHIP_POLL_SECONDS": str(POLL),
            "OLO_METER_SHARDS": str(SHARDS),
            # The test server is shared: a worker needs only a few connections here.
            "OLO_DB_POOL_MIN": "1",
            "OLO_DB_POOL_MAX": str(POOL_MAX),
            **(env or {}),
        }
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "cli", "worker"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def led_shards(self) -> list[int]:
        """Every meter shard this process ever logged taking the lead of, in order."""
        marker = "eventlog.leadership: leading video.meter."
        lines = self.log.read_text(errors="replace").splitlines()
        return [int(line.rsplit(".", 1)[1]) for line in lines if marker in line]

    def kill(self) -> None:
        """kill -9: no clean-up runs, PostgreSQL sees the sessions drop."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop_and_report(self, failed: bool) -> None:
        """Kill it and print its log's end; after a failure, first have it log where each
        of its tasks waits (SIGUSR1), and print more of the log."""
        if failed and self.process.poll() is None:
            self.process.send_signal(signal.SIGUSR1)
            time.sleep(1.0)
        self.kill()
        print(self.tail(400 if failed else 40))

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"--- {self.name} ---\n" + "\n".join(text.splitlines()[-lines:])


async def wait_until(
    condition: Callable[[], Awaitable[bool]], what: str, seconds: float = 20
) -> None:
    deadline = time.monotonic() + seconds
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        await asyncio.sleep(0.05)


async def meter_holders(pg: asyncpg.Connection) -> dict[int, list[int]]:
    """Per meter shard, the backends of this database holding its advisory lock."""
    rows = await pg.fetch(
        "SELECT classid::bigint AS hi, objid::bigint AS lo, pid FROM pg_locks "
        "WHERE locktype = 'advisory' AND objsubid = 1 AND granted "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    shards = {lock_key(f"video.meter.{k}"): k for k in range(SHARDS)}
    held: dict[int, list[int]] = {k: [] for k in range(SHARDS)}
    for row in rows:
        key = (row["hi"] << 32) | row["lo"]  # a bigint key is shown as two 32-bit halves
        key = key - 2**64 if key >= 2**63 else key
        if key in shards:
            held[shards[key]].append(row["pid"])
    return held


async def all_shards_led(pg: asyncpg.Connection, *, not_by: frozenset[int] = frozenset()) -> bool:
    """Every meter shard is led by exactly one backend, none of them in `not_by`."""
    held = await meter_holders(pg)
    return all(len(pids) == 1 and pids[0] not in not_by for pids in held.values())


async def connect_calls(olo: Olo, count: int) -> list[Pair]:
    """`count` direct calls, connected now on the compressed tariff; every 4th caller poor."""
    await olo.services.tariffs.revise(CallKind.DIRECT, CALLER, STREAMER)
    return list(
        await asyncio.gather(
            *(connect_call(olo, f"p{i}", POOR if i % 4 == 3 else RICH) for i in range(count))
        )
    )


async def connect_call(olo: Olo, name: str, grant: int) -> Pair:
    profiles = olo.services.profiles
    caller = await profiles.register(f"{name}-caller")
    callee = await profiles.register(f"{name}-streamer")
    await profiles.set_role(callee, Role.STREAMER)
    await olo.services.balance.grant(caller, grant, key=f"grant/{name}")
    await olo.services.presence.connected(callee)
    calls = olo.services.calls
    call = await calls.request_call(caller, callee)
    await calls.accept_call(callee, call.id)
    await calls.report_media(call.id, Side.CALLER, joined=True)
    joined = await calls.report_media(call.id, Side.STREAMER, joined=True)
    assert joined.status is CallStatus.CONNECTED
    return Pair(call.id, caller, callee, grant)


async def fresh_calls(olo: Olo, pairs: list[Pair]) -> list[Call]:
    loaded = [await olo.store.load(p.call_id, fresh=True) for p in pairs]
    assert all(isinstance(c, Call) for c in loaded)
    return [c for c in loaded if isinstance(c, Call)]


async def assert_billed_until(olo: Olo, pairs: list[Pair], until: float) -> None:
    """The meter has charged, on both sides, every checkpoint due by `until`."""
    for call in await fresh_calls(olo, pairs):
        if call.status is CallStatus.ENDED:
            assert call.end_reason is EndReason.INSUFFICIENT_FUNDS, call.end_reason
            continue
        assert call.status is CallStatus.CONNECTED and call.connected_at is not None
        for side in Side:
            owed = len(call.schedules[side].due(until - call.connected_at))
            assert call.paid[side] >= owed, (call.id, side, call.paid[side], owed)


async def hang_up_all(olo: Olo, pairs: list[Pair]) -> None:
    """Callers hang up; a call the meter ended for lack of coins stays as it was."""
    calls = olo.services.calls
    for pair in pairs:
        try:
            await calls.hang_up(pair.caller_id, pair.call_id)
        except CallStateError:
            (call,) = await fresh_calls(olo, [pair])
            assert call.end_reason is EndReason.INSUFFICIENT_FUNDS, call.end_reason


async def decoded(pg: asyncpg.Connection, mapper: Mapper[Any], topics: list[str]) -> list[Any]:
    rows = await pg.fetch(
        "SELECT originator_id, originator_version, topic, state FROM eventlog_events "
        "WHERE topic = ANY($1::text[]) ORDER BY notification_id",
        topics,
    )
    return [mapper.to_domain_event(StoredEvent(*row)) for row in rows]


async def charges_of(
    pg: asyncpg.Connection, mapper: Mapper[Any]
) -> dict[UUID, dict[Side, list[Any]]]:
    """Call.Charged events per call and side, in log order."""
    charges: dict[UUID, dict[Side, list[Any]]] = defaultdict(lambda: {s: [] for s in Side})
    for event in await decoded(pg, mapper, [CHARGED]):
        charges[event.originator_id][Side(event.side)].append(event)
    return charges


async def assert_charged_exactly_once(olo: Olo, pg: asyncpg.Connection, pairs: list[Pair]) -> None:
    """Every ended call owes what the pure function says, each checkpoint charged once, each
    through its own transfer; the ledger balances and no wallet ever went below zero."""
    mapper = olo.event_log.mapper
    charges = await charges_of(pg, mapper)
    transfers = {t.key: t for t in await decoded(pg, mapper, [TRANSFER_MADE])}
    for call in await fresh_calls(olo, pairs):
        assert call.status is CallStatus.ENDED and call.billed_seconds is not None
        for side in Side:
            events = charges[call.id][side]
            owed = call.schedules[side].due(call.billed_seconds)
            assert [e.index for e in events] == [c.index for c in owed], (call.id, side)
            assert sum(e.coins for e in events) == call.coins[side]
            assert call.coins[side] == call.schedules[side].total(call.billed_seconds)
            for event in events:
                assert event.at >= event.due_at - 1e-6, ("charged before due", event)
                assert transfers[charge_key(call.id, side, event.index)].amount == event.coins
    charge_keys = {
        charge_key(cid, side, e.index)
        for cid, by in charges.items()
        for side in Side
        for e in by[side]
    }
    assert {k for k in transfers if k.startswith("call/")} == charge_keys  # no stray movement
    await assert_ledger(olo, pg, pairs)


async def assert_ledger(olo: Olo, pg: asyncpg.Connection, pairs: list[Pair]) -> None:
    """The log's ledger: balanced, never negative, no account moved twice by one transfer;
    and the read model agrees once the worker has projected everything."""
    mapper = olo.event_log.mapper
    replay = await replay_ledger(pg, mapper)
    assert replay.breaks == []
    assert replay.lowest >= 0
    assert sum(replay.ledger.values()) == 0
    moves = Counter(
        (e.originator_id, e.transfer_id) for e in await decoded(pg, mapper, [DEBITED, CREDITED])
    )
    assert [m for m, n in moves.items() if n > 1] == []
    calls = {c.id: c for c in await fresh_calls(olo, pairs)}
    expected = {}
    for pair in pairs:
        call = calls[pair.call_id]
        expected[wallet_id(pair.caller_id)] = pair.grant - call.coins[Side.CALLER]
        expected[earnings_id(pair.callee_id)] = call.coins[Side.STREAMER]
    assert {a: replay.coins.get(a, 0) for a in expected} == expected
    revenue = PlatformAccount.REVENUE.account_id
    assert replay.ledger[revenue] == sum(
        c.coins[Side.CALLER] - c.coins[Side.STREAMER] for c in calls.values()
    )
    await wait_until(lambda: projected(olo, pairs, expected), "the balances are projected")


async def projected(olo: Olo, pairs: list[Pair], expected: dict[UUID, int]) -> bool:
    queries = olo.services.balance_queries
    if await queries.ledger_total() != 0:
        return False
    rows = await olo.pool.fetch(
        "SELECT account_id, coins FROM balance_accounts WHERE account_id = ANY($1::uuid[])",
        list(expected),
    )
    coins = {r["account_id"]: r["coins"] for r in rows}
    return {a: coins.get(a, 0) for a in expected} == expected
