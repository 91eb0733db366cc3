"""Store purchases of coin packs: one aggregate per store transaction."""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

NAMESPACE = uuid5(NAMESPACE_URL, "https://olo.app/payment")


class PaymentError(Exception):
    """A purchase could not be accepted."""


class UnknownCoinPackError(PaymentError):
    pass


class InvalidReceiptError(PaymentError):
    pass


class UnsupportedStoreError(InvalidReceiptError):
    """Purchases from this store are not accepted here."""


class ReceiptAlreadyUsedError(PaymentError):
    """A store transaction that another user (or another pack) already redeemed."""


def purchase_id_of(store: str, transaction_id: str) -> UUID:
    return uuid5(NAMESPACE, f"purchase:{store}:{transaction_id}")


class Purchase(Aggregate):
    """A verified store transaction, credited once however often it is sent."""

    TOPIC = "olo.payment:Purchase"
    # Written once and read again only when a receipt comes back (its command then conflicts
    # and reads it fresh): kept in the store's cache it would only grow the heap.
    CACHED = False

    class Created(Aggregate.Created):
        TOPIC = "olo.payment:Purchase.Created"

    class Completed(Created):
        TOPIC = "olo.payment:Purchase.Completed"
        store: str
        transaction_id: str
        user_id: UUID
        pack_id: str
        coins: int

    @event(Completed)
    def __init__(
        self, store: str, transaction_id: str, user_id: UUID, pack_id: str, coins: int
    ) -> None:
        self.store = store
        self.transaction_id = transaction_id
        self.user_id = user_id
        self.pack_id = pack_id
        self.coins = coins

    @staticmethod
    def create_id(store: str, transaction_id: str) -> UUID:
        return purchase_id_of(store, transaction_id)

    def check_redeemable_by(self, user_id: UUID, pack_id: str) -> None:
        if self.user_id != user_id or self.pack_id != pack_id:
            raise ReceiptAlreadyUsedError(
                f"store transaction {self.transaction_id} was already redeemed"
            )
