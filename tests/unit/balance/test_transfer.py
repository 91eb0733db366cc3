"""Transfer: one double-entry movement per idempotency key."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

from domains.balance.aggregate import (
    AccountKind,
    IdempotencyKeyReusedError,
    PlatformAccount,
    Transfer,
    account_id_of,
    transfer_id_of,
)
from eventlog.application import EventLog

BUYER = account_id_of(uuid4(), AccountKind.WALLET)
STREAMER = account_id_of(uuid4(), AccountKind.EARNINGS)


def made(key: str = "gift/1", amount: int = 30) -> Transfer:
    """Given: a transfer that was made (its event already saved)."""
    transfer = Transfer(
        key=key, source=BUYER, target=STREAMER, amount=amount, reason="gift", memo="rose"
    )
    transfer.collect_events()
    return transfer


def test_making_a_transfer_emits_made_with_its_legs() -> None:
    transfer = Transfer(
        key="gift/1", source=BUYER, target=STREAMER, amount=30, reason="gift", memo="rose"
    )

    events: list[Any] = list(transfer.collect_events())
    assert [type(e).TOPIC for e in events] == ["olo.balance:Transfer.Made"]
    e = events[0]
    assert (e.key, e.source, e.target, e.amount, e.reason, e.memo) == (
        "gift/1",
        BUYER,
        STREAMER,
        30,
        "gift",
        "rose",
    )


def test_the_idempotency_key_is_the_identity() -> None:
    assert made("gift/1").id == made("gift/1").id == transfer_id_of("gift/1")
    assert made("gift/2").id != made("gift/1").id


def test_the_same_transfer_again_is_accepted() -> None:
    transfer = made(amount=30)
    transfer.check_same(BUYER, STREAMER, 30)
    assert list(transfer.collect_events()) == []


@pytest.mark.parametrize(
    ("source", "target", "amount"),
    [
        (BUYER, STREAMER, 31),
        (STREAMER, BUYER, 30),
        (BUYER, PlatformAccount.REVENUE.account_id, 30),
        (PlatformAccount.PROMOTIONS.account_id, STREAMER, 30),
    ],
)
def test_a_key_reused_for_another_transfer_is_refused(
    source: Any, target: Any, amount: int
) -> None:
    transfer = made(amount=30)
    with pytest.raises(IdempotencyKeyReusedError, match="gift/1"):
        transfer.check_same(source, target, amount)


def test_platform_accounts_have_distinct_stable_ids() -> None:
    ids = {p.account_id for p in PlatformAccount}
    assert len(ids) == len(PlatformAccount)
    assert (
        PlatformAccount.PROMOTIONS.account_id == PlatformAccount("platform:promotions").account_id
    )


def test_a_stored_transfer_keeps_its_topic_and_fields() -> None:
    log = EventLog(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    transfer = Transfer(
        key="purchase/sandbox/t1",
        source=PlatformAccount.PAYMENT_CLEARING.account_id,
        target=BUYER,
        amount=550,
        reason="purchase",
        memo="coins_550",
    )

    log.save(transfer)

    [stored] = log.recorder.select_events(transfer.id)
    assert stored.topic == "olo.balance:Transfer.Made"
    copy: object = log.repository.get(transfer_id_of("purchase/sandbox/t1"))
    assert isinstance(copy, Transfer)
    assert (copy.key, copy.source, copy.target, copy.amount, copy.reason, copy.memo) == (
        "purchase/sandbox/t1",
        PlatformAccount.PAYMENT_CLEARING.account_id,
        BUYER,
        550,
        "purchase",
        "coins_550",
    )
    copy.check_same(PlatformAccount.PAYMENT_CLEARING.account_id, BUYER, 550)
