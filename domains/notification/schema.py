"""GraphQL for notifications: the live `notifications` stream and `ackNotification`."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated
from uuid import UUID

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from domains.notification.aggregate import CannotMuteError, NotificationKind
from domains.notification.changes import NotificationAnnounced
from domains.notification.projection import NOTIFICATIONS_CHANNEL
from domains.notification.service import UnknownNotificationError
from domains.notification.services import NotificationServices
from eventlog.api import (
    Context,
    ErrorResults,
    Forbidden,
    InvalidInput,
    NotFound,
    parse_uuid,
    result_of,
)
from eventlog.hub import RESYNC


@strawberry.type(description="Something to show the user; acknowledge it or it is pushed.")
class InAppNotification:
    id: strawberry.ID
    kind: str = strawberry.field(
        description="incoming_call, missed_call, call_ended, low_balance, gift_received"
    )
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


NOTIFICATION_ERRORS: ErrorResults = {
    CannotMuteError: lambda e: Forbidden(message=str(e)),
    UnknownNotificationError: lambda e: NotFound(message=str(e)),
}


def _settings(muted: set[NotificationKind]) -> NotificationSettings:
    return NotificationSettings(muted=sorted(k.value for k in muted))


@strawberry.type
class NotificationMutation:
    @strawberry.mutation(description="Mute or unmute a kind of notification for yourself.")
    async def mute_notifications(
        self, info: Info[Context[NotificationServices], None], kind: str, muted: bool
    ) -> MuteResult:
        viewer = await info.context.viewer()
        try:
            parsed = NotificationKind(kind)
        except ValueError:
            kinds = ", ".join(k.value for k in NotificationKind)
            return InvalidInput(message=f"kind must be one of {kinds}", field="kind")
        muting = info.context.services.notifications.set_muted(viewer.user_id, parsed, muted)
        return await result_of(muting, _settings, NOTIFICATION_ERRORS)

    @strawberry.mutation(description="You showed this notification: it will not be pushed.")
    async def ack_notification(
        self, info: Info[Context[NotificationServices], None], id: str
    ) -> AckResult:
        viewer = await info.context.viewer()
        parsed = parse_uuid(id, "id", "notification id")
        if isinstance(parsed, InvalidInput):
            return parsed
        acking = info.context.services.notifications.acknowledge(viewer.user_id, parsed)
        acknowledged = NotificationAcknowledged(id=strawberry.ID(id))
        return await result_of(acking, lambda _: acknowledged, NOTIFICATION_ERRORS)


@strawberry.type
class NotificationSubscription:
    @strawberry.subscription(description="Your notifications as they are asked for; ACK each.")
    async def notifications(
        self, info: Info[Context[NotificationServices], None]
    ) -> AsyncGenerator[InAppNotification, None]:
        viewer = await info.context.viewer()
        service = info.context.services.notifications
        stream = info.context.hub.subscribe(NOTIFICATIONS_CHANNEL, str(viewer.user_id))
        presence = info.context.services.presence
        await presence.connected(viewer.user_id)  # reachable in-app while this is open
        try:
            async for change in stream:
                if change is RESYNC:
                    continue
                item = NotificationAnnounced.from_json(change.data)
                yield InAppNotification(
                    id=strawberry.ID(item.id),
                    kind=item.kind,
                    payload=JSON(item.payload),
                    at=item.at,
                    position=change.position,
                )
                await service.delivered_in_app(UUID(item.id))
        finally:
            stream.close()
            await presence.disconnected(viewer.user_id)
