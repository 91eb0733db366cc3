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
from domains.payment.service import PaymentService
from eventlog.api import Context, Forbidden, InvalidInput, NotFound


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
    CoinsPurchased | InvalidInput | NotFound | Forbidden,
    strawberry.union("PurchaseCoinsResult"),
]


@strawberry.type
class PaymentQuery:
    @strawberry.field(description="The coin packs on sale.")
    async def coin_packs(self, info: Info[Context, None]) -> list[CoinPack]:
        packs = info.context.get(PaymentService).packs.values()
        return [
            CoinPack(id=strawberry.ID(p.id), coins=p.coins, price=p.price, currency=p.currency)
            for p in packs
        ]


@strawberry.type
class PaymentMutation:
    @strawberry.mutation(description="Redeem a store purchase of a coin pack.")
    async def purchase_coins(
        self, info: Info[Context, None], pack_id: str, store: str, receipt: str
    ) -> PurchaseCoinsResult:
        viewer = await info.context.viewer()
        try:
            result = await info.context.get(PaymentService).purchase_coins(
                viewer.user_id, pack_id=pack_id, store=store, receipt=receipt
            )
        except UnknownCoinPackError as error:
            return NotFound(message=str(error))
        except UnsupportedStoreError as error:
            return InvalidInput(message=str(error), field="store")
        except InvalidReceiptError as error:
            return InvalidInput(message=str(error), field="receipt")
        except ReceiptAlreadyUsedError as error:
            return Forbidden(message=str(error))
        return CoinsPurchased(
            purchase_id=strawberry.ID(str(result.purchase_id)),
            coins=result.coins,
            replayed=result.replayed,
        )
