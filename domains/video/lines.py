"""The small aggregates around calls: a user's line (one open call at a time), their
availability for calls and roulette, and the Agora notices already counted."""

from __future__ import annotations

from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domains.video.aggregate import NAMESPACE


def line_id_of(user_id: UUID) -> UUID:
    return uuid5(NAMESPACE, f"line:{user_id}")


class Line(Aggregate):
    """A user's one line: at most one open call at a time, as caller or callee. Taking both
    lines in the call's own command is what makes two simultaneous calls to one streamer
    impossible (the second loses the optimistic-concurrency race and finds the line busy)."""

    TOPIC = "olo.video:Line"

    class Created(Aggregate.Created):
        TOPIC = "olo.video:Line.Created"

    class Opened(Created):
        TOPIC = "olo.video:Line.Opened"
        user_id: UUID

    @event(Opened)
    def __init__(self, user_id: UUID) -> None:
        self.user_id = user_id
        self.call_id: UUID | None = None

    @staticmethod
    def create_id(user_id: UUID) -> UUID:
        return line_id_of(user_id)

    @property
    def busy(self) -> bool:
        return self.call_id is not None

    class Engaged(Aggregate.Event):
        TOPIC = "olo.video:Line.Engaged"
        call_id: UUID

    @event(Engaged)
    def engage(self, call_id: UUID) -> None:
        self.call_id = call_id

    def release(self, call_id: UUID) -> None:
        if self.call_id == call_id:
            self._released(call_id)

    class Released(Aggregate.Event):
        TOPIC = "olo.video:Line.Released"
        call_id: UUID

    @event(Released)
    def _released(self, call_id: UUID) -> None:
        self.call_id = None


def availability_id_of(user_id: UUID) -> UUID:
    return uuid5(NAMESPACE, f"availability:{user_id}")


class Availability(Aggregate):
    """Whether a streamer takes direct calls, and whether they are in the roulette."""

    TOPIC = "olo.video:Availability"

    class Created(Aggregate.Created):
        TOPIC = "olo.video:Availability.Created"

    class Set(Created):
        TOPIC = "olo.video:Availability.Set"
        user_id: UUID
        calls: bool
        roulette: bool

    @event(Set)
    def __init__(self, user_id: UUID, calls: bool, roulette: bool) -> None:
        self.user_id = user_id
        self.calls = calls
        self.roulette = roulette

    @staticmethod
    def create_id(user_id: UUID) -> UUID:
        return availability_id_of(user_id)

    def change(self, calls: bool, roulette: bool) -> None:
        if (calls, roulette) != (self.calls, self.roulette):
            self._changed(calls, roulette)

    class Changed(Aggregate.Event):
        TOPIC = "olo.video:Availability.Changed"
        calls: bool
        roulette: bool

    @event(Changed)
    def _changed(self, calls: bool, roulette: bool) -> None:
        self.calls = calls
        self.roulette = roulette


def notice_id_of(notice_id: str) -> UUID:
    return uuid5(NAMESPACE, f"agora-notice:{notice_id}")


class MediaNotice(Aggregate):
    """An Agora channel notice, once: Agora may deliver one more than once, and a second
    delivery finds this aggregate already there."""

    TOPIC = "olo.video:MediaNotice"
    CACHED = False  # written once, looked up only if Agora delivers the notice again

    class Created(Aggregate.Created):
        TOPIC = "olo.video:MediaNotice.Created"

    class Received(Created):
        TOPIC = "olo.video:MediaNotice.Received"
        notice_id: str
        event_type: int
        channel: str
        uid: int | None

    @event(Received)
    def __init__(self, notice_id: str, event_type: int, channel: str, uid: int | None) -> None:
        self.notice_id = notice_id
        self.event_type = event_type
        self.channel = channel
        self.uid = uid

    @staticmethod
    def create_id(notice_id: str) -> UUID:
        return notice_id_of(notice_id)
