"""Commands of the coin ledger: every movement is a double-entry transfer with a key."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from domains.balance.aggregate import (
    PLATFORM_ACCOUNT_IDS,
    Account,
    AccountKind,
    InsufficientFundsError,
    PlatformAccount,
    Transfer,
    account_id_of,
    check_amount,
    transfer_id_of,
)
from eventlog.store import AggregateStore, Transaction


@dataclass(frozen=True)
class AccountRef:
    """A user's account, or a platform-side account."""

    account_id: UUID
    owner_id: UUID | None = None
    kind: AccountKind | None = None

    @classmethod
    def wallet(cls, user_id: UUID) -> AccountRef:
        return cls(account_id_of(user_id, AccountKind.WALLET), user_id, AccountKind.WALLET)

    @classmethod
    def earnings(cls, user_id: UUID) -> AccountRef:
        return cls(account_id_of(user_id, AccountKind.EARNINGS), user_id, AccountKind.EARNINGS)

    @classmethod
    def platform(cls, account: PlatformAccount) -> AccountRef:
        return cls(account.account_id)

    @property
    def is_platform(self) -> bool:
        return self.account_id in PLATFORM_ACCOUNT_IDS


@dataclass(frozen=True)
class TransferReceipt:
    transfer_id: UUID
    amount: int
    source_balance: int | None
    target_balance: int | None
    replayed: bool


async def move(
    tx: Transaction,
    *,
    key: str,
    source: AccountRef,
    target: AccountRef,
    amount: int,
    reason: str,
    memo: str = "",
) -> TransferReceipt:
    """Move coins inside a command of the caller's (so it can be one unit with its own events)."""
    check_amount(amount)
    if source.account_id == target.account_id:
        raise ValueError("a transfer needs two different accounts")
    # A key seen before makes the new Transfer conflict with the stored one, and the command
    # is retried; so the first try skips the look-up, which is a round trip per transfer.
    if tx.retrying and (replay := await _replay(tx, key, source, target, amount)):
        return replay
    source_account = await _load(tx, source)
    target_account = await _load(tx, target)
    try:
        if source_account is None and not source.is_platform:
            raise InsufficientFundsError(source.account_id, 0, amount)
        if source_account is not None:
            source_account.check_can_pay(amount)
    except InsufficientFundsError:
        if replay := await _replay(tx, key, source, target, amount):
            return replay  # paid already: what is left is not the caller's concern
        raise
    if target_account is None and not target.is_platform:
        assert target.owner_id is not None and target.kind is not None
        target_account = Account(owner_id=target.owner_id, kind=target.kind)
        tx.add(target_account)
    transfer = Transfer(
        key=key,
        source=source.account_id,
        target=target.account_id,
        amount=amount,
        reason=reason,
        memo=memo,
    )
    tx.add(transfer)
    if source_account is not None:
        source_account.debit(transfer.id, amount, reason, target.account_id)
    if target_account is not None:
        target_account.credit(transfer.id, amount, reason, source.account_id)
    return TransferReceipt(
        transfer.id,
        amount,
        source_account.coins if source_account else None,
        target_account.coins if target_account else None,
        replayed=False,
    )


async def _replay(
    tx: Transaction, key: str, source: AccountRef, target: AccountRef, amount: int
) -> TransferReceipt | None:
    existing = await tx.get(transfer_id_of(key), Transfer)
    if existing is None:
        return None
    existing.check_same(source.account_id, target.account_id, amount)
    return TransferReceipt(existing.id, amount, None, None, replayed=True)


async def _load(tx: Transaction, ref: AccountRef) -> Account | None:
    if ref.is_platform:
        return None
    return await tx.get(ref.account_id, Account)


class BalanceService:
    """The ledger's commands."""

    def __init__(self, store: AggregateStore) -> None:
        self.store = store

    async def transfer(
        self,
        *,
        key: str,
        source: AccountRef,
        target: AccountRef,
        amount: int,
        reason: str,
        memo: str = "",
    ) -> TransferReceipt:
        """Move `amount` coins from source to target once per idempotency key."""

        async def command(tx: Transaction) -> TransferReceipt:
            return await move(
                tx, key=key, source=source, target=target, amount=amount, reason=reason, memo=memo
            )

        return await self.store.transact(command)

    async def grant(
        self, user_id: UUID, amount: int, *, key: str, memo: str = ""
    ) -> TransferReceipt:
        """Give a user coins from the promotions account."""
        return await self.transfer(
            key=key,
            source=AccountRef.platform(PlatformAccount.PROMOTIONS),
            target=AccountRef.wallet(user_id),
            amount=amount,
            reason="grant",
            memo=memo,
        )

    async def coins(self, account: AccountRef) -> int:
        """The authoritative balance (from the log, not the read model)."""
        loaded = await self.store.load(account.account_id, fresh=True)
        return loaded.coins if isinstance(loaded, Account) else 0
