"""The composition root: settings -> event log, services, API and workers. Nothing else wires."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import strawberry
from fastapi import FastAPI
from strawberry.extensions import ValidationCache
from strawberry.fastapi import GraphQLRouter
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.tools import merge_types

from domains.balance.policy import WelcomeBonusPolicy
from domains.balance.projection import BALANCE_CHANNEL, BalanceProjection
from domains.balance.queries import BalanceQueries
from domains.balance.schema import BalanceQuery, BalanceSubscription
from domains.balance.service import BalanceService
from domains.billing.projection import TariffProjection
from domains.billing.queries import TariffQueries
from domains.billing.schema import BillingQuery
from domains.billing.service import TariffService
from domains.blocklist.projection import BlocklistProjection
from domains.blocklist.queries import BlocklistQueries
from domains.blocklist.schema import BlocklistMutation, BlocklistQuery
from domains.blocklist.service import BlocklistService
from domains.notification.dispatcher import Dispatcher
from domains.notification.policy import CallNotificationPolicy
from domains.notification.projection import NOTIFICATIONS_CHANNEL, NotificationProjection
from domains.notification.router import PushRouter
from domains.notification.schema import NotificationMutation, NotificationSubscription
from domains.notification.service import NotificationService
from domains.payment.schema import PaymentMutation, PaymentQuery
from domains.payment.service import (
    PaymentService,
    ReceiptVerifier,
    SandboxVerifier,
    load_coin_packs,
)
from domains.profile.auth import AuthenticationError, TokenVerifier
from domains.profile.projection import ProfileProjection
from domains.profile.queries import ProfileQueries
from domains.profile.schema import ProfileMutation
from domains.profile.service import ProfileService
from domains.video.access import MediaAccess
from domains.video.agora import AgoraRest, RtcTokens
from domains.video.matching import StreamerMatching
from domains.video.meter import CallMeter
from domains.video.policy import BlockEndsCallPolicy, KickPolicy
from domains.video.presence import Presence, reachable
from domains.video.projection import CALLS_CHANNEL, EARNINGS_CHANNEL, CallProjection
from domains.video.queries import CallQueries
from domains.video.roulette import RoulettePolicy, RouletteService, RouletteTimings
from domains.video.roulette_projection import RouletteProjection
from domains.video.roulette_schema import RouletteMutation
from domains.video.schema import VideoMutation, VideoQuery, VideoSubscription
from domains.video.service import CallService, CallTimings
from domains.video.webhooks import agora_webhooks
from eventlog.api import Context, NotAuthenticatedError, SyntaxReportingParserCache, Viewer
from eventlog.application import CHANNEL, EventLog, open_event_log
from eventlog.clock import Clock, SystemClock
from eventlog.database import create_log_schema, create_pool, schema_lock
from eventlog.graphql_execution import BoundedExecutionContext
from eventlog.hub import StreamHub
from eventlog.leadership import Leadership
from eventlog.ops import ops_router, tune_garbage_collector
from eventlog.policy import Policy, PolicyRunner
from eventlog.projection import Projection, ProjectionRunner
from eventlog.reader import LogReader
from eventlog.settings import Settings
from eventlog.store import EventStore
from eventlog.writer import GroupCommitWriter

log = logging.getLogger("olo")

Query = merge_types("Query", (BalanceQuery, BillingQuery, PaymentQuery, BlocklistQuery, VideoQuery))
Mutation = merge_types(
    "Mutation",
    (
        ProfileMutation,
        PaymentMutation,
        BlocklistMutation,
        VideoMutation,
        RouletteMutation,
        NotificationMutation,
    ),
)
Subscription = merge_types(
    "Subscription", (BalanceSubscription, VideoSubscription, NotificationSubscription)
)


def build_schema() -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[
            lambda: SyntaxReportingParserCache(maxsize=1000),
            lambda: ValidationCache(maxsize=1000),
        ],
        execution_context_class=BoundedExecutionContext,
    )


def projections() -> list[Projection]:
    return [
        ProfileProjection(),
        BalanceProjection(),
        TariffProjection(),
        BlocklistProjection(),
        CallProjection(),
        NotificationProjection(),
        RouletteProjection(),
    ]


@dataclass
class Olo:
    """One process's running olo: the log, its services, and (optionally) its workers."""

    settings: Settings
    database_url: str
    event_log: EventLog
    pool: asyncpg.Pool
    writer: GroupCommitWriter
    store: EventStore
    hub: StreamHub
    verifier: TokenVerifier
    services: dict[type, Any]
    runners: list[ProjectionRunner | PolicyRunner] = field(default_factory=list)
    meters: list[CallMeter] = field(default_factory=list)
    dispatchers: list[Dispatcher] = field(default_factory=list)
    closers: list[Any] = field(default_factory=list)
    leadership: Leadership | None = None
    _worker_task: asyncio.Task[None] | None = None

    async def authenticate(self, token: str | None) -> Viewer:
        try:
            identity = await self.verifier.verify_async(token)
        except AuthenticationError as error:
            raise NotAuthenticatedError(str(error)) from None
        user_id = await self.services[ProfileService].register(
            identity.uid, display_name=identity.name, email=identity.email
        )
        return Viewer(user_id=user_id, firebase_uid=identity.uid)

    def context(self) -> Context:
        return Context(self.services, self.hub, self.authenticate)

    def start_worker(self) -> None:
        """Follow the log with every projection and policy this process leads, all fed by
        one reader of the log."""
        leadership = Leadership(
            self.database_url, poll_seconds=self.settings.leadership_poll_seconds
        )
        reader = LogReader(
            self.pool, self.event_log.mapper, page_size=self.settings.projection_page_size
        )
        for runner in self.runners:
            name = (
                runner.projection.name
                if isinstance(runner, ProjectionRunner)
                else runner.policy.name
            )
            leadership.add(name, _on_log(runner.follow, self.hub, reader))
        for meter in self.meters:
            leadership.add(meter.name, _on_log(meter.run, self.hub, reader), group="video.meter")
        for dispatcher in self.dispatchers:
            push = _on_log(dispatcher.run, self.hub, reader)
            leadership.add(dispatcher.name, push, group="notification.dispatcher")
        self.leadership = leadership
        work = reader.run_alongside(self.hub.wakeup(CHANNEL), leadership.run())
        self._worker_task = asyncio.create_task(work, name="leadership")

    async def close(self) -> None:
        try:
            if self._worker_task is not None:
                self._worker_task.cancel()
                try:
                    await self._worker_task
                except asyncio.CancelledError:
                    pass
                except Exception:
                    log.exception("the worker had failed")
        finally:
            for close in self.closers:
                await close()
            await self.writer.stop()
            await self.hub.stop()
            await self.pool.close()
            self.event_log.close()


def _on_log(
    follow: Callable[[asyncio.Event, LogReader], Awaitable[None]],
    hub: StreamHub,
    reader: LogReader,
) -> Any:
    """A led job that follows the log: fed by the process's reader, on its own while behind."""
    wakeup = hub.wakeup(CHANNEL)

    async def run() -> None:
        await follow(wakeup, reader)

    return run


async def start(
    settings: Settings,
    database_url: str,
    *,
    verifier: ReceiptVerifier | None = None,
    clock: Clock | None = None,
) -> Olo:
    """Open the log, create what is missing, start the writer and the listener."""
    settings.export_environment()
    async with schema_lock(database_url):
        event_log = await asyncio.to_thread(open_event_log, database_url)
        pool = await create_pool(
            database_url, min_size=settings.db_pool_min, max_size=settings.db_pool_max
        )
        async with pool.acquire() as conn:
            await create_log_schema(conn)
            for projection in projections():
                await projection.create_tables(conn)
    writer = GroupCommitWriter(
        pool, batch_max=settings.writer_batch_max, retries=settings.writer_retries
    )
    writer.start()
    store = EventStore(
        event_log.mapper,
        pool,
        writer,
        cache_size=settings.aggregate_cache_size,
        retries=settings.command_retries,
    )
    hub = StreamHub(database_url)
    await hub.start(
        [CHANNEL, BALANCE_CHANNEL, CALLS_CHANNEL, EARNINGS_CHANNEL, NOTIFICATIONS_CHANNEL]
    )
    balance = BalanceService(store)
    clock = clock or SystemClock()
    presence = Presence(
        pool,
        heartbeat_seconds=settings.presence_heartbeat_seconds,
        ttl_seconds=settings.presence_ttl_seconds,
    )
    presence.start()
    profile_queries = ProfileQueries(pool)
    calls = CallService(
        store,
        clock,
        reachable(presence, profile_queries),
        CallTimings(ring_seconds=settings.ring_seconds, media_seconds=settings.media_seconds),
    )
    notifications = NotificationService(
        store,
        clock,
        ack_seconds_calls=settings.ack_seconds_calls,
        ack_seconds=settings.ack_seconds_default,
    )
    agora = AgoraRest(
        settings.agora_rest_url,
        settings.agora_app_id,
        settings.agora_customer_id,
        settings.agora_customer_secret,
    )
    roulette = RouletteService(
        calls,
        StreamerMatching(pool),
        RouletteTimings(
            offer_seconds=settings.roulette_offer_seconds,
            skip_minutes=settings.roulette_skip_minutes,
        ),
    )
    services: dict[type, Any] = {
        EventStore: store,
        ProfileService: ProfileService(store),
        ProfileQueries: profile_queries,
        BalanceService: balance,
        BalanceQueries: BalanceQueries(pool),
        TariffService: TariffService(store),
        TariffQueries: TariffQueries(pool),
        BlocklistService: BlocklistService(store),
        BlocklistQueries: BlocklistQueries(pool),
        Settings: settings,
        CallService: calls,
        RouletteService: roulette,
        CallQueries: CallQueries(pool),
        NotificationService: notifications,
        Presence: presence,
        MediaAccess: MediaAccess(
            settings.agora_app_id,
            RtcTokens(settings.agora_app_id, settings.agora_app_certificate),
            grace_seconds=settings.agora_token_grace_seconds,
        ),
        PaymentService: PaymentService(
            store, verifier or SandboxVerifier(), load_coin_packs(settings.coin_packs_file)
        ),
    }
    token_verifier = TokenVerifier(
        settings.firebase_project_id,
        emulator=bool(settings.firebase_auth_emulator_host),
        credentials_file=settings.firebase_credentials_file,
    )
    policies: list[Policy] = [
        WelcomeBonusPolicy(balance, settings.welcome_bonus_coins),
        BlockEndsCallPolicy(calls),
        RoulettePolicy(roulette),
        CallNotificationPolicy(notifications, balance),
    ]
    if settings.media_events == "agora":
        policies.append(KickPolicy(agora, settings.agora_kick_seconds))
    runners: list[ProjectionRunner | PolicyRunner] = [
        ProjectionRunner(p, pool, event_log.mapper, page_size=settings.projection_page_size)
        for p in projections()
    ]
    runners += [PolicyRunner(p, pool, event_log.mapper) for p in policies]
    meters = [
        CallMeter(shard, settings.meter_shards, calls, store, pool, event_log.mapper, clock)
        for shard in range(settings.meter_shards)
    ]
    router = PushRouter.from_settings(settings)
    dispatchers = [
        Dispatcher(
            notifications,
            router,
            services[ProfileService],
            services[ProfileQueries],
            presence.online,
            pool,
            event_log.mapper,
            clock,
            shard=shard,
            shards=settings.push_shards,
            concurrency=settings.push_concurrency,
        )
        for shard in range(settings.push_shards)
    ]
    tune_garbage_collector(settings)
    return Olo(
        settings,
        database_url,
        event_log,
        pool,
        writer,
        store,
        hub,
        token_verifier,
        services,
        runners,
        meters,
        dispatchers,
        [presence.stop, agora.aclose, router.aclose],
    )


def create_app(
    settings: Settings,
    database_url: str,
    *,
    run_worker: bool = True,
    verifier: ReceiptVerifier | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    """The HTTP app; its lifespan starts olo (and a worker, when asked)."""
    holder: dict[str, Olo] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        olo = await start(settings, database_url, verifier=verifier, clock=clock)
        holder["olo"] = olo
        app.state.olo = olo
        if run_worker:
            olo.start_worker()
        try:
            yield
        finally:
            await olo.close()

    async def context_getter() -> Context:
        return holder["olo"].context()

    app = FastAPI(title="olo", lifespan=lifespan)
    graphql = GraphQLRouter(
        build_schema(),
        context_getter=context_getter,
        subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL],
        graphql_ide="graphiql",
    )
    app.include_router(graphql, prefix="/graphql")
    app.include_router(
        agora_webhooks(lambda: holder["olo"].services[CallService], settings.agora_ncs_secret)
    )

    app.include_router(ops_router(lambda: holder.get("olo")))

    return app
