"""Whether a gift may be sent: pure rules over what the send command loaded, raising the
errors the app is told (tested without a log, like video's ring rules)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from domains.balance.aggregate import AccountKind, InsufficientFundsError, account_id_of
from domains.gift.aggregate import (
    CallNotOngoingError,
    Gift,
    GiftBlockedError,
    NotAStreamerError,
    SelfGiftError,
    UnknownGiftError,
)
from domains.profile.aggregate import Role, User
from domains.video.aggregate import Call, CallStatus


@dataclass(frozen=True)
class Send:
    """A sender asking to send a gift, and everything the rules look at."""

    sender_id: UUID
    recipient_id: UUID
    recipient: User | None
    gift: Gift | None
    blocked: bool  # either has blocked the other
    call_id: UUID | None
    call: Call | None
    coins: int  # in the sender's wallet


def check_not_self(sender_id: UUID, recipient_id: UUID) -> None:
    if sender_id == recipient_id:
        raise SelfGiftError()


def in_call_between(call: Call | None, sender_id: UUID, recipient_id: UUID) -> bool:
    """The call is connected, the sender calling the recipient."""
    return (
        call is not None
        and call.status is CallStatus.CONNECTED
        and (call.caller_id, call.callee_id) == (sender_id, recipient_id)
    )


def check_can_send(send: Send) -> Gift:
    """The gift to send; else the first rule the send breaks, in the order the app is told."""
    check_not_self(send.sender_id, send.recipient_id)
    if send.recipient is None or send.recipient.role is not Role.STREAMER:
        raise NotAStreamerError("gifts go to streamers only")
    if send.gift is None:
        raise UnknownGiftError("no such gift")
    send.gift.check_on_sale()
    if send.blocked:
        raise GiftBlockedError("you cannot send gifts to this user")
    if send.call_id is not None and not in_call_between(
        send.call, send.sender_id, send.recipient_id
    ):
        raise CallNotOngoingError(f"no ongoing call {send.call_id} of yours with this streamer")
    if send.coins < send.gift.price:
        wallet = account_id_of(send.sender_id, AccountKind.WALLET)
        raise InsufficientFundsError(wallet, send.coins, send.gift.price)
    return send.gift
