"""GraphQL for notifications: the live `notifications` stream and `ackNotification`."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated
from uuid import UUID

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from domains.notification.aggregate import CannotMuteError, NotificationKind
from domains.notification.projection import NOTIFICATIONS_CHANNEL
from domains.notification.service import NotificationService, UnknownNotificationError
from domains.profile.aggregate import Role, User
from domains.video.aggregate import Availability, availability_id_of
from domains.video.presence import Presence
from eventlog.api import Context, Forbidden, InvalidInput, NotFound
from eventlog.hub import RESYNC


@strawberry.type(description="Something to show the user; acknowledge it or it is pushed.")
class InAppNotification:
    id: strawberry.ID
    kind: str = strawberry.field(description="incoming_call, missed_call, call_ended, low_balance")
    payload: JSON
    at: float
    position: int


@strawberry.type
class NotificationAcknowledged:
    id: strawberry.ID


AckResult = Annotated[
    NotificationAcknowledged | NotFound | InvalidInput, strawberry.union("AckNotificationResult")
]


@strawberry.type(description="The kinds of notification you muted.")
class NotificationSettings:
    muted: list[str]


MuteResult = Annotated[
    NotificationSettings | Forbidden | InvalidInput, strawberry.union("MuteNotificationsResult")
]


async def _online_for_calls(info: Info[Context, None], user_id: UUID) -> bool:
    """A streamer who takes calls and is connected right now."""
    store = info.context.get(NotificationService).store
    user = await store.load(user_id)
    if not isinstance(user, User) or user.role is not Role.STREAMER:
        return False
    availability = await store.load(availability_id_of(user_id), fresh=True)
    if isinstance(availability, Availability) and not availability.calls:
        return False
    return await info.context.get(Presence).is_online(user_id)


@strawberry.type
class NotificationMutation:
    @strawberry.mutation(description="Mute or unmute a kind of notification for yourself.")
    async def mute_notifications(
        self, info: Info[Context, None], kind: str, muted: bool
    ) -> MuteResult:
        viewer = await info.context.viewer()
        try:
            parsed = NotificationKind(kind)
        except ValueError:
            kinds = ", ".join(k.value for k in NotificationKind)
            return InvalidInput(message=f"kind must be one of {kinds}", field="kind")
        online = muted and await _online_for_calls(info, viewer.user_id)
        try:
            now_muted = await info.context.get(NotificationService).set_muted(
                viewer.user_id, parsed, muted, online_for_calls=online
            )
        except CannotMuteError as error:
            return Forbidden(message=str(error))
        return NotificationSettings(muted=sorted(k.value for k in now_muted))

    @strawberry.mutation(description="You showed this notification: it will not be pushed.")
    async def ack_notification(self, info: Info[Context, None], id: str) -> AckResult:
        viewer = await info.context.viewer()
        try:
            parsed = UUID(id)
        except ValueError:
            return InvalidInput(message=f"{id!r} is not a notification id", field="id")
        try:
            await info.context.get(NotificationService).acknowledge(viewer.user_id, parsed)
        except UnknownNotificationError as error:
            return NotFound(message=str(error))
        return NotificationAcknowledged(id=strawberry.ID(id))


@strawberry.type
class NotificationSubscription:
    @strawberry.subscription(description="Your notifications as they are asked for; ACK each.")
    async def notifications(
        self, info: Info[Context, None]
    ) -> AsyncGenerator[InAppNotification, None]:
        viewer = await info.context.viewer()
        service = info.context.get(NotificationService)
        stream = info.context.hub.subscribe(NOTIFICATIONS_CHANNEL, str(viewer.user_id))
        presence = info.context.get(Presence)
        await presence.connected(viewer.user_id)  # reachable in-app while this is open
        try:
            async for change in stream:
                if change is RESYNC:
                    continue
                item = change.data
                yield InAppNotification(
                    id=strawberry.ID(item["id"]),
                    kind=item["kind"],
                    payload=item["payload"],
                    at=item["at"],
                    position=change.position,
                )
                await service.delivered_in_app(UUID(item["id"]))
        finally:
            stream.close()
            await presence.disconnected(viewer.user_id)
