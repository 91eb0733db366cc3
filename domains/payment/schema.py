"""GraphQL for buying coins."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from domains.payment.aggregate import (
    InvalidReceiptError,
    ReceiptAlreadyUsedError,
    UnknownCoinPackError,
    UnsupportedStoreError,
)
from domains.payment.service import PurchaseResult
from domains.payment.services import PaymentServices
from eventlog.api import (
    Context,
    ErrorResults,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    result_of,
)


@strawberry.type
class CoinPack:
    id: strawberry.ID
    coins: int
    price: str
    currency: str


@strawberry.type(description="The coins are in your wallet (`replayed`: they already were).")
class CoinsPurchased:
    purchase_id: strawberry.ID
    coins: int
    replayed: bool


PurchaseCoinsResult = Annotated[
    CoinsPurchased | InvalidInput | NotFound | Forbidden | RateLimited,
    strawberry.union("PurchaseCoinsResult"),
]


PAYMENT_ERRORS: ErrorResults = {
    UnknownCoinPackError: lambda e: NotFound(message=str(e)),
    UnsupportedStoreError: lambda e: InvalidInput(message=str(e), field="store"),
    InvalidReceiptError: lambda e: InvalidInput(message=str(e), field="receipt"),
    ReceiptAlreadyUsedError: lambda e: Forbidden(message=str(e)),
}


def _purchased(result: PurchaseResult) -> CoinsPurchased:
    return CoinsPurchased(
        purchase_id=strawberry.ID(str(result.purchase_id)),
        coins=result.coins,
        replayed=result.replayed,
    )


@strawberry.type
class PaymentQuery:
    @strawberry.field(description="The coin packs on sale.")
    async def coin_packs(self, info: Info[Context[PaymentServices], None]) -> list[CoinPack]:
        packs = info.context.services.payments.packs.values()
        return [
            CoinPack(id=strawberry.ID(p.id), coins=p.coins, price=p.price, currency=p.currency)
            for p in packs
        ]


@strawberry.type
class PaymentMutation:
    @strawberry.mutation(description="Redeem a store purchase of a coin pack.")
    async def purchase_coins(
        self, info: Info[Context[PaymentServices], None], pack_id: str, store: str, receipt: str
    ) -> PurchaseCoinsResult:
        viewer = await info.context.viewer()
        if limited := await info.context.rate_limited("purchaseCoins"):
            return limited
        purchasing = info.context.services.payments.purchase_coins(
            viewer.user_id, pack_id=pack_id, store=store, receipt=receipt
        )
        return await result_of(purchasing, _purchased, PAYMENT_ERRORS)
