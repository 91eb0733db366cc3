"""Gallery: (1) the `gallery` query at a steady rate with 10,000 online streamers and 50,000
online users, pages of 30, latency per page over HTTP (and the same page's SQL alone);
(2) `galleryChanges` held open by 1,000 users while 100 streamers/s come online or go
offline, latency from the transition's commit to its receipt on each feed.

    .venv/bin/python -m bench.gallery [--scale 1.0] [--seconds 15] [--clients 2]

`--scale` multiplies the people, the feeds and both rates (check the script at `--scale
0.01`; the numbers are measured at 1). The read models are seeded directly (COPY into
profile_users, video_online, blocklist_blocks, gallery_names: 60,000 registrations through the
log would only measure the log). Processes: the API (uvicorn, no worker, so no sweep takes
the seeded people offline), this one (queries or transitions through a `Presence` of its
own, as another API process would make them), and `--clients` processes holding the feeds.
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
from datetime import UTC, datetime, timedelta
from multiprocessing.synchronize import Event as ProcessEvent
from typing import Any

import httpx
import uvloop
import websockets

from app import Olo, start
from bench.common import fresh_database, percentiles, report, spawn_api, wait_ready
from domains.gallery.search_key import search_key
from domains.profile.aggregate import user_id_of
from domains.profile.auth import mint_emulator_token
from domains.video.presence import Presence
from eventlog.settings import Settings

PORT = 8767
PAGE = (
    "query($after: String) { gallery(first: 30, after: $after) { __typename"
    " ... on GalleryPage { cards { id displayName onlineSince busy priceFirstMinute }"
    " nextCursor } } }"
)
CHANGES = "subscription { galleryChanges { changes { type card { id } } } }"
Receipt = tuple[str, str, float]  # card id, type, time.time() at receipt


def api_app() -> Any:
    from app import create_app

    url = os.environ["OLO_BENCH_GALLERY_DATABASE_URL"]
    return create_app(Settings(mode="development"), url, run_worker=False)


def people(prefix: str, count: int) -> list[str]:
    return [f"{prefix}-{i}" for i in range(count)]


async def seed(olo: Olo, streamers: list[str], users: list[str], togglers: list[str]) -> None:
    """Profiles of everyone, all but the togglers online (since spread over the last hours),
    and a few blocks per user."""
    now = datetime.now(UTC)
    everyone = [(u, "streamer") for u in streamers + togglers] + [(u, "user") for u in users]
    online = [
        (user_id_of(uid), now - timedelta(seconds=random.uniform(60, 4 * 3600)))
        for uid in streamers + users
    ]
    blocks = {
        (user_id_of(u), user_id_of(random.choice(streamers))) for u in users for _ in range(3)
    }
    async with olo.pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO profile_users SELECT u, f, r, json_build_object('display_name', n), "
            "'{}', now(), 1, 0 FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) "
            "AS p(u, f, r, n)",
            [user_id_of(uid) for uid, _ in everyone],
            [uid for uid, _ in everyone],
            [role for _, role in everyone],
            [uid.title() for uid, _ in everyone],
        )
        await conn.copy_records_to_table("video_online", records=online)
        await conn.copy_records_to_table(
            "blocklist_blocks", records=[(a, b, "spam", now, 0) for a, b in blocks]
        )
        await conn.copy_records_to_table(
            "gallery_names",
            records=[(user_id_of(u), role, search_key(u)) for u, role in everyone],
        )
        await conn.execute("ANALYZE")
    await olo.services.tariffs.ensure_seeded()


async def sql_alone(olo: Olo, viewers: list[str], count: int) -> list[float]:
    """The first page of random viewers' feeds, straight from the queries (one at a time)."""
    took = []
    for _ in range(count):
        viewer = user_id_of(random.choice(viewers))
        began = time.perf_counter()
        await olo.services.gallery.feed(viewer, 30, None)
        took.append(time.perf_counter() - began)
    return took


async def queries(viewers: list[str], rate: float, seconds: float) -> tuple[list[float], int]:
    """`rate` gallery pages a second (open loop) for `seconds`: 70% first pages, 30% the
    page after a viewer's last one. Latencies and errors."""
    tokens = {v: mint_emulator_token(v, "demo-olo") for v in viewers}
    cursors: dict[str, str | None] = {}
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{PORT}", limits=limits) as client:

        async def page(viewer: str, after: str | None, measured: bool) -> None:
            nonlocal errors
            began = time.perf_counter()
            body = {"query": PAGE, "variables": {"after": after}}
            headers = {"Authorization": f"Bearer {tokens[viewer]}"}
            try:
                response = await client.post("/graphql", json=body, headers=headers, timeout=30)
                result = response.json()["data"]["gallery"]
                cursors[viewer] = result["nextCursor"]
            except (httpx.HTTPError, KeyError, TypeError, ValueError):
                errors += 1
                return
            if measured:
                latencies.append(time.perf_counter() - began)

        for chunk in range(0, len(viewers), 32):  # warm-up: each viewer registered once
            await asyncio.gather(*(page(v, None, False) for v in viewers[chunk : chunk + 32]))
        inflight: set[asyncio.Task[None]] = set()
        started, sent = time.perf_counter(), 0
        while (elapsed := time.perf_counter() - started) < seconds:
            for _ in range(int(elapsed * rate) - sent):
                viewer = random.choice(viewers)
                after = cursors.get(viewer) if random.random() < 0.3 else None
                task = asyncio.create_task(page(viewer, after, True))
                inflight.add(task)
                task.add_done_callback(inflight.discard)
                sent += 1
            await asyncio.sleep(0.002)
        await asyncio.gather(*inflight)
    return latencies, errors


async def feed(uid: str, received: list[Receipt], ready: asyncio.Event) -> None:
    token = mint_emulator_token(uid, "demo-olo")
    async with websockets.connect(
        f"ws://127.0.0.1:{PORT}/graphql",
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
        max_queue=None,
        ping_interval=None,
        open_timeout=60,
    ) as ws:
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
        await ws.send(json.dumps(init))
        await ws.recv()
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": CHANGES}}))
        ready.set()
        async for raw in ws:
            now = time.time()
            message = json.loads(raw)
            if message.get("type") == "next":
                for change in message["payload"]["data"]["galleryChanges"]["changes"]:
                    received.append((change["card"]["id"], change["type"], now))


async def hold(uids: list[str], ready: Any, stop: ProcessEvent) -> list[Receipt]:
    received: list[Receipt] = []
    events = [asyncio.Event() for _ in uids]
    tasks = []
    for i, (uid, event) in enumerate(zip(uids, events, strict=True)):
        tasks.append(asyncio.create_task(feed(uid, received, event)))
        if i % 25 == 24:
            await asyncio.sleep(0.1)
    await asyncio.wait_for(asyncio.gather(*(e.wait() for e in events)), timeout=600)
    ready.put(len(uids))
    await asyncio.to_thread(stop.wait)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return received


def client_process(uids: list[str], ready: Any, stop: ProcessEvent, results: Any) -> None:
    try:
        results.put(uvloop.run(hold(uids, ready, stop)))
    except BaseException:
        traceback.print_exc()
        raise


async def transitions(
    olo: Olo, togglers: list[str], rate: float, seconds: float
) -> dict[tuple[str, str], list[float]]:
    """Streamers (round robin) come online, next time go offline, `rate` a second, through a
    Presence of this process; each commit time by (card id, type)."""
    presence = Presence(olo.pool, heartbeat_seconds=3600, ttl_seconds=3600)
    committed: dict[tuple[str, str], list[float]] = {}
    connected: set[str] = set()
    turn = 0

    async def toggle(uid: str) -> None:
        user_id = user_id_of(uid)
        if uid in connected:
            connected.discard(uid)
            await presence.disconnected(user_id)
            kind = "offline"
        else:
            connected.add(uid)
            await presence.connected(user_id)
            kind = "online"
        committed.setdefault((str(user_id), kind), []).append(time.time())

    started, sent = time.perf_counter(), 0
    inflight: set[asyncio.Task[None]] = set()
    busy: set[str] = set()
    while (elapsed := time.perf_counter() - started) < seconds:
        for _ in range(int(elapsed * rate) - sent):
            uid = togglers[turn % len(togglers)]
            turn += 1
            sent += 1
            if uid in busy:
                continue
            busy.add(uid)
            task = asyncio.create_task(toggle(uid))
            task.add_done_callback(lambda _, u=uid: busy.discard(u))  # type: ignore[misc]
            inflight.add(task)
            task.add_done_callback(inflight.discard)
        await asyncio.sleep(0.002)
    await asyncio.gather(*inflight)
    return committed


def delivery(
    committed: dict[tuple[str, str], list[float]], received: list[Receipt], feeds: int
) -> tuple[list[float], int]:
    """Receipt minus the latest commit of that (card, type) before it; how many of the
    commits x feeds never arrived."""
    latencies: list[float] = []
    for card, kind, at in received:
        before = [t for t in committed.get((card, kind), []) if t <= at + 0.001]
        if before:
            latencies.append(max(0.0, at - max(before)))
    expected = sum(len(times) for times in committed.values()) * feeds
    return latencies, max(0, expected - len(received))


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=2, help="feed-holding processes")
    args = parser.parse_args()
    n = lambda full: max(2, round(full * args.scale))  # noqa: E731
    streamers, users = people("streamer", n(10_000)), people("user", n(50_000))
    togglers = people("toggler", n(1_000))
    query_rate, change_rate = n(200), n(100)
    url = await fresh_database("olo_bench_gallery")
    env = {**os.environ, "OLO_BENCH_GALLERY_DATABASE_URL": url, "DATABASE_URL": url}
    olo = await start(Settings(mode="development"), url)
    await seed(olo, streamers, users, togglers)
    viewers = random.sample(users, min(len(users), n(1_000))) + streamers[: n(200)]
    api = spawn_api("bench.gallery:api_app", PORT, env)
    spawn = multiprocessing.get_context("spawn")
    ready, results, stop = spawn.Queue(), spawn.Queue(), spawn.Event()
    feeders = random.sample(users, min(len(users), n(1_000)))
    clients = [
        spawn.Process(
            target=client_process, args=(feeders[i :: args.clients], ready, stop, results)
        )
        for i in range(args.clients)
    ]
    received: list[Receipt] = []
    try:
        await wait_ready(f"http://127.0.0.1:{PORT}")
        sql = await sql_alone(olo, viewers, 200)
        print(f"queries: {query_rate}/s for {args.seconds} s", flush=True)
        latencies, errors = await queries(viewers, query_rate, args.seconds)
        for client in clients:
            client.start()
        for _ in clients:
            await asyncio.to_thread(ready.get, timeout=600)
        print(f"{len(feeders)} feeds open; {change_rate} transitions/s", flush=True)
        committed = await transitions(olo, togglers, change_rate, args.seconds)
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
        api.wait(10)
        await olo.close()
    delivered, missing = delivery(committed, received, len(feeders))
    transitions_made = sum(len(t) for t in committed.values())
    report(
        "gallery",
        [
            {
                "part": "gallery page of 30 (HTTP)",
                "size": f"{len(streamers)} streamers, {len(users)} users online",
                "rate_per_s": query_rate,
                "pages": len(latencies),
                "errors": errors,
                **percentiles(latencies),
            },
            {
                "part": "gallery page of 30 (queries alone, serial)",
                "size": f"{len(streamers)} streamers, {len(users)} users online",
                "pages": len(sql),
                **percentiles(sql),
            },
            {
                "part": "galleryChanges",
                "size": f"{len(feeders)} feeds",
                "rate_per_s": change_rate,
                "pages": transitions_made,
                "errors": missing,
                **percentiles(delivered),
            },
        ],
        {"target": "page p99 <= 20 ms at 200/s; changes p99 <= 100 ms (1,000 feeds, 100/s)"},
    )


if __name__ == "__main__":
    uvloop.run(main())
