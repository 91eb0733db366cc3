"""GraphQL for the blocklist: `block`, `unblock`, and the viewer's `blocked` list."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import strawberry
from strawberry.types import Info

from domains.blocklist.aggregate import NotBlockedError, ReasonTooLongError, SelfBlockError
from domains.blocklist.queries import BlocklistQueries
from domains.blocklist.service import BlocklistService
from domains.profile.service import UserNotFoundError
from eventlog.api import Context, InvalidInput, NotFound


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


BlockResult = Annotated[UserBlocked | InvalidInput | NotFound, strawberry.union("BlockResult")]
UnblockResult = Annotated[
    UserUnblocked | InvalidInput | NotFound, strawberry.union("UnblockResult")
]


def _user_id(value: str) -> UUID | None:
    try:
        return UUID(value)
    except ValueError:
        return None


def _bad_user_id(value: str) -> InvalidInput:
    return InvalidInput(message=f"userId {value!r} is not a user id", field="userId")


@strawberry.type
class BlocklistQuery:
    @strawberry.field(description="The users you blocked, newest first.")
    async def blocked(self, info: Info[Context, None]) -> list[BlockedUser]:
        viewer = await info.context.viewer()
        rows = await info.context.get(BlocklistQueries).blocked(viewer.user_id)
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
        self, info: Info[Context, None], user_id: strawberry.ID, reason: str | None = ""
    ) -> BlockResult:
        viewer = await info.context.viewer()
        blocked_id = _user_id(user_id)
        if blocked_id is None:
            return _bad_user_id(user_id)
        try:
            receipt = await info.context.get(BlocklistService).block(
                viewer.user_id, blocked_id, reason or ""
            )
        except SelfBlockError as error:
            return InvalidInput(message=str(error), field="userId")
        except ReasonTooLongError as error:
            return InvalidInput(message=str(error), field="reason")
        except UserNotFoundError:
            return NotFound(message=f"there is no user {blocked_id}")
        return UserBlocked(
            user_id=strawberry.ID(str(receipt.blocked_id)),
            reason=receipt.reason,
            already_blocked=receipt.already_blocked,
        )

    @strawberry.mutation(description="Lift your block of a user.")
    async def unblock(self, info: Info[Context, None], user_id: strawberry.ID) -> UnblockResult:
        viewer = await info.context.viewer()
        blocked_id = _user_id(user_id)
        if blocked_id is None:
            return _bad_user_id(user_id)
        try:
            await info.context.get(BlocklistService).unblock(viewer.user_id, blocked_id)
        except NotBlockedError as error:
            return NotFound(message=str(error))
        return UserUnblocked(user_id=strawberry.ID(str(blocked_id)))
