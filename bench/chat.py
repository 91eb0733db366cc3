"""Chat: send-to-receive latency over websockets. N users hold a `chatMessages` subscription
on ONE API process; messages are sent with `sendMessage` over HTTP at a target rate between
random pairs; the latency is from the moment the request is sent to the moment the peer's
websocket delivers the message (through the log, the chat projection in `olo worker`, NOTIFY
and the hub).

    .venv/bin/python -m bench.chat [--users 2000] [--rate 1000] [--seconds 20]

Target: p99 <= 50 ms at 1,000 messages/s among 2,000 connected users. Check it at a small
scale only (`--users 20 --rate 20 --seconds 3`); the integrator measures on a quiet machine.
Prints a table and writes bench/results/chat.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import string
import time
from typing import Any

import httpx
import uvloop
import websockets

from app import start
from bench.common import fresh_database, percentiles, report, spawn_api, spawn_worker, wait_ready
from domains.profile.auth import mint_emulator_token
from eventlog.settings import Settings

PORT = 8767
BASE = f"http://127.0.0.1:{PORT}"
SUBSCRIPTION = "subscription { chatMessages { type item { text } } }"
SEND = (
    "mutation($to: String!, $text: String!, $cid: String!) {"
    " sendMessage(toUserId: $to, text: $text, clientMessageId: $cid) { __typename } }"
)
TARGET_P99_MS = 50.0


def api_app() -> Any:
    from app import create_app

    url = os.environ["OLO_BENCH_CHAT_DATABASE_URL"]
    return create_app(Settings(mode="development"), url, run_worker=False)


def label(n: int) -> str:
    """A message's text: letters only, so contact masking leaves it as it is."""
    letters = string.ascii_lowercase
    out = ""
    while True:
        n, digit = divmod(n, 26)
        out = letters[digit] + out
        if n == 0:
            return "bench " + out


async def listen(token: str, received: dict[str, float], ready: asyncio.Event) -> None:
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
        subscribe = {"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}}
        await ws.send(json.dumps(subscribe))
        ready.set()
        async for raw in ws:
            now = time.perf_counter()
            message = json.loads(raw)
            if message.get("type") != "next":
                continue
            item = message["payload"]["data"]["chatMessages"]
            if item["type"] == "message" and item["item"]:
                received.setdefault(item["item"]["text"], now)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--rate", type=int, default=1000, help="messages per second")
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    url = await fresh_database("olo_bench_chat")
    env = {
        **os.environ,
        "OLO_BENCH_CHAT_DATABASE_URL": url,
        "DATABASE_URL": url,
        "OLO_RATE_LIMITS": json.dumps({"sendMessage": "1000000/minute"}),
    }
    olo = await start(Settings(mode="development"), url)
    uids = [f"chat-{i}" for i in range(args.users)]
    ids: dict[str, str] = {}
    for chunk in range(0, len(uids), 200):
        part = uids[chunk : chunk + 200]
        registered = await asyncio.gather(*(olo.services.profiles.register(u) for u in part))
        ids.update({u: str(i) for u, i in zip(part, registered, strict=True)})
    await olo.close()
    tokens = {uid: mint_emulator_token(uid, "demo-olo") for uid in uids}
    api, worker = spawn_api("bench.chat:api_app", PORT, env), spawn_worker(env)
    received: dict[str, float] = {}
    sent_at: dict[str, float] = {}
    answered: list[float] = []  # sendMessage's own round trip (the rest is log -> socket)
    listeners: list[asyncio.Task[None]] = []
    failures = 0
    try:
        await wait_ready(BASE)
        readiness = []
        for i, uid in enumerate(uids):
            readiness.append(asyncio.Event())
            listeners.append(asyncio.create_task(listen(tokens[uid], received, readiness[-1])))
            if i % 25 == 24:
                await asyncio.sleep(0.1)
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readiness)), timeout=600)
        await asyncio.sleep(1.0)  # the last subscriptions reach the hub
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(base_url=BASE, limits=limits, timeout=30) as client:

            async def send(n: int) -> None:
                nonlocal failures
                sender, peer = random.sample(uids, 2)
                text = label(n)
                variables = {"to": ids[peer], "text": text, "cid": f"b{n}"}
                headers = {"Authorization": f"Bearer {tokens[sender]}"}
                sent_at[text] = time.perf_counter()
                body = {"query": SEND, "variables": variables}
                response = await client.post("/graphql", json=body, headers=headers)
                answered.append(time.perf_counter() - sent_at[text])
                result = response.json().get("data") or {}
                if (result.get("sendMessage") or {}).get("__typename") != "MessageSent":
                    failures += 1
                    if failures == 1:
                        print("sendMessage failed:", response.text[:300], flush=True)

            tasks: set[asyncio.Task[None]] = set()
            began = time.perf_counter()
            n = 0
            while (elapsed := time.perf_counter() - began) < args.seconds:
                while n < elapsed * args.rate:
                    task = asyncio.create_task(send(n))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                    n += 1
                await asyncio.sleep(0.002)
            await asyncio.gather(*tasks)
            achieved = n / (time.perf_counter() - began)
        for _ in range(100):  # up to 10 s for the last messages to arrive
            if len(received) >= len(sent_at) - failures:
                break
            await asyncio.sleep(0.1)
    finally:
        for task in listeners:
            task.cancel()
        await asyncio.gather(*listeners, return_exceptions=True)
        for process in (api, worker):
            process.terminate()
            process.wait(timeout=30)
    latencies = [received[t] - at for t, at in sent_at.items() if t in received]
    summary = percentiles(latencies)
    row = {
        "users": args.users,
        "rate_target": args.rate,
        "rate_sent": round(achieved),
        "sent": len(sent_at),
        "failed": failures,
        "received": len(latencies),
        **summary,
    }
    mutation = {f"send_{k}": v for k, v in percentiles(answered).items() if k != "max_ms"}
    row.update(mutation)
    report("chat", [row], {"target_p99_ms": TARGET_P99_MS, "met": summary["p99_ms"] <= 50})


if __name__ == "__main__":
    uvloop.run(main())
