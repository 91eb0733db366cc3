"""The video domain's parts: calls, roulette, presence, Agora, the call meter's shards and
the Agora webhook."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from fastapi import APIRouter

from domains.profile.services import ProfileServices
from domains.video.access import MediaAccess
from domains.video.agora import AgoraRest, RtcTokens
from domains.video.matching import StreamerMatching
from domains.video.meter import CallMeter
from domains.video.policy import BlockEndsCallPolicy, KickPolicy, SpendWarnsCallerPolicy
from domains.video.presence import PRESENCE_CHANNEL, Presence, PresenceSweep, reachable
from domains.video.projection import CALLS_CHANNEL, EARNINGS_CHANNEL, CallProjection
from domains.video.queries import CallQueries
from domains.video.roulette import RoulettePolicy, RouletteService, RouletteTimings
from domains.video.roulette_projection import RouletteProjection
from domains.video.roulette_schema import RouletteMutation
from domains.video.schema import VideoMutation, VideoQuery, VideoSubscription
from domains.video.service import CallService, CallTimings
from domains.video.services import VideoServices
from domains.video.webhooks import agora_webhooks
from eventlog.policy import Policy
from eventlog.settings import Settings
from eventlog.wiring import Core, Domain, LedJob, Parts


def _routes(settings: Settings, services: Callable[[], VideoServices]) -> Iterable[APIRouter]:
    return [agora_webhooks(lambda: services().calls, settings.agora_ncs_secret)]


DOMAIN: Domain[VideoServices] = Domain(
    "video",
    projections=(CallProjection, RouletteProjection),
    channels=(CALLS_CHANNEL, EARNINGS_CHANNEL, PRESENCE_CHANNEL),
    query=(VideoQuery,),
    mutation=(VideoMutation, RouletteMutation),
    subscription=(VideoSubscription,),
    routes=_routes,
)


def wire(core: Core, profile: ProfileServices) -> Parts[VideoServices]:
    settings, store = core.settings, core.store
    presence = Presence(
        core.pool,
        heartbeat_seconds=settings.presence_heartbeat_seconds,
        ttl_seconds=settings.presence_ttl_seconds,
    )
    presence.start()
    timings = CallTimings(ring_seconds=settings.ring_seconds, media_seconds=settings.media_seconds)
    calls = CallService(store, core.clock, reachable(presence, profile.profile_queries), timings)
    roulette = RouletteService(
        calls,
        StreamerMatching(core.pool),
        RouletteTimings(
            offer_seconds=settings.roulette_offer_seconds,
            skip_minutes=settings.roulette_skip_minutes,
        ),
    )
    media = MediaAccess(
        settings.agora_app_id,
        RtcTokens(settings.agora_app_id, settings.agora_app_certificate),
        grace_seconds=settings.agora_token_grace_seconds,
    )
    agora = AgoraRest(
        settings.agora_rest_url,
        settings.agora_app_id,
        settings.agora_customer_id,
        settings.agora_customer_secret,
    )
    policies: list[Policy] = [
        BlockEndsCallPolicy(calls),
        SpendWarnsCallerPolicy(calls),
        RoulettePolicy(roulette),
    ]
    if settings.media_events == "agora":
        policies.append(KickPolicy(agora, settings.agora_kick_seconds))
    meters = [
        CallMeter(shard, settings.meter_shards, calls, store, core.pool, core.mapper, core.clock)
        for shard in range(settings.meter_shards)
    ]
    return Parts(
        VideoServices(
            calls, roulette, CallQueries(core.pool, core.clock), presence, media, settings
        ),
        policies=tuple(policies),
        jobs=(
            *(LedJob(meter, group="video.meter") for meter in meters),
            LedJob(PresenceSweep(presence, every=settings.presence_heartbeat_seconds)),
        ),
        closers=(presence.stop, agora.aclose),
    )
