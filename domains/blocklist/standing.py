"""A user's standing: abuse reports from blocks, and the suspension pending review that K
distinct reporters within a window bring. One aggregate per user, written in the same unit
as the block that reports: concurrent blocks race on its version, so the K-th report
suspends exactly once (the losers retry and see the suspension)."""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domains.blocklist.aggregate import NAMESPACE, BlocklistError


class BlockCategory(StrEnum):
    """Why a user blocked someone, as the app offers it (the free-text reason rides along).

    Harassment, indecency and scams are abuse: they put the platform's users or its paid
    conversations at risk and count toward a suspension. Spam and "other" (no category given,
    or simply not wanting to see someone) do not: disliking someone is not misconduct."""

    HARASSMENT = "harassment"
    INDECENCY = "indecency"
    SCAM = "scam"
    SPAM = "spam"
    OTHER = "other"

    @property
    def abusive(self) -> bool:
        return self in ABUSIVE


ABUSIVE = frozenset({BlockCategory.HARASSMENT, BlockCategory.INDECENCY, BlockCategory.SCAM})


class SuspendedError(BlocklistError):
    def __init__(self, user_id: UUID) -> None:
        super().__init__("your account is suspended pending review")
        self.user_id = user_id


class NotSuspendedError(BlocklistError):
    def __init__(self, user_id: UUID) -> None:
        super().__init__(f"user {user_id} is not suspended")
        self.user_id = user_id


def standing_id_of(user_id: UUID) -> UUID:
    return uuid5(NAMESPACE, f"standing:{user_id}")


class Standing(Aggregate):
    """Abuse reports against `user_id` since their last review, and whether they are
    suspended. A lifted suspension starts the count afresh."""

    TOPIC = "olo.blocklist:Standing"

    class Created(Aggregate.Created):
        TOPIC = "olo.blocklist:Standing.Created"
        user_id: UUID

    def __init__(self, user_id: UUID) -> None:
        self.user_id = user_id
        self.reports: dict[UUID, float] = {}  # reporter -> their latest report's time
        self.suspended = False
        self.suspended_at: float | None = None

    @staticmethod
    def create_id(user_id: UUID) -> UUID:
        return standing_id_of(user_id)

    def reporters_within(self, at: float, window_seconds: float) -> list[UUID]:
        return sorted(r for r, when in self.reports.items() if at - when <= window_seconds)

    def report_abuse(
        self, reporter_id: UUID, category: BlockCategory, at: float, *, window: float, k: int
    ) -> bool:
        """Record an abuse report; suspend once `k` distinct reporters fall within `window`
        seconds. True if this report suspended the user."""
        self._reported(reporter_id, category.value, at)
        if self.suspended:
            return False
        reporters = self.reporters_within(at, window)
        if len(reporters) < k:
            return False
        self._suspended(self.user_id, [str(r) for r in reporters], at)
        return True

    def lift(self, operator: str, note: str, at: float) -> None:
        if not self.suspended:
            raise NotSuspendedError(self.user_id)
        self._lifted(self.user_id, operator, note, at)

    class AbuseReported(Aggregate.Event):
        TOPIC = "olo.blocklist:Standing.AbuseReported"
        reporter_id: UUID
        category: str  # a BlockCategory's value
        at: float

    @event(AbuseReported)
    def _reported(self, reporter_id: UUID, category: str, at: float) -> None:
        self.reports[reporter_id] = at

    class Suspended(Aggregate.Event):
        TOPIC = "olo.blocklist:Standing.Suspended"
        user_id: UUID
        reporters: list[str]  # the user ids whose reports brought it
        at: float

    @event(Suspended)
    def _suspended(self, user_id: UUID, reporters: list[str], at: float) -> None:
        self.suspended = True
        self.suspended_at = at

    class Lifted(Aggregate.Event):
        TOPIC = "olo.blocklist:Standing.Lifted"
        user_id: UUID
        operator: str
        note: str
        at: float

    @event(Lifted)
    def _lifted(self, user_id: UUID, operator: str, note: str, at: float) -> None:
        self.suspended = False
        self.suspended_at = None
        self.reports = {}
