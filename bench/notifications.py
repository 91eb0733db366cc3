"""The push dispatcher (issue 4) against loopback fakes of FCM and OneSignal (tests/fakes),
served in their OWN process, which stamps each accepted push with its request's arrival time
(time.time(), the clock of the log's `at`). ONE `olo worker` runs the policies and the
dispatcher; this process writes through `app.start(...)`. See bench/README.md.

    python -m bench.notifications [--calls 1000] [--notifications 20000]
                                  [--provider fcm|onesignal|both] [--profile DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import psutil
import uvloop

from app import Olo, start
from bench.calls import bounded, caught_up
from bench.common import fresh_database, percentiles, report, spawn_worker
from domains.notification.aggregate import NotificationKind
from domains.profile.aggregate import Role
from eventlog.settings import Settings

LONG = 3600.0  # ring and media deadlines: no call is missed (a missed call pushes too)
APP_ID, API_KEY = "olo-test-app", "olo-test-key"
SETUP = 256  # set-up commands in flight
ASKED, STARTED, PUSHED = (
    f"olo.notification:Notification.{e}" for e in ("Requested", "PushStarted", "Pushed")
)
ARRIVED: contextvars.ContextVar[float] = contextvars.ContextVar("arrived", default=0.0)
Arrival = tuple[float, str, str, str]  # (time, provider, notification_id, call_id)
SPLITS = (("all", ("fcm", "onesignal")), ("fcm", ("fcm",)), ("onesignal", ("onesignal",)))


def run_as_fake(port: int) -> None:
    """The fake providers' process: FakeFcm's and FakeOneSignal's routes on one port."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    import uvicorn
    from fakes.fcm import FakeFcm
    from fakes.onesignal import FakeOneSignal
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse

    arrivals: list[Arrival] = []
    distinct: set[str] = set()

    class Stamped(list[dict[str, Any]]):
        """In place of a fake's list of accepted pushes: when each one arrived."""

        def __init__(self, provider: str) -> None:
            super().__init__()
            self.provider = provider

        def append(self, push: dict[str, Any], /) -> None:
            data = push.get("data") or {}
            nid = data.get("notification_id", "")
            arrivals.append((ARRIVED.get(), self.provider, nid, data.get("call_id", "")))
            distinct.add(nid)

    fcm, onesignal = FakeFcm(), FakeOneSignal(APP_ID, API_KEY)
    fcm.base_url = f"http://127.0.0.1:{port}"  # the token endpoint in its service account
    fcm.messages, onesignal.notifications = Stamped("fcm"), Stamped("onesignal")
    app = FastAPI()
    app.router.routes.extend([*fcm.app.router.routes, *onesignal.app.router.routes])
    app.get("/bench/service-account")(fcm.service_account)
    app.get("/bench/count")(lambda: len(distinct))  # notifications pushed, once or more
    app.get("/bench/arrivals")(lambda: JSONResponse(arrivals))

    @app.post("/bench/reset")
    def reset() -> None:
        arrivals.clear()
        distinct.clear()

    async def stamping(scope: Any, receive: Any, send: Any) -> None:
        ARRIVED.set(time.time())  # uvicorn runs each request in a task made on its arrival
        await app(scope, receive, send)

    uvicorn.run(
        stamping, host="127.0.0.1", port=port, loop="uvloop", http="httptools",
        log_level="warning", access_log=False, lifespan="off",
    )  # fmt: skip


class Fake:
    """The fake providers' process, seen from the bench."""

    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        self.base = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen([sys.executable, "-m", __spec__.name, "--fake", str(port)])
        self.client = httpx.AsyncClient(base_url=self.base, timeout=60)

    async def service_account(self) -> str:
        for _ in range(300):
            try:
                return (await self.client.get("/bench/service-account")).text
            except httpx.TransportError:
                await asyncio.sleep(0.1)
        raise TimeoutError("the fake providers did not start")

    async def count(self) -> int:
        return int((await self.client.get("/bench/count")).json())

    async def arrivals(self) -> list[Arrival]:
        return [tuple(a) for a in (await self.client.get("/bench/arrivals")).json()]


async def begin(fake: Fake, account: Path, provider: str) -> tuple[Olo, dict[str, str]]:
    """A fresh database, olo in this process, and the worker's environment."""
    url = await fresh_database("olo_bench_notifications")
    olo = await start(
        Settings(mode="development", ring_seconds=LONG, media_seconds=LONG, media_events="clients"),
        url,
    )
    await olo.services.tariffs.ensure_seeded()
    await fake.client.post("/bench/reset")
    env = {"DATABASE_URL": url, "OLO_RING_SECONDS": str(LONG), "OLO_MEDIA_SECONDS": str(LONG)}
    env |= {"OLO_MODE": "development"}
    env |= {"OLO_MEDIA_EVENTS": "clients", "OLO_FIREBASE_CREDENTIALS_FILE": str(account)}
    env |= {"OLO_FCM_API_URL": fake.base, "OLO_ONESIGNAL_API_ROOT": fake.base}
    env |= {"OLO_ONESIGNAL_APP_ID": APP_ID, "OLO_ONESIGNAL_API_KEY": API_KEY}
    return olo, {**os.environ, **env, "OLO_PUSH_PROVIDER": provider}


def spy_on(pid: int, out: Path) -> subprocess.Popen[bytes]:
    """py-spy on a process until SIGINT: the thread holding the GIL, i.e. the Python CPU."""
    command = [
        "record",
        "--gil",
        "--nonblocking",
        "-r",
        "100",
        "-f",
        "speedscope",
        "-o",
        str(out),
        "-p",
        str(pid),
    ]
    spy = Path(sys.executable).parent / "py-spy"
    return subprocess.Popen([str(spy), *command], stdout=subprocess.DEVNULL)


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    process.send_signal(sig)
    process.wait(timeout=60)


def cpu(processes: dict[str, psutil.Process]) -> dict[str, float]:
    """CPU seconds of each process and of PostgreSQL's (all of them), and the wall clock."""
    seconds = {name: sum(p.cpu_times()[:2]) for name, p in processes.items()}
    seconds["postgres"] = sum(
        sum(p.info["cpu_times"][:2])
        for p in psutil.process_iter(["name", "cpu_times"])
        if (p.info["name"] or "").startswith("postgres") and p.info["cpu_times"]
    )
    return {**seconds, "wall": time.time()}


async def drain(
    fake: Fake, n: int, processes: dict[str, psutil.Process]
) -> tuple[list[Arrival], dict[str, int]]:
    """Wait (bounded) for n notifications pushed and 1 s more for strays; each process's CPU%
    from the last sample before the first push to the one after the last."""
    samples: list[tuple[int, dict[str, float]]] = []
    deadline = time.monotonic() + 60 + n / 20
    while time.monotonic() < deadline:
        samples.append((await fake.count(), cpu(processes)))
        if samples[-1][0] >= n:
            break
        await asyncio.sleep(0.5)
    await asyncio.sleep(1.0)
    first = next((i for i, (count, _) in enumerate(samples) if count), len(samples) - 1)
    a, b = samples[max(0, first - 1)][1], samples[-1][1]
    wall = max(b["wall"] - a["wall"], 1e-9)
    usage = {f"{k}_cpu_pct": round(100 * (b[k] - a[k]) / wall) for k in a if k != "wall"}
    return await fake.arrivals(), usage


def once(arrivals: list[Arrival]) -> dict[str, int]:
    seen = Counter(a[2] for a in arrivals)
    return {"arrived": len(seen), "duplicates": sum(c - 1 for c in seen.values())}


async def pushed_once(olo: Olo) -> dict[str, int]:
    """Statuses in the read model; claims and Pushed events in the log, and any beyond one."""
    await caught_up(olo, ("notification.items",))
    query = "SELECT status, count(*) FROM notification_items GROUP BY 1"
    statuses: dict[str, int] = dict(await olo.pool.fetch(query))  # type: ignore[arg-type]
    events = await olo.pool.fetch(
        "SELECT topic, count(*), count(DISTINCT originator_id) FROM eventlog_events "
        "WHERE topic = ANY($1) GROUP BY 1",
        [PUSHED, STARTED],
    )
    counts = {r[0]: (r[1], r[2]) for r in events}
    return {
        "status_pushed": statuses.pop("pushed", 0),
        "status_other": sum(statuses.values()),
        "pushed_events": counts.get(PUSHED, (0, 0))[0],
        "claims": counts.get(STARTED, (0, 0))[0],
        "extra_claims_or_pushed": sum(n - ids for n, ids in counts.values()),
    }


async def stages(olo: Olo, at: dict[str, float], arrivals: list[Arrival]) -> dict[str, float]:
    """Where a ring's time goes: Call.Requested -> Notification.Requested (the policy) ->
    PushStarted (the dispatcher's claim) -> arrival at the provider."""
    rows = await olo.pool.fetch(
        "SELECT originator_id, topic, state FROM eventlog_events WHERE topic = ANY($1)",
        [ASKED, STARTED],
    )
    asked: dict[str, tuple[str, float]] = {}
    started: dict[str, float] = {}
    for nid, topic, state in rows:
        event = json.loads(state)
        if topic == ASKED:
            asked[str(nid)] = (event["payload"]["callId"], event["at"])
        else:
            started[str(nid)] = event["at"]
    spans: dict[str, list[float]] = {"policy": [], "claim": [], "send": []}
    for when, _, nid, _ in arrivals:
        call_id, requested = asked[nid]
        spans["policy"].append(requested - at[call_id])
        spans["claim"].append(started[nid] - requested)
        spans["send"].append(when - started[nid])
    stats = {span: percentiles(v) for span, v in spans.items()}
    return {f"{span}_{q}_ms": stats[span][f"{q}_ms"] for span in spans for q in ("p50", "p99")}


async def ring_latency(
    fake: Fake, account: Path, n: int, profile: Path | None = None
) -> list[dict[str, Any]]:
    olo, env = await begin(fake, account, "fcm")
    profiles, calls = olo.services.profiles, olo.services.calls

    async def pair(i: int) -> tuple[UUID, UUID]:
        caller = await profiles.register(f"bench-caller-{i}")
        streamer = await profiles.register(f"bench-streamer-{i}")
        await profiles.set_role(streamer, Role.STREAMER)
        await olo.services.balance.grant(caller, 1000, key=f"bench/{caller}")
        ios = {"onesignal_id": f"os-{i}", "voip_token": f"voip-{i}"}
        device = ios if i % 2 else {"fcm_token": f"fcm-{i}"}
        await profiles.register_device(streamer, platform="ios" if i % 2 else "android", **device)
        return caller, streamer

    async def ring(parties: tuple[UUID, UUID]) -> tuple[str, float]:
        call = await calls.request_call(*parties)
        return str(call.id), call.requested_at  # the Call.Requested event's `at`

    worker = spawn_worker(env)
    try:
        pairs = await bounded(list(range(n)), pair, SETUP)
        await caught_up(olo, ("profile",))  # a device is what makes an offline streamer reachable
        spy = spy_on(worker.pid, profile / "worker-ringing.speedscope.json") if profile else None
        t = time.monotonic()
        rung = await asyncio.gather(*(ring(p) for p in pairs))
        requesting = time.monotonic() - t
        arrivals, usage = await drain(fake, n, {"worker": psutil.Process(worker.pid)})
        if spy is not None:
            stop(spy, signal.SIGINT)
        checks = await pushed_once(olo)
        split = await stages(olo, dict(rung), arrivals)
    finally:
        stop(worker)
        await olo.close()
    requested = dict(rung)
    rows: list[dict[str, Any]] = []
    for name, kinds in SPLITS:  # even calls ring an Android FCM token, odd ones iOS VoIP
        got = [a for a in arrivals if a[1] in kinds and a[3] in requested]
        rows.append({"pushes": name, "calls": {"all": n, "fcm": (n + 1) // 2}.get(name, n // 2)})
        rows[-1] |= once(got) | percentiles([a[0] - requested[a[3]] for a in got])
    rows[0] |= {"request_all_s": round(requesting, 2), **usage, **split, **checks}
    return rows


async def throughput(
    fake: Fake, account: Path, n: int, provider: str, profile: Path | None, workers: int
) -> dict[str, Any]:
    olo, env = await begin(fake, account, provider)
    profiles, notifications = olo.services.profiles, olo.services.notifications
    address = "fcm_token" if provider == "fcm" else "onesignal_id"

    async def user(i: int) -> UUID:
        user_id = await profiles.register(f"bench-user-{i}")
        await profiles.register_device(user_id, platform="android", **{address: f"{provider}-{i}"})
        return user_id

    async def notify(pair: tuple[int, UUID]) -> None:
        i, user_id = pair
        kind = NotificationKind.LOW_BALANCE
        await notifications.notify(user_id, kind, {"coins": i % 60}, key=f"bench/{i}")

    worker = spawn_worker(env)  # projects the devices
    try:
        users = await bounded(list(range(n)), user, SETUP)
        await caught_up(olo, ("profile",))
    finally:
        stop(worker)
    t = time.monotonic()
    await bounded(list(enumerate(users)), notify, SETUP)  # with no worker running
    written, spawned = time.monotonic() - t, time.time()
    # the dispatcher's shards are shared out among the workers (each leads its share)
    pushers = [spawn_worker(env) for _ in range(workers)]
    worker = pushers[0]
    spy = spy_on(worker.pid, profile / f"worker-{provider}.speedscope.json") if profile else None
    try:
        processes = {f"worker{k}": psutil.Process(w.pid) for k, w in enumerate(pushers)}
        processes["fake"] = psutil.Process(fake.process.pid)
        arrivals, usage = await drain(fake, n, processes)
        if spy is not None:
            stop(spy, signal.SIGINT)
        checks = await pushed_once(olo)
    finally:
        for w in pushers:
            stop(w)
        await olo.close()
    times = sorted(a[0] for a in arrivals)
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    return {
        "provider": provider,
        "notifications": n,
        "workers": workers,
        "concurrency": int(env.get("OLO_PUSH_CONCURRENCY", "100")),
        "write_s": round(written, 1),
        "first_push_s": round(times[0] - spawned, 1) if times else None,
        "drain_s": round(span, 1),
        "pushes_per_s": round((len(times) - 1) / span) if span else 0,
        **usage,
        **once(arrivals),
        **checks,
    }


async def run(args: argparse.Namespace) -> None:
    fake = Fake()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            account = Path(tmp) / "service-account.json"
            account.write_text(await fake.service_account())
            extra = {"fake": "tests/fakes FakeFcm + FakeOneSignal, own process, uvloop+httptools"}
            if args.calls:
                rows = await ring_latency(fake, account, args.calls, args.profile)
                target = "1 push per call; latency from the Call.Requested event's `at`"
                report("notifications-latency", rows, {**extra, "target": target})
            providers = ["fcm", "onesignal"] if args.provider == "both" else [args.provider]
            if args.notifications:
                rows = [
                    await throughput(
                        fake, account, args.notifications, p, args.profile, args.workers
                    )
                    for p in providers
                ]
                target = ">= 1,000 pushes/s, every notification pushed once"
                report("notifications-throughput", rows, {**extra, "target": target})
    finally:
        await fake.client.aclose()
        stop(fake.process)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=1000, help="concurrent rings (0: skip)")
    parser.add_argument("--notifications", type=int, default=20000, help="backlog (0: skip)")
    parser.add_argument("--provider", choices=("fcm", "onesignal", "both"), default="both")
    parser.add_argument("--workers", type=int, default=1, help="olo workers pushing the backlog")
    parser.add_argument("--profile", type=Path, help="py-spy the worker's drain into this dir")
    parser.add_argument("--fake", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fake:
        run_as_fake(args.fake)
    else:
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
        uvloop.run(run(args))


if __name__ == "__main__":
    main()
