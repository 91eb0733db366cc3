"""Blocks: one user refusing another. A block can be lifted and made again; every reason
given stays in the events, so operators can review them later."""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

NAMESPACE = uuid5(NAMESPACE_URL, "https://olo.app/blocklist")

REASON_MAX_CHARS = 500


class BlocklistError(Exception):
    """A blocklist rule was broken."""


class SelfBlockError(BlocklistError):
    def __init__(self) -> None:
        super().__init__("you cannot block yourself")


class ReasonTooLongError(BlocklistError):
    def __init__(self, length: int) -> None:
        super().__init__(f"the reason must be at most {REASON_MAX_CHARS} characters, not {length}")
        self.length = length


class NotBlockedError(BlocklistError):
    def __init__(self, blocked_id: UUID) -> None:
        super().__init__(f"user {blocked_id} is not blocked")
        self.blocked_id = blocked_id


def block_id_of(blocker_id: UUID, blocked_id: UUID) -> UUID:
    """The id of `blocker_id`'s block of `blocked_id` (direction matters)."""
    return uuid5(NAMESPACE, f"block:{blocker_id}:{blocked_id}")


def check_not_self(blocker_id: UUID, blocked_id: UUID) -> None:
    if blocker_id == blocked_id:
        raise SelfBlockError()


def check_reason(reason: str) -> None:
    if len(reason) > REASON_MAX_CHARS:
        raise ReasonTooLongError(len(reason))


class Block(Aggregate):
    """`blocker_id`'s refusal of `blocked_id`, active or lifted.

    Blocking while the block is active changes nothing (the first reason stands): a repeated
    or retried request must not report the same person twice. To give a new reason, unblock
    and block again; that is a new `Blocked` event next to the old one.
    """

    TOPIC = "olo.blocklist:Block"

    class Created(Aggregate.Created):
        TOPIC = "olo.blocklist:Block.Created"
        blocker_id: UUID
        blocked_id: UUID

    def __init__(self, blocker_id: UUID, blocked_id: UUID) -> None:
        check_not_self(blocker_id, blocked_id)
        self.blocker_id = blocker_id
        self.blocked_id = blocked_id
        self.reason = ""
        self.active = False

    @staticmethod
    def create_id(blocker_id: UUID, blocked_id: UUID) -> UUID:
        return block_id_of(blocker_id, blocked_id)

    def block(self, reason: str) -> bool:
        """Make the block active; False if it already was (then nothing is emitted)."""
        check_reason(reason)
        if self.active:
            return False
        self._blocked(self.blocker_id, self.blocked_id, reason)
        return True

    def unblock(self) -> None:
        if not self.active:
            raise NotBlockedError(self.blocked_id)
        self._unblocked(self.blocker_id, self.blocked_id)

    # The events repeat both ids so that read models and other domains (video ends a call
    # on a block) need nothing but the event itself.
    class Blocked(Aggregate.Event):
        TOPIC = "olo.blocklist:Block.Blocked"
        blocker_id: UUID
        blocked_id: UUID
        reason: str

    @event(Blocked)
    def _blocked(self, blocker_id: UUID, blocked_id: UUID, reason: str) -> None:
        self.reason = reason
        self.active = True

    class Unblocked(Aggregate.Event):
        TOPIC = "olo.blocklist:Block.Unblocked"
        blocker_id: UUID
        blocked_id: UUID

    @event(Unblocked)
    def _unblocked(self, blocker_id: UUID, blocked_id: UUID) -> None:
        self.active = False
