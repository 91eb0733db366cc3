"""Commands of the blocklist: block and unblock a user, and the check other domains run
inside their own commands (video refuses calls between blocked users)."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from domains.blocklist.aggregate import (
    REASON_MAX_CHARS,
    Block,
    NotBlockedError,
    block_id_of,
    check_not_self,
    check_reason,
)
from domains.blocklist.standing import BlockCategory, Standing, standing_id_of
from domains.profile.aggregate import User
from domains.profile.service import UserNotFoundError
from eventlog import text
from eventlog.clock import Clock, SystemClock
from eventlog.store import AggregateStore, Transaction


@dataclass(frozen=True)
class ReviewRule:
    """`threshold` distinct people blocking a user for abuse within `window_seconds`
    suspend that user pending review."""

    threshold: int = 3
    window_seconds: float = 24 * 3600.0


@dataclass(frozen=True)
class BlockReceipt:
    """A block as it stands after the command."""

    block_id: UUID
    blocker_id: UUID
    blocked_id: UUID
    reason: str
    already_blocked: bool  # it was active before: nothing changed, the first reason stands
    suspended: bool = field(default=False)  # this block's abuse report suspended the user


async def _load_block(tx: Transaction, blocker_id: UUID, blocked_id: UUID) -> Block | None:
    return await tx.get(block_id_of(blocker_id, blocked_id), Block)


async def blocked_between(tx: Transaction, a: UUID, b: UUID) -> bool:
    """True if either user has an active block on the other.

    Call it inside a command before changing any aggregate (a Transaction loads first).
    """
    if a == b:
        return False
    for blocker, blocked in ((a, b), (b, a)):
        block = await _load_block(tx, blocker, blocked)
        if block is not None and block.active:
            return True
    return False


async def user_exists(tx: Transaction, user_id: UUID) -> bool:
    """Is `user_id` a registered user (inside a command, loading before any change)."""
    try:
        return await tx.get(user_id, User) is not None
    except TypeError:  # the id of something that is not a user
        return False


class BlocklistService:
    """Blocking and unblocking users."""

    def __init__(
        self,
        store: AggregateStore,
        clock: Clock | None = None,
        review: ReviewRule = ReviewRule(),
    ) -> None:
        self.store = store
        self.clock = clock or SystemClock()
        self.review = review

    async def block(
        self,
        blocker_id: UUID,
        blocked_id: UUID,
        reason: str = "",
        category: BlockCategory = BlockCategory.OTHER,
    ) -> BlockReceipt:
        """Block a user; blocking someone already blocked changes nothing. A new block for
        an abusive category reports the user in the same unit (and may suspend them)."""
        check_not_self(blocker_id, blocked_id)
        check_reason(reason)
        reason = text.multiline(reason, "reason", REASON_MAX_CHARS)
        category = BlockCategory(category)

        async def command(tx: Transaction) -> BlockReceipt:
            if not await user_exists(tx, blocked_id):
                raise UserNotFoundError(str(blocked_id))
            block = await _load_block(tx, blocker_id, blocked_id)
            standing_id = standing_id_of(blocked_id)
            standing = await tx.get(standing_id, Standing) if category.abusive else None
            if block is None:
                block = Block(blocker_id=blocker_id, blocked_id=blocked_id)
                tx.add(block)
            changed = block.block(reason)
            suspended = False
            if changed and category.abusive:
                if standing is None:
                    standing = Standing(user_id=blocked_id)
                    tx.add(standing)
                suspended = standing.report_abuse(
                    blocker_id,
                    category,
                    self.clock.now(),
                    window=self.review.window_seconds,
                    k=self.review.threshold,
                )
            return BlockReceipt(
                block.id, blocker_id, blocked_id, block.reason, not changed, suspended
            )

        return await self.store.transact(command)

    async def unblock(self, blocker_id: UUID, blocked_id: UUID) -> None:
        """Lift a block; NotBlockedError if there is no active one."""

        async def command(tx: Transaction) -> None:
            block = await _load_block(tx, blocker_id, blocked_id)
            if block is None:
                raise NotBlockedError(blocked_id)
            block.unblock()

        await self.store.transact(command)
