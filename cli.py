"""The `olo` command: serve, worker, replay, schema, demo, dev-token."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import uvloop

from eventlog.settings import DEVELOPMENT_WARNING, ProductionSettingsError, Settings

log = logging.getLogger("olo")

# Commands that open the log (and may start an embedded PostgreSQL).
RUNNING_COMMANDS = ("serve", "worker", "replay", "demo")

_stopped_by = signal.SIGINT.value  # the signal that stopped olo (exit status 128 + it)

if TYPE_CHECKING:
    from app import Olo

DEMO_USERS = [
    # firebase uid, display name, role, coins
    ("demo-alice", "Alice", "user", 1000),
    ("demo-bob", "Bob", "user", 250),
    ("demo-bella", "Bella", "streamer", 0),
    ("demo-carla", "Carla", "streamer", 0),
]


# uvicorn's websockets: the sans-I/O implementation, and no permessage-deflate. With deflate
# each socket carries zlib state (~300 KB while open); once freed, glibc kept the pages: RSS grew
# ~80-110 KB per closed socket and never came back (malloc_trim returned it, gc.collect did
# not). GraphQL frames are small; compressing them bought little. Measured: bench/ws_memory.py.
WEBSOCKET_IMPLEMENTATION = "websockets-sansio"
WEBSOCKET_PER_MESSAGE_DEFLATE = False


def database_url(settings: Settings) -> str:
    """DATABASE_URL, or an embedded PostgreSQL (pgserver) with its data under the data dir."""
    if settings.database_url:
        return settings.database_url
    import pgserver

    data = (settings.data_dir / "pgdata").resolve()
    data.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data, cleanup_mode="stop")
    return str(server.get_uri())


async def seed_tariffs(settings: Settings, url: str) -> None:
    """The seed tariff for each call kind that has none yet, and the seed gifts (idempotent)."""
    from app import start

    olo = await start(settings, url)
    try:
        await olo.services.tariffs.ensure_seeded()
        await olo.services.gift_catalog.ensure_seeded()
    finally:
        await olo.close()


async def seed_demo(settings: Settings, url: str) -> None:
    """Demo users and streamers with coins; running it twice changes nothing."""
    from app import start
    from domains.profile.aggregate import Role

    olo = await start(settings, url)
    try:
        profiles = olo.services.profiles
        balance = olo.services.balance
        for uid, name, role, coins in DEMO_USERS:
            user_id = await profiles.register(uid, display_name=name, email=f"{uid}@example.com")
            await profiles.set_role(user_id, Role(role))
            if coins:
                await balance.grant(user_id, coins, key=f"demo/{uid}", memo="demo coins")
    finally:
        await olo.close()


def dev_token(settings: Settings, uid: str) -> str:
    from domains.profile.auth import mint_emulator_token

    return mint_emulator_token(uid, settings.firebase_project_id, name=uid)


def serve(settings: Settings, args: argparse.Namespace) -> None:
    import uvicorn

    from app import create_app
    from eventlog.http_limits import server_options

    url = database_url(settings)
    uvloop.run(seed_tariffs(settings, url))
    if args.demo:
        uvloop.run(seed_demo(settings, url))
        if "welcome_streamers" not in settings.model_fields_set:
            settings.welcome_streamers = ["demo-bella"]  # a new demo user is greeted by Bella
        if "media_events" not in settings.model_fields_set:
            # The demo has no Agora project: the apps report joining the channel themselves.
            settings.media_events = "clients"
        _print_welcome(settings)
    app = create_app(settings, url, run_worker=not args.no_worker)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level="info",
        ws=WEBSOCKET_IMPLEMENTATION,
        ws_per_message_deflate=WEBSOCKET_PER_MESSAGE_DEFLATE,
        **server_options(settings),
    )


def _print_welcome(settings: Settings) -> None:
    base = f"http://{settings.host}:{settings.port}"
    token = dev_token(settings, "demo-alice")
    print(
        f"\nolo is starting on {base}  (GraphiQL: {base}/graphql)\n"
        "Demo users: demo-alice (1000 coins), demo-bob (250), streamers demo-bella, demo-carla.\n"
        "In GraphiQL, add the header (Firebase emulator mode, project demo-olo):\n"
        f'  {{"Authorization": "Bearer {token}"}}\n'
        "A token for any other uid: .venv/bin/olo dev-token <uid>\n",
        flush=True,
    )


async def run_worker(settings: Settings) -> None:
    from app import start

    olo = await start(settings, database_url(settings))
    await olo.services.tariffs.ensure_seeded()
    await olo.services.gift_catalog.ensure_seeded()
    olo.start_worker()
    from eventlog.ops import log_task_stacks

    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, log_task_stacks)
    try:
        if settings.worker_ops_port is None:
            await asyncio.Event().wait()
        else:
            await serve_worker_ops(settings, olo, settings.worker_ops_port)
    finally:
        await olo.close()


async def serve_worker_ops(settings: Settings, olo: Olo, port: int) -> None:
    """/healthz, /readyz and /metrics of a worker process (its led jobs' lag and stalls)."""
    import uvicorn
    from fastapi import FastAPI

    from eventlog.ops import ops_router

    app = FastAPI(title="olo worker")
    app.include_router(ops_router(lambda: olo, settings))
    config = uvicorn.Config(app, host=settings.host, port=port, lifespan="off", log_level="info")
    await uvicorn.Server(config).serve()


async def replay(settings: Settings, name: str) -> None:
    """Rebuild one projection from the first event, holding its leadership lock."""
    from tqdm import tqdm

    from app import start
    from eventlog.leadership import wait_for_lock
    from eventlog.projection import ProjectionRunner, rebuild

    olo = await start(settings, database_url(settings))
    try:
        runners = {r.projection.name: r for r in olo.runners if isinstance(r, ProjectionRunner)}
        if name not in runners:
            raise SystemExit(f"no projection {name!r}; choose from {', '.join(sorted(runners))}")
        total = await olo.pool.fetchval(
            "SELECT coalesce(max(notification_id), 0) FROM eventlog_events"
        )
        async with olo.pool.acquire() as lock_conn:
            print(f"waiting for the lock of {name} (a running worker holds it)...", file=sys.stderr)
            await wait_for_lock(lock_conn, name)
            with tqdm(total=total, unit="ev", desc=f"replay {name}") as bar:

                def advance(covered: int) -> None:
                    bar.update(covered)

                await rebuild(runners[name], olo.pool, advance)
            await lock_conn.execute("SELECT pg_advisory_unlock_all()")
    finally:
        await olo.close()


def schema_sdl() -> str:
    from app import build_schema

    return build_schema().as_str() + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="olo", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_serve = sub.add_parser("serve", help="API (and a worker) on OLO_HOST:OLO_PORT")
    p_serve.add_argument("--no-worker", action="store_true", help="API only")
    p_serve.add_argument("--demo", action="store_true", help="seed demo users first")
    sub.add_parser("worker", help="projections and policies, led through advisory locks")
    p_replay = sub.add_parser("replay", help="rebuild a projection from zero")
    p_replay.add_argument("name")
    p_schema = sub.add_parser("schema", help="print the GraphQL SDL")
    p_schema.add_argument("--write", type=Path, help="write it to this file instead")
    sub.add_parser("demo", help="seed demo users and coins")
    p_token = sub.add_parser("dev-token", help="an emulator-mode Firebase ID token for a uid")
    p_token.add_argument("uid")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per push sent otherwise
    settings = Settings()
    if args.command == "demo" or (args.command == "serve" and args.demo):
        if "mode" in settings.model_fields_set and not settings.development:
            raise SystemExit("olo: the demo runs in development mode, but OLO_MODE=production")
        settings.mode = "development"
    if args.command in RUNNING_COMMANDS:
        try:
            settings.check_production()
        except ProductionSettingsError as error:
            raise SystemExit(f"olo: refusing to start: {error}") from None
        if settings.development:
            log.warning(DEVELOPMENT_WARNING)
        _stop_like_ctrl_c(signal.SIGTERM, signal.SIGHUP)
    handlers: dict[str, Any] = {
        "serve": lambda: serve(settings, args),
        "worker": lambda: uvloop.run(run_worker(settings)),
        "replay": lambda: uvloop.run(replay(settings, args.name)),
        "demo": lambda: uvloop.run(seed_demo(settings, database_url(settings))),
        "dev-token": lambda: print(dev_token(settings, args.uid)),
        "schema": lambda: (
            args.write.write_text(schema_sdl()) if args.write else print(schema_sdl(), end="")
        ),
    }
    try:
        handlers[args.command]()
    except KeyboardInterrupt:
        raise SystemExit(128 + _stopped_by) from None


def _stop_like_ctrl_c(*signals: signal.Signals) -> None:
    """Make these signals stop olo as Ctrl-C does.

    The embedded PostgreSQL is stopped by an exit handler (pgserver's `atexit`), which a
    process killed by a signal's default action never runs; uvicorn, too, ends its graceful
    shutdown on SIGTERM by raising the signal again. Raising SIGINT instead goes through
    whatever handles Ctrl-C at that moment (uvicorn's graceful shutdown, asyncio's
    cancellation of the main task, KeyboardInterrupt), and then the exit handlers.
    """

    def stop(signum: int, frame: object) -> None:
        global _stopped_by
        _stopped_by = signum
        signal.raise_signal(signal.SIGINT)

    for sig in signals:
        signal.signal(sig, stop)


if __name__ == "__main__":
    main()
