"""Notifications: each one an event-sourced record of getting a message to a user.

requested -> delivered in-app -> acknowledged, or (no live connection, or no ACK in time)
-> pushing (claimed by the dispatcher before any provider is asked) -> pushed | failed, with
every attempt and the provider's answer; or withdrawn before any push (a call that stopped
ringing needs no ringing push).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

NAMESPACE = uuid5(NAMESPACE_URL, "https://olo.app/notification")

PAYLOAD_LIMIT = 4000  # characters of JSON: push providers cap payloads at about 4 KB


class NotificationKind(StrEnum):
    INCOMING_CALL = "incoming_call"
    MISSED_CALL = "missed_call"
    CALL_ENDED = "call_ended"  # ended by the system (funds, block); also dismisses ringing
    LOW_BALANCE = "low_balance"
    # The call stopped ringing (answered, declined, cancelled, missed): dismisses the ringing
    # that a push started on the user's devices. Push only, at once, and never muted.
    RINGING_ENDED = "ringing_ended"
    FAVORITE_ONLINE = "favorite_online"  # a user you favorited came online (favorites)
    GIFT_RECEIVED = "gift_received"  # a streamer was sent a gift (gift domain)
    # A chat message to someone offline; its pushes collapse per chat (the chat's id).
    NEW_MESSAGE = "new_message"


PUSH_ONLY = frozenset({NotificationKind.RINGING_ENDED})


class NotificationStatus(StrEnum):
    REQUESTED = "requested"
    DELIVERED = "delivered"  # handed to a live in-app subscription, not yet acknowledged
    ACKNOWLEDGED = "acknowledged"
    WITHDRAWN = "withdrawn"  # no longer worth showing, and no push had begun
    PUSHING = "pushing"  # claimed for a push: providers may have it, the result is not in
    PUSHED = "pushed"
    FAILED = "failed"


class NotificationError(Exception):
    """A notification rule was broken."""


class PayloadTooLargeError(NotificationError):
    pass


def notification_id_of(key: str) -> UUID:
    """One notification per key: asking twice (a replay, a retry) is asking once."""
    return uuid5(NAMESPACE, f"notification:{key}")


class Notification(Aggregate):
    """One message to one user, and what became of it."""

    TOPIC = "olo.notification:Notification"

    class Created(Aggregate.Created):
        TOPIC = "olo.notification:Notification.Created"

    class Requested(Created):
        TOPIC = "olo.notification:Notification.Requested"
        key: str
        recipient_id: UUID
        kind: str  # a NotificationKind's value
        payload: dict[str, Any]
        at: float
        ack_deadline: float
        skip_device_id: UUID | None

    @event(Requested)
    def __init__(
        self,
        key: str,
        recipient_id: UUID,
        kind: NotificationKind,
        payload: dict[str, Any],
        at: float,
        ack_deadline: float,
        skip_device_id: UUID | None = None,
    ) -> None:
        self.key = key
        self.recipient_id = recipient_id
        self.kind = NotificationKind(kind)
        self.payload = payload
        self.requested_at = at
        self.ack_deadline = ack_deadline
        self.skip_device_id = skip_device_id  # the device that needs no push (it answered)
        self.status = NotificationStatus.REQUESTED
        self.attempts = 0
        self.push_rounds = 0  # a round a dispatcher began; more than one after a crash

    @staticmethod
    def create_id(key: str) -> UUID:
        return notification_id_of(key)

    @property
    def settled(self) -> bool:
        """Nothing more will be done for it."""
        return self.status in (
            NotificationStatus.ACKNOWLEDGED,
            NotificationStatus.WITHDRAWN,
            NotificationStatus.PUSHED,
            NotificationStatus.FAILED,
        )

    @property
    def push_begun(self) -> bool:
        """A provider may have been asked to push it."""
        return self.push_rounds > 0

    @property
    def waiting(self) -> bool:
        """Not yet claimed for a push, nor settled."""
        return self.status in (NotificationStatus.REQUESTED, NotificationStatus.DELIVERED)

    def deliver_in_app(self, at: float) -> None:
        if self.status is NotificationStatus.REQUESTED and self.kind not in PUSH_ONLY:
            self._delivered(at)

    class DeliveredInApp(Aggregate.Event):
        TOPIC = "olo.notification:Notification.DeliveredInApp"
        at: float

    @event(DeliveredInApp)
    def _delivered(self, at: float) -> None:
        self.status = NotificationStatus.DELIVERED

    def acknowledge(self, at: float) -> None:
        """The app confirmed it showed the notification; acknowledging twice is harmless.
        A push-only notification goes to devices the in-app stream does not reach: an ACK
        does not stop it."""
        if self.waiting and self.kind not in PUSH_ONLY:
            self._acknowledged(at)

    class Acknowledged(Aggregate.Event):
        TOPIC = "olo.notification:Notification.Acknowledged"
        at: float

    @event(Acknowledged)
    def _acknowledged(self, at: float) -> None:
        self.status = NotificationStatus.ACKNOWLEDGED

    def withdraw(self, at: float) -> bool:
        """It is no longer worth showing: no push will begin. True if one already had (its
        effect on the devices must be undone by another notification)."""
        if self.waiting:
            self._withdrawn(at)
        return self.push_begun

    class Withdrawn(Aggregate.Event):
        TOPIC = "olo.notification:Notification.Withdrawn"
        at: float

    @event(Withdrawn)
    def _withdrawn(self, at: float) -> None:
        self.status = NotificationStatus.WITHDRAWN

    def begin_push(self, at: float, *, resume: bool = False) -> bool:
        """Claim it for a push before any provider is asked, so a withdrawal racing the push
        knows it began, and a restart knows which pushes are in doubt. A claimed one is
        claimed again only to `resume` a round a crash cut short. False: nothing to push."""
        if not (self.waiting or (resume and self.status is NotificationStatus.PUSHING)):
            return False
        self._push_started(self.push_rounds + 1, at)
        return True

    class PushStarted(Aggregate.Event):
        TOPIC = "olo.notification:Notification.PushStarted"
        round: int  # the dispatcher's round: more than one after a crash cut one short
        at: float

    @event(PushStarted)
    def _push_started(self, round: int, at: float) -> None:
        self.push_rounds = round
        self.status = NotificationStatus.PUSHING

    def record_attempt(
        self, device_id: UUID, provider: str, outcome: str, response: str, at: float
    ) -> None:
        """One try to push to one device, with the provider's answer (kept short)."""
        self._attempted(device_id, provider, outcome, response[:500], at)

    class PushAttempted(Aggregate.Event):
        TOPIC = "olo.notification:Notification.PushAttempted"
        device_id: UUID
        provider: str
        outcome: str
        response: str  # the provider's answer, cut to 500 characters
        at: float

    @event(PushAttempted)
    def _attempted(
        self, device_id: UUID, provider: str, outcome: str, response: str, at: float
    ) -> None:
        self.attempts += 1

    def finish_push(self, sent: bool, at: float) -> None:
        if self.settled:
            return
        if sent:
            self._pushed(at)
        else:
            self._failed(at)

    class Pushed(Aggregate.Event):
        TOPIC = "olo.notification:Notification.Pushed"
        at: float

    @event(Pushed)
    def _pushed(self, at: float) -> None:
        self.status = NotificationStatus.PUSHED

    class Failed(Aggregate.Event):
        TOPIC = "olo.notification:Notification.Failed"
        at: float

    @event(Failed)
    def _failed(self, at: float) -> None:
        self.status = NotificationStatus.FAILED


class CannotMuteError(NotificationError):
    """This kind of notification cannot be muted (now)."""


class CannotMuteCallsError(CannotMuteError):
    """Incoming calls cannot be muted by a streamer who takes calls."""


def preferences_id_of(user_id: UUID) -> UUID:
    return uuid5(NAMESPACE, f"preferences:{user_id}")


class Preferences(Aggregate):
    """Which kinds of notification a user has muted."""

    TOPIC = "olo.notification:Preferences"

    class Created(Aggregate.Created):
        TOPIC = "olo.notification:Preferences.Created"

    class Started(Created):
        TOPIC = "olo.notification:Preferences.Started"
        user_id: UUID

    @event(Started)
    def __init__(self, user_id: UUID) -> None:
        self.user_id = user_id
        self.muted: set[NotificationKind] = set()

    @staticmethod
    def create_id(user_id: UUID) -> UUID:
        return preferences_id_of(user_id)

    def mute(self, kind: NotificationKind, *, takes_calls: bool) -> None:
        """Incoming calls can be muted only while calls are off: a call that may ring must
        notify (turning calls on unmutes them, see `unmute`)."""
        kind = NotificationKind(kind)
        if kind in PUSH_ONLY:
            raise CannotMuteError("this kind only stops ringing on your devices")
        if kind is NotificationKind.INCOMING_CALL and takes_calls:
            raise CannotMuteCallsError("turn calls off before muting incoming calls")
        if kind not in self.muted:
            self._muted(kind)

    class Muted(Aggregate.Event):
        TOPIC = "olo.notification:Preferences.Muted"
        kind: str  # a NotificationKind's value

    @event(Muted)
    def _muted(self, kind: NotificationKind) -> None:
        self.muted.add(NotificationKind(kind))

    def unmute(self, kind: NotificationKind) -> None:
        if NotificationKind(kind) in self.muted:
            self._unmuted(NotificationKind(kind))

    class Unmuted(Aggregate.Event):
        TOPIC = "olo.notification:Preferences.Unmuted"
        kind: str

    @event(Unmuted)
    def _unmuted(self, kind: NotificationKind) -> None:
        self.muted.discard(NotificationKind(kind))
