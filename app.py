"""The composition root: settings -> event log, services, API and workers. Nothing else wires."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import asyncpg
import strawberry
from fastapi import FastAPI
from starlette.routing import Route, WebSocketRoute
from strawberry.extensions import DisableIntrospection, SchemaExtension
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.tools import merge_types

from domains.balance import wiring as balance
from domains.balance.services import BalanceServices
from domains.billing import wiring as billing
from domains.billing.services import BillingServices
from domains.blocklist import wiring as blocklist
from domains.blocklist.services import BlocklistServices
from domains.chat import wiring as chat
from domains.chat.services import ChatServices
from domains.favorites import wiring as favorites
from domains.favorites.services import FavoritesServices
from domains.gallery import wiring as gallery
from domains.gallery.services import GalleryServices
from domains.gift import wiring as gift
from domains.gift.services import GiftServices
from domains.interaction import wiring as interaction
from domains.interaction.services import InteractionServices
from domains.notification import wiring as notification
from domains.notification.services import NotificationServices
from domains.payment import wiring as payment
from domains.payment.service import ReceiptVerifier
from domains.payment.services import PaymentServices
from domains.profile import wiring as profile
from domains.profile.auth import AuthenticationError
from domains.profile.services import ProfileServices
from domains.video import wiring as video
from domains.video.services import VideoServices
from eventlog.api import Context, NotAuthenticatedError, Viewer
from eventlog.application import CHANNEL, EventLog, open_event_log
from eventlog.clock import Clock, SystemClock
from eventlog.database import create_log_schema, create_pool, schema_lock
from eventlog.graphql_endpoint import GraphQLEndpoint
from eventlog.graphql_execution import BoundedExecutionContext
from eventlog.graphql_limits import BugLoggingSchema, QueryLimits
from eventlog.http_limits import BodyLimit
from eventlog.hub import StreamHub
from eventlog.leadership import Leadership
from eventlog.ops import ops_router, tune_garbage_collector
from eventlog.policy import PolicyRunner
from eventlog.projection import Projection, ProjectionRunner, make_tables
from eventlog.rates import RateLimits
from eventlog.reader import LogReader
from eventlog.settings import Settings
from eventlog.store import EventStore
from eventlog.websockets import ConnectionGate
from eventlog.wiring import Closer, Core, Domain, LedJob, Parts, merged_services
from eventlog.worker import Worker
from eventlog.writer import GroupCommitWriter

log = logging.getLogger("olo")

# Every domain, lowest layer first (adding a domain: its line here, in `Services` and in
# `wire_domains`).
DOMAINS: tuple[Domain[Any], ...] = (
    profile.DOMAIN,
    balance.DOMAIN,
    billing.DOMAIN,
    blocklist.DOMAIN,
    video.DOMAIN,
    payment.DOMAIN,
    notification.DOMAIN,
    favorites.DOMAIN,
    gift.DOMAIN,
    chat.DOMAIN,
    interaction.DOMAIN,
    gallery.DOMAIN,
)


@dataclass(frozen=True)
class Services(
    GalleryServices,
    InteractionServices,
    ChatServices,
    GiftServices,
    FavoritesServices,
    NotificationServices,
    PaymentServices,
    VideoServices,
    BlocklistServices,
    BillingServices,
    BalanceServices,
    ProfileServices,
):
    """Every domain's services and queries, one typed field each (`services.calls`)."""


def wire_domains(core: Core, verifier: ReceiptVerifier | None) -> list[Parts[Any]]:
    """Each domain's running parts, built lowest layer first from the parts below it."""
    profile_parts = profile.wire(core)
    balance_parts = balance.wire(core, profile_parts.services)
    billing_parts = billing.wire(core)
    blocklist_parts = blocklist.wire(core)
    video_parts = video.wire(core, profile_parts.services)
    payment_parts = payment.wire(core, verifier)
    notification_parts = notification.wire(
        core, profile_parts.services, balance_parts.services, video_parts.services
    )
    favorites_parts = favorites.wire(
        core, profile_parts.services, video_parts.services, notification_parts.services
    )
    gift_parts = gift.wire(core, notification_parts.services)
    chat_parts = chat.wire(core, notification_parts.services)
    interaction_parts = interaction.wire(core, profile_parts.services)
    gallery_parts = gallery.wire(
        core, favorites_parts.services.favorites_queries, blocklist_parts.services.blocklist_queries
    )
    return [
        profile_parts,
        balance_parts,
        billing_parts,
        blocklist_parts,
        video_parts,
        payment_parts,
        notification_parts,
        favorites_parts,
        gift_parts,
        chat_parts,
        interaction_parts,
        gallery_parts,
    ]


@dataclass(frozen=True)
class Extension:
    """A domain added from outside the list above (a test's throwaway domain, a plugin): its
    description, and what it runs, built last from the core and the domains' services."""

    domain: Domain[Any]
    wire: Callable[[Core, Services], Parts[Any]] | None = None


def _domains(extensions: Sequence[Extension]) -> list[Domain[Any]]:
    return [*DOMAINS, *(e.domain for e in extensions)]


def build_schema(
    extensions: Sequence[Extension] = (),
    limits: QueryLimits = QueryLimits(),
    *,
    introspection: bool = True,
) -> strawberry.Schema:
    """The GraphQL schema of every domain; production serves it without introspection."""
    domains = _domains(extensions)

    def merged(name: str, types: list[type]) -> type:
        return merge_types(name, tuple(types))

    schema_extensions: list[Callable[[], SchemaExtension]] = limits.extensions()
    if not introspection:
        schema_extensions.append(DisableIntrospection)
    return BugLoggingSchema(
        query=merged("Query", [t for d in domains for t in d.query]),
        mutation=merged("Mutation", [t for d in domains for t in d.mutation]),
        subscription=merged("Subscription", [t for d in domains for t in d.subscription]),
        extensions=schema_extensions,
        execution_context_class=BoundedExecutionContext,
    )


def projections(extensions: Sequence[Extension] = ()) -> list[Projection]:
    """A fresh instance of every domain's read models."""
    return [make() for d in _domains(extensions) for make in d.projections]


def channels(extensions: Sequence[Extension] = ()) -> list[str]:
    """The log's NOTIFY channel and every channel a domain's projections publish on."""
    return [CHANNEL, *(c for d in _domains(extensions) for c in d.channels)]


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
    services: Services
    rates: RateLimits
    runners: list[ProjectionRunner | PolicyRunner] = field(default_factory=list)
    jobs: list[LedJob] = field(default_factory=list)
    closers: list[Closer] = field(default_factory=list)
    leadership: Leadership | None = None
    reader: LogReader | None = None
    _worker: Worker | None = None

    async def authenticate(self, token: str | None) -> Viewer:
        try:
            identity = await self.services.auth.verify_async(token)
        except AuthenticationError as error:
            raise NotAuthenticatedError(str(error)) from None
        user_id = await self.services.profiles.register(
            identity.uid, display_name=identity.name, email=identity.email
        )
        return Viewer(user_id=user_id, firebase_uid=identity.uid)

    def context(self) -> Context[Services]:
        return Context(self.services, self.hub, self.authenticate, self.rates)

    def start_worker(self) -> None:
        """Follow the log with every projection, policy and job this process leads, all fed
        by one reader of the log."""
        worker = Worker(
            self.settings,
            self.database_url,
            self.pool,
            self.event_log.mapper,
            self.hub,
            self.runners,
            self.jobs,
        )
        self.leadership, self.reader, self._worker = worker.leadership, worker.reader, worker
        worker.start()

    async def stop_worker(self) -> None:
        """Stop every job this process leads (their locks go back with them); the API goes on."""
        worker, self._worker = self._worker, None
        if worker is not None:
            await worker.stop()

    async def close(self) -> None:
        try:
            await self.stop_worker()
        finally:
            for close in self.closers:
                await close()
            await self.writer.stop()
            await self.hub.stop()
            await self.pool.close()
            self.event_log.close()


async def start(
    settings: Settings,
    database_url: str,
    *,
    verifier: ReceiptVerifier | None = None,
    clock: Clock | None = None,
    extensions: Sequence[Extension] = (),
) -> Olo:
    """Open the log, create what is missing, start the writer and the listener, wire every
    domain. Refuses production settings that carry development values."""
    settings.check_production()
    settings.export_environment()
    async with schema_lock(database_url):
        event_log = await asyncio.to_thread(open_event_log, database_url)
        pool = await create_pool(
            database_url, min_size=settings.db_pool_min, max_size=settings.db_pool_max
        )
        async with pool.acquire() as conn:
            await create_log_schema(conn)
            for projection in projections(extensions):
                await make_tables(conn, projection)
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
    await hub.start(channels(extensions))
    core = Core(settings, pool, event_log.mapper, store, hub, clock or SystemClock())
    parts = wire_domains(core, verifier)
    services = merged_services(Services, (part.services for part in parts))
    parts += [e.wire(core, services) for e in extensions if e.wire is not None]
    mapper, page = event_log.mapper, settings.projection_page_size
    runners: list[ProjectionRunner | PolicyRunner] = [
        ProjectionRunner(p, pool, mapper, page_size=page) for p in projections(extensions)
    ]
    runners += [PolicyRunner(p, pool, mapper) for part in parts for p in part.policies]
    tune_garbage_collector(settings)
    return Olo(
        settings,
        database_url,
        event_log,
        pool,
        writer,
        store,
        hub,
        services,
        RateLimits.from_settings(settings),
        runners,
        [job for part in parts for job in part.jobs],
        [close for part in parts for close in part.closers],
    )


def create_app(
    settings: Settings,
    database_url: str,
    *,
    run_worker: bool = True,
    verifier: ReceiptVerifier | None = None,
    clock: Clock | None = None,
    extensions: Sequence[Extension] = (),
) -> FastAPI:
    """The HTTP app; its lifespan starts olo (and a worker, when asked)."""
    holder: dict[str, Olo] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        olo = await start(
            settings, database_url, verifier=verifier, clock=clock, extensions=extensions
        )
        holder["olo"] = olo
        app.state.olo = olo
        if run_worker:
            olo.start_worker()
        try:
            yield
        finally:
            await olo.close()

    settings.check_production()  # at once, not at the first request's lifespan
    development = settings.development
    # Production shows no map of the API: no GraphiQL, no introspection, no OpenAPI pages.
    app = FastAPI(
        title="olo",
        lifespan=lifespan,
        docs_url="/docs" if development else None,
        redoc_url="/redoc" if development else None,
        openapi_url="/openapi.json" if development else None,
    )
    graphql = GraphQLEndpoint(
        lambda: holder["olo"],
        build_schema(extensions, QueryLimits.from_settings(settings), introspection=development),
        ConnectionGate(settings.ws_max_connections, settings.ws_max_connections_per_user),
        subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL],
        connection_init_wait_timeout=timedelta(seconds=settings.ws_connection_init_seconds),
        graphql_ide="graphiql" if development else None,
    )
    # Strawberry's own ASGI app on plain routes: FastAPI's router would solve its dependency
    # tree (four levels) on every request, about a tenth of a purchase's CPU (bench/api).
    app.router.routes += [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
    ]
    for domain in _domains(extensions):
        if domain.routes is not None:
            for router in domain.routes(settings, lambda: holder["olo"].services):
                app.include_router(router)

    app.include_router(ops_router(lambda: holder.get("olo"), settings))
    app.add_middleware(
        BodyLimit, max_bytes=settings.max_body_bytes, prefixes=("/graphql", "/webhooks/")
    )

    return app
