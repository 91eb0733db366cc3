"""GraphQL for the blocklist: `block`, `unblock`, and the viewer's `blocked` list."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Protocol
from uuid import UUID

import strawberry
from strawberry.types import Info

from domains.balance.schema import Me as BalanceMe
from domains.blocklist.aggregate import NotBlockedError, ReasonTooLongError, SelfBlockError
from domains.blocklist.review import ReviewService
from domains.blocklist.service import BlockReceipt
from domains.blocklist.services import BlocklistServices
from domains.blocklist.standing import BlockCategory, SuspendedError
from domains.profile.schema import own_profile_fields
from domains.profile.service import ProfileService, UserNotFoundError
from eventlog.api import (
    Context,
    ErrorResults,
    InvalidInput,
    NotFound,
    RateLimited,
    parse_uuid,
    result_of,
    shown,
)

# Registered as the GraphQL enum `BlockCategory` (strawberry marks the class itself).
strawberry.enum(
    BlockCategory,
    name="BlockCategory",
    description="Why you block someone. HARASSMENT, INDECENCY and SCAM report abuse: enough "
    "distinct reports within a window suspend the user pending review.",
)


@strawberry.type(description="Your account is suspended pending review: you cannot do this.")
class Suspended:
    message: str


@strawberry.type(description="Your account's suspension pending review.")
class Suspension:
    suspended_at: datetime


class _MeServices(Protocol):
    """What `me` reads: the profile, and the viewer's standing (the running services
    record has both)."""

    @property
    def profiles(self) -> ProfileService: ...

    @property
    def review(self) -> ReviewService: ...


@strawberry.type(name="Me", description="You: your profile, your balance, your standing.")
class Me(BalanceMe):
    @strawberry.field(description="Your suspension pending review; null when there is none.")
    async def suspension(self, info: Info[Context[_MeServices], None]) -> Suspension | None:
        viewer = await info.context.viewer()
        found = await info.context.services.review.suspension(viewer.user_id)
        if found is None:
            return None
        return Suspension(suspended_at=datetime.fromtimestamp(found.suspended_at, UTC))


@strawberry.type(description="Someone you blocked: no calls or matches between you.")
class BlockedUser:
    user_id: strawberry.ID
    display_name: str | None
    reason: str
    blocked_at: datetime


@strawberry.type(description="The user is blocked (`alreadyBlocked`: they were; reason kept).")
class UserBlocked:
    user_id: strawberry.ID
    reason: str
    already_blocked: bool


@strawberry.type(description="The user is no longer blocked.")
class UserUnblocked:
    user_id: strawberry.ID


BlockResult = Annotated[
    UserBlocked | InvalidInput | NotFound | RateLimited, strawberry.union("BlockResult")
]
UnblockResult = Annotated[
    UserUnblocked | InvalidInput | NotFound, strawberry.union("UnblockResult")
]


def parse_user_id(value: str) -> UUID | InvalidInput:
    """A `userId` argument as an id, or the InvalidInput the app is shown."""
    return parse_uuid(value, "userId", "user id", message=f"userId {shown(value)} is not a user id")


BLOCKLIST_ERRORS: ErrorResults = {
    SelfBlockError: lambda e: InvalidInput(message=str(e), field="userId"),
    ReasonTooLongError: lambda e: InvalidInput(message=str(e), field="reason"),
    UserNotFoundError: lambda e: NotFound(message=f"there is no user {e}"),
    NotBlockedError: lambda e: NotFound(message=str(e)),
}

# For the mutations of every domain that refuse a suspended user (video, chat, gifts).
SUSPENDED_ERRORS: ErrorResults = {SuspendedError: lambda e: Suspended(message=str(e))}


def _blocked(receipt: BlockReceipt) -> UserBlocked:
    return UserBlocked(
        user_id=strawberry.ID(str(receipt.blocked_id)),
        reason=receipt.reason,
        already_blocked=receipt.already_blocked,
    )


@strawberry.type
class BlocklistQuery:
    @strawberry.field(description="The signed-in user.")
    async def me(self, info: Info[Context[_MeServices], None]) -> Me:
        viewer = await info.context.viewer()
        user = await info.context.services.profiles.user(viewer.user_id)
        return Me(**own_profile_fields(user))

    @strawberry.field(description="The users you blocked, newest first.")
    async def blocked(self, info: Info[Context[BlocklistServices], None]) -> list[BlockedUser]:
        viewer = await info.context.viewer()
        rows = await info.context.services.blocklist_queries.blocked(viewer.user_id)
        return [
            BlockedUser(
                user_id=strawberry.ID(str(r.user_id)),
                display_name=r.display_name,
                reason=r.reason,
                blocked_at=r.blocked_at,
            )
            for r in rows
        ]


@strawberry.type
class BlocklistMutation:
    @strawberry.mutation(description="Block a user: no calls or matches between you two.")
    async def block(
        self,
        info: Info[Context[BlocklistServices], None],
        user_id: strawberry.ID,
        reason: str | None = "",
        category: BlockCategory | None = None,
    ) -> BlockResult:
        viewer = await info.context.viewer()
        blocked_id = parse_user_id(user_id)
        if isinstance(blocked_id, InvalidInput):
            return blocked_id
        if limited := await info.context.rate_limited("block"):
            return limited
        blocking = info.context.services.blocklist.block(
            viewer.user_id, blocked_id, reason or "", category or BlockCategory.OTHER
        )
        return await result_of(blocking, _blocked, BLOCKLIST_ERRORS)

    @strawberry.mutation(description="Lift your block of a user.")
    async def unblock(
        self, info: Info[Context[BlocklistServices], None], user_id: strawberry.ID
    ) -> UnblockResult:
        viewer = await info.context.viewer()
        blocked_id = parse_user_id(user_id)
        if isinstance(blocked_id, InvalidInput):
            return blocked_id
        unblocking = info.context.services.blocklist.unblock(viewer.user_id, blocked_id)
        unblocked = UserUnblocked(user_id=strawberry.ID(str(blocked_id)))
        return await result_of(unblocking, lambda _: unblocked, BLOCKLIST_ERRORS)
