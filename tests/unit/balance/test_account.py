"""Account: given earlier transfers, when one debit or credit, then the events it emits."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest

from domains.balance.aggregate import (
    Account,
    AccountKind,
    InsufficientFundsError,
    InvalidAmountError,
    account_id_of,
)
from eventlog.application import EventLog

OWNER = UUID("00000000-0000-0000-0000-00000000a11c")
SHOP = uuid4()


def emitted(aggregate: Any) -> list[Any]:
    return list(aggregate.collect_events())


def topics(events: list[Any]) -> list[str]:
    return [type(e).TOPIC for e in events]


def wallet_with(coins: int) -> Account:
    """Given: a wallet that was opened and credited `coins` (its events already saved)."""
    account = Account(owner_id=OWNER, kind=AccountKind.WALLET)
    if coins:
        account.credit(uuid4(), coins, "purchase", SHOP)
    account.collect_events()
    return account


def test_opening_a_wallet_emits_opened_with_owner_and_kind() -> None:
    account = Account(owner_id=OWNER, kind=AccountKind.WALLET)

    events = emitted(account)
    assert topics(events) == ["olo.balance:Account.Opened"]
    assert (events[0].owner_id, events[0].kind) == (OWNER, AccountKind.WALLET)
    assert account.id == account_id_of(OWNER, AccountKind.WALLET)
    assert account.coins == 0


def test_wallet_and_earnings_of_one_owner_are_different_accounts() -> None:
    wallet = Account(owner_id=OWNER, kind=AccountKind.WALLET)
    earnings = Account(owner_id=OWNER, kind=AccountKind.EARNINGS)
    assert wallet.id != earnings.id
    assert Account(owner_id=OWNER, kind=AccountKind.WALLET).id == wallet.id


def test_credit_emits_credited_with_the_new_balance() -> None:
    account = wallet_with(100)
    transfer_id = uuid4()

    account.credit(transfer_id, 25, "gift", SHOP)

    [credited] = emitted(account)
    assert type(credited).TOPIC == "olo.balance:Account.Credited"
    assert (credited.transfer_id, credited.amount, credited.reason) == (transfer_id, 25, "gift")
    assert (credited.counterparty, credited.balance) == (SHOP, 125)
    assert credited.originator_version == 3
    assert account.coins == 125


def test_debit_emits_debited_with_the_new_balance() -> None:
    account = wallet_with(100)
    transfer_id = uuid4()

    account.debit(transfer_id, 30, "call", SHOP)

    [debited] = emitted(account)
    assert type(debited).TOPIC == "olo.balance:Account.Debited"
    assert (debited.transfer_id, debited.amount, debited.reason) == (transfer_id, 30, "call")
    assert (debited.counterparty, debited.balance) == (SHOP, 70)
    assert account.coins == 70


def test_debit_of_the_whole_balance_leaves_zero() -> None:
    account = wallet_with(40)
    account.debit(uuid4(), 40, "call", SHOP)
    assert [e.balance for e in emitted(account)] == [0]
    assert account.coins == 0


def test_debit_beyond_the_balance_is_refused_and_emits_nothing() -> None:
    account = wallet_with(10)

    with pytest.raises(InsufficientFundsError) as refused:
        account.debit(uuid4(), 11, "call", SHOP)

    assert (refused.value.account_id, refused.value.coins, refused.value.needed) == (
        account.id,
        10,
        11,
    )
    assert emitted(account) == []
    assert account.coins == 10


def test_an_empty_wallet_cannot_pay_one_coin() -> None:
    account = wallet_with(0)
    with pytest.raises(InsufficientFundsError):
        account.debit(uuid4(), 1, "call", SHOP)
    assert emitted(account) == []


@pytest.mark.parametrize("amount", [0, -5, True, 1.5, "10"])
@pytest.mark.parametrize("operation", ["debit", "credit"])
def test_amounts_must_be_positive_whole_coins(operation: str, amount: Any) -> None:
    account = wallet_with(100)

    with pytest.raises(InvalidAmountError):
        getattr(account, operation)(uuid4(), amount, "grant", SHOP)

    assert emitted(account) == []
    assert account.coins == 100


def test_stored_events_keep_their_topics_and_rebuild_the_account() -> None:
    log = EventLog(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    account = Account(owner_id=OWNER, kind=AccountKind.EARNINGS)
    first = uuid4()
    account.credit(first, 90, "call", SHOP)
    account.debit(uuid4(), 35, "payout", SHOP)

    log.save(account)

    stored = log.recorder.select_events(account.id)
    assert [s.topic for s in stored] == [
        "olo.balance:Account.Opened",
        "olo.balance:Account.Credited",
        "olo.balance:Account.Debited",
    ]
    copy: object = log.repository.get(account.id)
    assert isinstance(copy, Account)
    assert (copy.owner_id, copy.kind, copy.coins, copy.version) == (
        OWNER,
        AccountKind.EARNINGS,
        55,
        3,
    )
    credited: Any = log.mapper.to_domain_event(stored[1])
    assert (credited.transfer_id, credited.amount, credited.counterparty) == (first, 90, SHOP)
