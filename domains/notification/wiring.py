"""The notification domain's parts: notifications, the dispatcher's shards and the push
providers."""

from __future__ import annotations

from domains.balance.services import BalanceServices
from domains.notification.dispatcher import Dispatcher
from domains.notification.policy import CallNotificationPolicy, CallsOnUnmutePolicy
from domains.notification.projection import NOTIFICATIONS_CHANNEL, NotificationProjection
from domains.notification.router import PushRouter
from domains.notification.schema import NotificationMutation, NotificationSubscription
from domains.notification.service import NotificationService
from domains.notification.services import NotificationServices
from domains.profile.services import ProfileServices
from domains.video.services import VideoServices
from eventlog.wiring import Core, Domain, LedJob, Parts

DOMAIN: Domain[NotificationServices] = Domain(
    "notification",
    projections=(NotificationProjection,),
    channels=(NOTIFICATIONS_CHANNEL,),
    mutation=(NotificationMutation,),
    subscription=(NotificationSubscription,),
)


def wire(
    core: Core, profile: ProfileServices, balance: BalanceServices, video: VideoServices
) -> Parts[NotificationServices]:
    settings = core.settings
    notifications = NotificationService(
        core.store,
        core.clock,
        ack_seconds_calls=settings.ack_seconds_calls,
        ack_seconds=settings.ack_seconds_default,
    )
    router = PushRouter.from_settings(settings)
    dispatchers = [
        Dispatcher(
            notifications,
            router,
            profile.profiles,
            profile.profile_queries,
            video.presence.online,
            core.pool,
            core.mapper,
            core.clock,
            shard=shard,
            shards=settings.push_shards,
            concurrency=settings.push_concurrency,
        )
        for shard in range(settings.push_shards)
    ]
    return Parts(
        NotificationServices(notifications, video.presence),
        policies=(
            CallNotificationPolicy(notifications, balance.balance),
            CallsOnUnmutePolicy(notifications),
        ),
        jobs=tuple(LedJob(d, group="notification.dispatcher") for d in dispatchers),
        closers=(router.aclose,),
    )
