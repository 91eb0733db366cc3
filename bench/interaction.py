"""Interaction replay: rebuild the per-pair read model from a log of messages, gifts and calls.

    .venv/bin/python -m bench.interaction [--scale 1.0] [--page-size 2000]

`--scale 1` writes ~500,000 events among 20,000 users and 2,000 streamers (`--scale 0.01`:
a smoke run). The log is written directly in large batches through the real aggregates and
mapper (the group-commit path is skipped to save time), then `rebuild()` runs as `olo replay
interaction` does, and the pairs are checked against what was written.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from typing import Any
from uuid import UUID, uuid4

from app import start
from bench.common import fresh_database, report
from domains.billing.aggregate import SEED_CALLER, SEED_STREAMER, CallKind
from domains.chat.aggregate import Message, chat_id_of
from domains.gift.aggregate import GiftSend
from domains.video.aggregate import Call, EndReason, Side
from eventlog.database import INSERT_FUNCTION
from eventlog.projection import ProjectionRunner, rebuild
from eventlog.settings import Settings

T0 = 1_800_000_000.0


class Log:
    """Events of made-up aggregates, written in batches straight into the log."""

    def __init__(self, olo: Any) -> None:
        self.olo = olo
        self.pending: list[Any] = []
        self.written = 0

    def add(self, aggregate: Any) -> None:
        self.pending += aggregate.collect_events()

    async def flush(self) -> None:
        mapper = self.olo.event_log.mapper
        stored = [mapper.to_stored_event(e) for e in self.pending]
        if stored:
            await self.olo.pool.fetch(
                f"SELECT {INSERT_FUNCTION}($1, $2, $3, $4)",
                [s.originator_id for s in stored],
                [s.originator_version for s in stored],
                [s.topic for s in stored],
                [s.state for s in stored],
            )
        self.written += len(stored)
        self.pending = []


def call(caller: UUID, streamer: UUID, at: float, seconds: int, kind: CallKind) -> Call:
    """A call that connects and ends after `seconds`, billed on the seed tariff."""
    c = Call(kind=kind, caller_id=caller, callee_id=streamer, at=at, ring_deadline=at + 30)
    c.accept(at + 1, 1, SEED_CALLER, SEED_STREAMER, at + 21)
    c.record_charge(Side.CALLER, 0, 9, at + 1, at + 1)
    c.media_joined(Side.CALLER, at + 2)
    c.media_joined(Side.STREAMER, at + 2)
    for side, schedule in ((Side.CALLER, SEED_CALLER), (Side.STREAMER, SEED_STREAMER)):
        for checkpoint in schedule.due(seconds):
            if checkpoint.index >= c.paid[side]:
                due = at + 2 + checkpoint.at_second
                c.record_charge(side, checkpoint.index, checkpoint.coins, due, due)
    c.end(EndReason.HANGUP_CALLER, at + 2 + seconds, billed_seconds=seconds)
    return c


async def write_log(olo: Any, events: int, users: int, streamers: int) -> tuple[int, int]:
    """About `events` events; the number written and of messages among them."""
    rng = random.Random(11)
    people = [uuid4() for _ in range(users)]
    stars = [uuid4() for _ in range(streamers)]
    log = Log(olo)
    at, messages = T0, 0
    while log.written < events:
        for _ in range(500):
            at += 1.0
            user, star = rng.choice(people), rng.choice(stars)
            roll = rng.random()
            if roll < 0.8:  # a message, either way
                sender, recipient = (user, star) if rng.random() < 0.6 else (star, user)
                m = Message(
                    chat_id_of(sender, recipient), sender, recipient, str(uuid4()), "hi", at
                )
                log.add(m)
                messages += 1
            elif roll < 0.9:
                g = GiftSend(str(uuid4()), user, star, uuid4(), "Rose", "", 10, 5, None, 0, at)
                log.add(g)
            else:
                kind = CallKind.ROULETTE if rng.random() < 0.3 else CallKind.DIRECT
                log.add(call(user, star, at, rng.randint(5, 200), kind))
        await log.flush()
    return log.written, messages


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--page-size", type=int, default=2000)
    args = parser.parse_args()
    url = await fresh_database("olo_bench_interaction")
    olo = await start(Settings(mode="development", projection_page_size=args.page_size), url)
    t0 = time.perf_counter()
    written, messages = await write_log(
        olo,
        int(500_000 * args.scale),
        max(10, int(20_000 * args.scale)),
        max(2, int(2_000 * args.scale)),
    )
    print(f"wrote {written} events in {time.perf_counter() - t0:.1f} s")
    runner = next(
        r
        for r in olo.runners
        if isinstance(r, ProjectionRunner) and r.projection.name == "interaction"
    )
    t0 = time.perf_counter()
    await rebuild(runner, olo.pool)
    elapsed = time.perf_counter() - t0
    row = await olo.pool.fetchrow(
        "SELECT count(*) AS pairs, coalesce(sum(messages_a + messages_b), 0) AS messages,"
        " (SELECT count(*) FROM interaction_calls) AS open_calls FROM interaction_pairs"
    )
    await olo.close()
    assert row is not None and row["messages"] == messages and row["open_calls"] == 0, row
    report(
        "interaction",
        [
            {
                "events": written,
                "page_size": args.page_size,
                "seconds": round(elapsed, 1),
                "events_per_s": round(written / elapsed),
                "pairs": row["pairs"],
            }
        ],
        {"target": "none set (issue 11 names no number); compare replay's >= 20,000 events/s"},
    )


if __name__ == "__main__":
    asyncio.run(main())
