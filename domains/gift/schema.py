"""GraphQL for gifts: the `gifts` catalog and `sendGift`."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import strawberry
from strawberry.types import Info

from domains.balance.aggregate import InsufficientFundsError
from domains.blocklist.schema import SUSPENDED_ERRORS, Suspended
from domains.gift.aggregate import (
    CallNotOngoingError,
    GiftBlockedError,
    GiftInactiveError,
    InvalidGiftError,
    KeyReusedError,
    NotAStreamerError,
    SelfGiftError,
    UnknownGiftError,
)
from domains.gift.queries import CatalogGift
from domains.gift.service import GiftReceipt
from domains.gift.services import GiftServices
from domains.video.results import Blocked, InsufficientFunds
from eventlog.api import (
    Context,
    ErrorResults,
    InvalidInput,
    NotFound,
    RateLimited,
    parse_uuid,
    result_of,
)


@strawberry.type(description="A gift of the catalog: what it costs and the streamer's share.")
class GiftView:
    id: strawberry.ID
    name: str
    price: int = strawberry.field(description="Coins the sender pays.")
    streamer_share: int = strawberry.field(description="Percent of the price the streamer earns.")
    image_url: str


@strawberry.type(description="The gift was sent (`replayed`: this idempotencyKey already had).")
class GiftSent:
    id: strawberry.ID = strawberry.field(description="The send's id.")
    gift_id: strawberry.ID
    name: str
    image_url: str
    coins: int = strawberry.field(description="Coins paid.")
    to_user_id: strawberry.ID
    call_id: strawberry.ID | None
    balance: int = strawberry.field(description="Your wallet right after paying for it.")
    replayed: bool


SendGiftResult = Annotated[
    GiftSent | InsufficientFunds | InvalidInput | Blocked | Suspended | NotFound | RateLimited,
    strawberry.union("SendGiftResult"),
]


def _funds(error: InsufficientFundsError) -> InsufficientFunds:
    return InsufficientFunds(message=str(error), coins=error.coins, needed=error.needed)


GIFT_ERRORS: ErrorResults = {
    InsufficientFundsError: _funds,
    SelfGiftError: lambda e: InvalidInput(message=str(e), field="toUserId"),
    NotAStreamerError: lambda e: InvalidInput(message=str(e), field="toUserId"),
    UnknownGiftError: lambda e: InvalidInput(message=str(e), field="giftId"),
    GiftInactiveError: lambda e: InvalidInput(message=str(e), field="giftId"),
    InvalidGiftError: lambda e: InvalidInput(message=str(e), field=e.field),
    KeyReusedError: lambda e: InvalidInput(message=str(e), field="idempotencyKey"),
    GiftBlockedError: lambda e: Blocked(message=str(e)),
    CallNotOngoingError: lambda e: NotFound(message=str(e)),
    **SUSPENDED_ERRORS,
}


def gift_view(g: CatalogGift) -> GiftView:
    return GiftView(
        id=strawberry.ID(str(g.gift_id)),
        name=g.name,
        price=g.price,
        streamer_share=g.streamer_share,
        image_url=g.image_url,
    )


def _sent(r: GiftReceipt) -> GiftSent:
    return GiftSent(
        id=strawberry.ID(str(r.send_id)),
        gift_id=strawberry.ID(str(r.gift_id)),
        name=r.name,
        image_url=r.image_url,
        coins=r.coins,
        to_user_id=strawberry.ID(str(r.recipient_id)),
        call_id=strawberry.ID(str(r.call_id)) if r.call_id is not None else None,
        balance=r.sender_balance,
        replayed=r.replayed,
    )


def _ids(
    to_user_id: str, gift_id: str, call_id: str | None
) -> tuple[UUID, UUID, UUID | None] | InvalidInput:
    recipient = parse_uuid(to_user_id, "toUserId", "user id")
    gift = parse_uuid(gift_id, "giftId", "gift id")
    call = None if call_id is None else parse_uuid(call_id, "callId", "call id")
    for parsed in (recipient, gift, call):
        if isinstance(parsed, InvalidInput):
            return parsed
    assert isinstance(recipient, UUID) and isinstance(gift, UUID)
    return recipient, gift, call if isinstance(call, UUID) else None


@strawberry.type
class GiftQuery:
    @strawberry.field(description="The gifts on sale, cheapest first.")
    async def gifts(self, info: Info[Context[GiftServices], None]) -> list[GiftView]:
        await info.context.viewer()
        return [gift_view(g) for g in await info.context.services.gift_queries.active()]


@strawberry.type
class GiftMutation:
    @strawberry.mutation(
        description="Send a streamer a gift (in a connected call of yours with them: `callId`). "
        "Once per `idempotencyKey`: sent again, it answers the first result and moves nothing."
    )
    async def send_gift(
        self,
        info: Info[Context[GiftServices], None],
        to_user_id: str,
        gift_id: str,
        idempotency_key: str,
        call_id: str | None = None,
    ) -> SendGiftResult:
        viewer = await info.context.viewer()
        ids = _ids(to_user_id, gift_id, call_id)
        if isinstance(ids, InvalidInput):
            return ids
        if limited := await info.context.rate_limited("sendGift"):
            return limited
        recipient, gift, call = ids
        sending = info.context.services.gifts.send(
            viewer.user_id, recipient, gift, key=idempotency_key, call_id=call
        )
        return await result_of(sending, _sent, GIFT_ERRORS)
