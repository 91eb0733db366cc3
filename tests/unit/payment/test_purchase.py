"""Purchase: a store transaction is redeemed once, by one user, for one pack."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

from domains.payment.aggregate import Purchase, ReceiptAlreadyUsedError, purchase_id_of
from eventlog.application import EventLog

BUYER = uuid4()


def completed(pack_id: str = "coins_550") -> Purchase:
    """Given: a completed purchase (already saved)."""
    purchase = Purchase(
        store="sandbox", transaction_id="t-1", user_id=BUYER, pack_id=pack_id, coins=550
    )
    purchase.collect_events()
    return purchase


def test_completing_a_purchase_emits_completed() -> None:
    purchase = Purchase(
        store="sandbox", transaction_id="t-1", user_id=BUYER, pack_id="coins_550", coins=550
    )

    events: list[Any] = list(purchase.collect_events())
    assert [type(e).TOPIC for e in events] == ["olo.payment:Purchase.Completed"]
    e = events[0]
    assert (e.store, e.transaction_id, e.user_id, e.pack_id, e.coins) == (
        "sandbox",
        "t-1",
        BUYER,
        "coins_550",
        550,
    )


def test_the_store_transaction_is_the_identity() -> None:
    assert completed().id == purchase_id_of("sandbox", "t-1")
    assert purchase_id_of("sandbox", "t-1") != purchase_id_of("apple", "t-1")
    assert purchase_id_of("sandbox", "t-1") != purchase_id_of("sandbox", "t-2")


def test_the_buyer_may_send_the_same_receipt_again() -> None:
    purchase = completed()
    purchase.check_redeemable_by(BUYER, "coins_550")
    assert list(purchase.collect_events()) == []


def test_another_user_cannot_redeem_the_receipt() -> None:
    with pytest.raises(ReceiptAlreadyUsedError, match="t-1"):
        completed().check_redeemable_by(uuid4(), "coins_550")


def test_the_receipt_cannot_be_redeemed_for_another_pack() -> None:
    with pytest.raises(ReceiptAlreadyUsedError):
        completed("coins_100").check_redeemable_by(BUYER, "coins_6500")


def test_a_stored_purchase_keeps_its_topic_and_fields() -> None:
    log = EventLog(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    purchase = Purchase(
        store="sandbox", transaction_id="t-9", user_id=BUYER, pack_id="coins_100", coins=100
    )

    log.save(purchase)

    [stored] = log.recorder.select_events(purchase.id)
    assert stored.topic == "olo.payment:Purchase.Completed"
    copy: object = log.repository.get(purchase_id_of("sandbox", "t-9"))
    assert isinstance(copy, Purchase)
    assert (copy.store, copy.transaction_id, copy.user_id, copy.pack_id, copy.coins) == (
        "sandbox",
        "t-9",
        BUYER,
        "coins_100",
        100,
    )
    copy.check_redeemable_by(BUYER, "coins_100")
