"""Review of users' conduct: suspensions (brought by abuse blocks, lifted by an operator),
the check other domains run inside their commands, and fines taken from a streamer's
earnings to the platform."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from domains.balance.aggregate import PlatformAccount
from domains.balance.service import AccountRef, TransferReceipt, move
from domains.blocklist.standing import Standing, SuspendedError, standing_id_of
from eventlog import text
from eventlog.clock import Clock
from eventlog.store import AggregateStore, Transaction

FINE_REASON = "fine"  # the ledger's reason on a fine's movements (the text is the memo)
FINE_TEXT_MAX_CHARS = 500


async def check_not_suspended(tx: Transaction, user_id: UUID) -> None:
    """Raise SuspendedError if `user_id` is suspended pending review. Call it inside a
    command before changing any aggregate (chat and gifts apply it as video does)."""
    standing = await tx.get(standing_id_of(user_id), Standing)
    if standing is not None and standing.suspended:
        raise SuspendedError(user_id)


async def ensure_not_suspended(store: AggregateStore, user_id: UUID) -> None:
    """Raise SuspendedError if `user_id` is suspended, as the log has it (outside a command:
    a refusal before any work, such as a roulette search)."""
    standing = await store.load(standing_id_of(user_id), fresh=True)
    if isinstance(standing, Standing) and standing.suspended:
        raise SuspendedError(user_id)


@dataclass(frozen=True)
class Suspension:
    user_id: UUID
    suspended_at: float


class ReviewService:
    """Suspensions and fines (operators reach these from mission control)."""

    def __init__(self, store: AggregateStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    async def suspension(self, user_id: UUID) -> Suspension | None:
        """The user's suspension as the log has it; None if they are not suspended."""
        standing = await self.store.load(standing_id_of(user_id), fresh=True)
        if not isinstance(standing, Standing) or not standing.suspended:
            return None
        assert standing.suspended_at is not None
        return Suspension(user_id, standing.suspended_at)

    async def lift_suspension(self, user_id: UUID, operator: str, note: str = "") -> None:
        """An operator reviewed the user and lifts the suspension (NotSuspendedError if there
        is none); their abuse reports so far no longer count."""
        note = text.multiline(note, "note", FINE_TEXT_MAX_CHARS)

        async def command(tx: Transaction) -> None:
            standing = await tx.get(standing_id_of(user_id), Standing)
            if standing is None:
                standing = Standing(user_id=user_id)  # never reported: lift() refuses
            standing.lift(operator, note, self.clock.now())

        await self.store.transact(command)

    async def fine(self, streamer_id: UUID, coins: int, reason: str, key: str) -> TransferReceipt:
        """Take `coins` from the streamer's earnings to the platform's revenue, once per key;
        InsufficientFundsError (nothing moves) if the earnings hold less."""
        reason = text.multiline(reason, "reason", FINE_TEXT_MAX_CHARS)

        async def command(tx: Transaction) -> TransferReceipt:
            return await move(
                tx,
                key=f"fine/{key}",
                source=AccountRef.earnings(streamer_id),
                target=AccountRef.platform(PlatformAccount.REVENUE),
                amount=coins,
                reason=FINE_REASON,
                memo=reason,
            )

        return await self.store.transact(command)
