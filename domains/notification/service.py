"""The notification commands. `notify` is the one entry point other domains use."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from domains.notification.aggregate import (
    PAYLOAD_LIMIT,
    PUSH_ONLY,
    Notification,
    NotificationKind,
    PayloadTooLargeError,
    Preferences,
    notification_id_of,
    preferences_id_of,
)
from domains.profile.aggregate import Role, User
from domains.video.lines import Availability, availability_id_of
from eventlog.clock import Clock
from eventlog.store import AggregateStore, Transaction


class UnknownNotificationError(Exception):
    """No such notification, or not yours."""


def takes_calls(availability: Availability | None) -> bool:
    """A streamer's direct calls are on (they are by default)."""
    return availability is None or availability.calls


class NotificationService:
    def __init__(
        self, store: AggregateStore, clock: Clock, *, ack_seconds_calls: float, ack_seconds: float
    ) -> None:
        self.store = store
        self.clock = clock
        self._ack_calls = ack_seconds_calls
        self._ack = ack_seconds

    def ack_window(self, kind: NotificationKind) -> float:
        if kind in PUSH_ONLY:
            return 0.0
        calls = (NotificationKind.INCOMING_CALL, NotificationKind.CALL_ENDED)
        return self._ack_calls if kind in calls else self._ack

    async def notify(
        self,
        recipient_id: UUID,
        kind: NotificationKind,
        payload: dict[str, Any],
        *,
        key: str,
        skip_device: UUID | None = None,
    ) -> UUID | None:
        """Ask for a notification to reach a user, once per key (in-app first, then push to
        every device but `skip_device`); None if the user muted this kind."""
        if len(json.dumps(payload, separators=(",", ":"))) > PAYLOAD_LIMIT:
            raise PayloadTooLargeError(f"the payload is over {PAYLOAD_LIMIT} characters")

        async def command(tx: Transaction) -> UUID | None:
            existing = await tx.get(notification_id_of(key), Notification)
            if existing is not None:
                return existing.id
            preferences = await tx.get(preferences_id_of(recipient_id), Preferences)
            if preferences is not None and NotificationKind(kind) in preferences.muted:
                if NotificationKind(kind) is not NotificationKind.INCOMING_CALL:
                    return None
                # A streamer who turned calls on since muting (the policy may not have
                # unmuted yet): a call that rings always notifies.
                if not takes_calls(await tx.get(availability_id_of(recipient_id), Availability)):
                    return None
                preferences.unmute(NotificationKind.INCOMING_CALL)
            now = self.clock.now()
            notification = Notification(
                key=key,
                recipient_id=recipient_id,
                kind=NotificationKind(kind),
                payload=payload,
                at=now,
                ack_deadline=now + self.ack_window(kind),
                skip_device_id=skip_device,
            )
            tx.add(notification)
            return notification.id

        return await self.store.transact(command)

    async def delivered_in_app(self, notification_id: UUID) -> None:
        """A live subscription of the recipient was handed the notification."""
        await self._change(notification_id, None, lambda n: n.deliver_in_app(self.clock.now()))

    async def acknowledge(self, user_id: UUID, notification_id: UUID) -> Notification:
        """The recipient's app showed it: no push will follow."""
        return await self._change(
            notification_id, user_id, lambda n: n.acknowledge(self.clock.now())
        )

    async def _change(
        self, notification_id: UUID, user_id: UUID | None, change: Any
    ) -> Notification:
        async def command(tx: Transaction) -> Notification:
            notification = await tx.get(notification_id, Notification, fresh=True)
            if notification is None or user_id not in (None, notification.recipient_id):
                raise UnknownNotificationError(f"no notification {notification_id}")
            change(notification)
            return notification

        return await self.store.transact(command)

    async def withdraw(self, key: str) -> bool:
        """The notification asked for under `key` is no longer worth showing: it will not be
        pushed if no push has begun. True if one had (or may have)."""

        async def command(tx: Transaction) -> bool:
            notification = await tx.get(notification_id_of(key), Notification, fresh=True)
            return notification is not None and notification.withdraw(self.clock.now())

        return await self.store.transact(command)

    async def begin_push(self, notification_id: UUID) -> Notification | None:
        """Claim a notification for pushing (None: nothing to push any more). Only one
        dispatcher pushes a notification at a time, so one already claimed was claimed by a
        dispatcher that died before recording the result: its push is resumed."""

        # As this process last saw it (the dispatcher's process created or claimed most of
        # them): an ACK or a withdrawal since makes the claim conflict and retry fresh.
        async def command(tx: Transaction) -> Notification | None:
            notification = await tx.get(notification_id, Notification)
            now = self.clock.now()
            if notification is None or not notification.begin_push(now, resume=True):
                return None
            return notification

        return await self.store.transact(command)

    async def record_push(
        self, notification_id: UUID, attempts: list[tuple[UUID, str, str, str]], *, sent: bool
    ) -> None:
        """What pushing it did, device by device, and whether any device got it."""

        async def command(tx: Transaction) -> None:
            notification = await tx.get(notification_id, Notification)
            if notification is None:
                raise UnknownNotificationError(f"no notification {notification_id}")
            now = self.clock.now()
            for device_id, provider, outcome, response in attempts:
                notification.record_attempt(device_id, provider, outcome, response, now)
            notification.finish_push(sent, now)

        await self.store.transact(command)

    async def set_muted(
        self, user_id: UUID, kind: NotificationKind, muted: bool
    ) -> set[NotificationKind]:
        """Mute or unmute a kind for a user; the kinds muted afterwards. A streamer mutes
        incoming calls only with calls off (CannotMuteCallsError)."""

        async def command(tx: Transaction) -> set[NotificationKind]:
            user = await tx.get(user_id, User)
            availability = await tx.get(availability_id_of(user_id), Availability)
            preferences = await tx.get(preferences_id_of(user_id), Preferences)
            if preferences is None:
                preferences = Preferences(user_id=user_id)
                tx.add(preferences)
            if muted:
                streamer = user is not None and user.role is Role.STREAMER
                preferences.mute(kind, takes_calls=streamer and takes_calls(availability))
            else:
                preferences.unmute(kind)
            return set(preferences.muted)

        return await self.store.transact(command)

    async def calls_turned_on(self, user_id: UUID) -> None:
        """Turning calls on unmutes incoming calls."""

        async def command(tx: Transaction) -> None:
            preferences = await tx.get(preferences_id_of(user_id), Preferences)
            if preferences is not None:
                preferences.unmute(NotificationKind.INCOMING_CALL)

        await self.store.transact(command)
