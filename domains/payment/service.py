"""Buying coins: verify the store receipt, then credit the wallet once per transaction."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from uuid import UUID

from domains.balance.aggregate import PlatformAccount
from domains.balance.service import AccountRef, move
from domains.payment.aggregate import (
    InvalidReceiptError,
    Purchase,
    UnknownCoinPackError,
    UnsupportedStoreError,
    purchase_id_of,
)
from eventlog.store import EventStore, Transaction

DEFAULT_PACKS = Path(__file__).with_name("coin_packs.json")


@dataclass(frozen=True)
class CoinPack:
    id: str
    coins: int
    price: str
    currency: str


def load_coin_packs(path: Path | None = None) -> dict[str, CoinPack]:
    """Coin packs are data: a JSON list of {id, coins, price, currency}."""
    packs = [CoinPack(**p) for p in json.loads((path or DEFAULT_PACKS).read_text())]
    return {p.id: p for p in packs}


@dataclass(frozen=True)
class VerifiedReceipt:
    store: str
    transaction_id: str
    product_id: str


class ReceiptVerifier(Protocol):
    async def verify(self, store: str, receipt: str, product_id: str) -> VerifiedReceipt:
        """The store's word on a receipt; raises InvalidReceiptError."""
        ...


class NoStoreVerifier:
    """Production until a store's verifier is plugged in: no store is accepted (the sandbox
    would credit coins for any made-up transaction id)."""

    async def verify(self, store: str, receipt: str, product_id: str) -> VerifiedReceipt:
        raise UnsupportedStoreError(f"store {store!r} is not enabled here")


class SandboxVerifier:
    """Development and tests: store `sandbox`, the receipt is the transaction id."""

    async def verify(self, store: str, receipt: str, product_id: str) -> VerifiedReceipt:
        if store != "sandbox":
            raise UnsupportedStoreError(f"store {store!r} is not enabled here; use 'sandbox'")
        receipt = receipt.strip()
        if not receipt or len(receipt) > 200 or not receipt.isprintable():
            raise InvalidReceiptError("a sandbox receipt is a transaction id of 1-200 characters")
        return VerifiedReceipt(store, receipt, product_id)


@dataclass(frozen=True)
class PurchaseResult:
    purchase_id: UUID
    coins: int
    replayed: bool


class PaymentService:
    def __init__(
        self, store: EventStore, verifier: ReceiptVerifier, packs: dict[str, CoinPack]
    ) -> None:
        self.store = store
        self.verifier = verifier
        self.packs = packs

    async def purchase_coins(
        self, user_id: UUID, *, pack_id: str, store: str, receipt: str
    ) -> PurchaseResult:
        """Credit a coin pack bought in a store, once per store transaction."""
        pack = self.packs.get(pack_id)
        if pack is None:
            raise UnknownCoinPackError(f"no coin pack {pack_id!r}")
        verified = await self.verifier.verify(store, receipt, pack.id)

        async def command(tx: Transaction) -> PurchaseResult:
            # A redeemed transaction makes the new Purchase conflict with the stored one and
            # the command is retried: only then is it worth a look-up.
            purchase_id = purchase_id_of(verified.store, verified.transaction_id)
            existing = await tx.get(purchase_id, Purchase) if tx.retrying else None
            if existing is not None:
                existing.check_redeemable_by(user_id, pack.id)
                return PurchaseResult(existing.id, existing.coins, replayed=True)
            await move(
                tx,
                key=f"purchase/{verified.store}/{verified.transaction_id}",
                source=AccountRef.platform(PlatformAccount.PAYMENT_CLEARING),
                target=AccountRef.wallet(user_id),
                amount=pack.coins,
                reason="purchase",
                memo=pack.id,
            )
            purchase = Purchase(
                store=verified.store,
                transaction_id=verified.transaction_id,
                user_id=user_id,
                pack_id=pack.id,
                coins=pack.coins,
            )
            tx.add(purchase)
            return PurchaseResult(purchase.id, pack.coins, replayed=False)

        return await self.store.transact(command)
