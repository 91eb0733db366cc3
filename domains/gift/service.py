"""Sending a gift: the sender's wallet pays the price, the streamer's earnings get their share
and the platform the rest, in ONE command with the gift-sent event (coins move only through
balance's `move`). In a call, what is left in the wallet is checked against the call's next
checkpoint in the same command, so a gift can bring the caller's endingSoon forward."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar
from uuid import UUID

from domains.balance.aggregate import (
    Account,
    InsufficientFundsError,
    PlatformAccount,
    Reason,
    Transfer,
    transfer_id_of,
)
from domains.balance.service import AccountRef, move
from domains.blocklist.review import check_not_suspended
from domains.blocklist.service import blocked_between
from domains.blocklist.standing import SuspendedError
from domains.gift.aggregate import KEY_MAX_CHARS, Gift, GiftError, GiftSend, send_id_of
from domains.gift.sending import Send, check_can_send, check_not_self
from domains.profile.aggregate import User
from domains.video.aggregate import Call
from domains.video.settlement import warn_if_short
from eventlog import text
from eventlog.clock import Clock
from eventlog.store import AggregateStore, Transaction

REVENUE = AccountRef.platform(PlatformAccount.REVENUE)
A = TypeVar("A", Gift, User, Call)


@dataclass(frozen=True)
class GiftReceipt:
    """A gift sent, as the sender is told (again, the same, for a replayed key)."""

    send_id: UUID
    gift_id: UUID
    name: str
    image_url: str
    coins: int
    streamer_coins: int
    recipient_id: UUID
    call_id: UUID | None
    sender_balance: int  # the wallet right after this gift was paid
    replayed: bool

    @classmethod
    def of(cls, sent: GiftSend, *, replayed: bool) -> GiftReceipt:
        return cls(
            sent.id,
            sent.gift_id,
            sent.name,
            sent.image_url,
            sent.coins,
            sent.streamer_coins,
            sent.recipient_id,
            sent.call_id,
            sent.sender_balance,
            replayed,
        )


def paid_key(send_id: UUID) -> str:
    return f"gift/{send_id}/paid"


def share_key(send_id: UUID) -> str:
    return f"gift/{send_id}/share"


async def _get(tx: Transaction, oid: UUID, cls: type[A], *, fresh: bool = False) -> A | None:
    """The aggregate, or None if there is none of this kind under this id."""
    try:
        return await tx.get(oid, cls, fresh=fresh)
    except TypeError:  # the id of something else
        return None


class GiftService:
    """Sending gifts."""

    def __init__(self, store: AggregateStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    async def send(
        self,
        sender_id: UUID,
        recipient_id: UUID,
        gift_id: UUID,
        *,
        key: str,
        call_id: UUID | None = None,
    ) -> GiftReceipt:
        """Send a gift once per (sender, key); a replay answers the first send and moves
        nothing. Raises GiftError subclasses and InsufficientFundsError (nothing moves)."""
        key = text.token(key, "idempotency_key", KEY_MAX_CHARS)
        check_not_self(sender_id, recipient_id)
        send_id = send_id_of(sender_id, key)

        async def replay(tx: Transaction) -> GiftReceipt | None:
            sent = await tx.get(send_id, GiftSend)
            if sent is None:
                return None
            sent.check_same(recipient_id, gift_id, call_id)
            return GiftReceipt.of(sent, replayed=True)

        async def command(tx: Transaction) -> GiftReceipt:
            # A key seen before makes the new GiftSend conflict with the stored one and the
            # command runs again: only then (or when a rule says no) is it worth a look-up.
            if tx.retrying and (replayed := await replay(tx)):
                return replayed
            wallet = AccountRef.wallet(sender_id)
            try:
                await check_not_suspended(tx, sender_id)
                send = await self._load(tx, sender_id, recipient_id, gift_id, call_id, send_id)
                gift = check_can_send(send)
            except (GiftError, InsufficientFundsError, SuspendedError):
                if replayed := await replay(tx):
                    return replayed  # sent already: the rules were met then
                raise
            streamer_coins, _ = gift.split()
            memo = f"gift {gift.name} {send_id}"
            paid = await move(
                tx,
                key=paid_key(send_id),
                source=wallet,
                target=REVENUE,
                amount=gift.price,
                reason=Reason.GIFT,
                memo=memo,
            )
            if streamer_coins:
                await move(
                    tx,
                    key=share_key(send_id),
                    source=REVENUE,
                    target=AccountRef.earnings(recipient_id),
                    amount=streamer_coins,
                    reason=Reason.GIFT,
                    memo=memo,
                )
            now = self.clock.now()
            if send.call is not None:
                await warn_if_short(tx, send.call, now)
            sent = GiftSend(
                key=key,
                sender_id=sender_id,
                recipient_id=recipient_id,
                gift_id=gift.id,
                name=gift.name,
                image_url=gift.image_url,
                coins=gift.price,
                streamer_coins=streamer_coins,
                call_id=call_id,
                sender_balance=paid.source_balance or 0,
                at=now,
            )
            tx.add(sent)
            return GiftReceipt.of(sent, replayed=False)

        return await self.store.transact(command)

    @staticmethod
    async def _load(
        tx: Transaction,
        sender_id: UUID,
        recipient_id: UUID,
        gift_id: UUID,
        call_id: UUID | None,
        send_id: UUID,
    ) -> Send:
        """Everything the rules and the transfers touch, loaded before anything changes."""
        wallet = await tx.get(AccountRef.wallet(sender_id).account_id, Account)
        await tx.get(AccountRef.earnings(recipient_id).account_id, Account)
        if tx.retrying:  # `move` looks its keys up on a retry
            for key in (paid_key(send_id), share_key(send_id)):
                await tx.get(transfer_id_of(key), Transfer)
        # The meter changes a connected call every checkpoint: read it as the log has it.
        call = await _get(tx, call_id, Call, fresh=True) if call_id is not None else None
        return Send(
            sender_id=sender_id,
            recipient_id=recipient_id,
            recipient=await _get(tx, recipient_id, User),
            gift=await _get(tx, gift_id, Gift),
            blocked=await blocked_between(tx, sender_id, recipient_id),
            call_id=call_id,
            call=call,
            coins=wallet.coins if wallet is not None else 0,
        )
