"""Settling a call's coins: charging a checkpoint, the end-of-call settlement to the pure
charge function, and the refund of a call that never connected. Each runs inside a call
command, after `load_for` has loaded everything it may touch."""

from __future__ import annotations

from uuid import UUID

from domains.balance.aggregate import (
    Account,
    InsufficientFundsError,
    PlatformAccount,
    Transfer,
    transfer_id_of,
)
from domains.balance.service import AccountRef, move
from domains.billing.aggregate import Checkpoint
from domains.video.aggregate import Call, EndReason, Side
from domains.video.lines import Line, line_id_of
from eventlog.store import Transaction

REVENUE = AccountRef.platform(PlatformAccount.REVENUE)


def charge_key(call_id: UUID, side: Side, index: int) -> str:
    return f"call/{call_id}/{side.value}/{index}"


def refund_key(call_id: UUID) -> str:
    return f"call/{call_id}/refund"


async def charge(tx: Transaction, call: Call, side: Side, index: int, now: float) -> None:
    """Charge (caller) or credit (streamer) one checkpoint, once per key."""
    coins = call.checkpoint(side, index).coins
    if side is Side.CALLER:
        source, target = AccountRef.wallet(call.caller_id), REVENUE
    else:
        source, target = REVENUE, AccountRef.earnings(call.callee_id)
    await move(
        tx,
        key=charge_key(call.id, side, index),
        source=source,
        target=target,
        amount=coins,
        reason="call",
        memo=f"call {call.id}",
    )
    due_at = call.due_at(side, index)
    call.record_charge(side, index, coins, now if due_at is None else due_at, now)


async def warn_if_short(tx: Transaction, call: Call, now: float) -> None:
    """endingSoon: the wallet does not cover the next caller checkpoint."""
    wallet = await tx.get(AccountRef.wallet(call.caller_id).account_id, Account)
    following = call.checkpoint(Side.CALLER, call.paid[Side.CALLER])
    if (wallet.coins if wallet else 0) < following.coins:
        call.warn_ending_soon(following.index, now)


async def finish(
    tx: Transaction, call: Call, reason: EndReason, now: float, *, cut: float | None = None
) -> None:
    """End an answered call and settle it to the pure charge function: what the
    connected time owes is charged (as far as the wallet reaches: an unpayable caller
    checkpoint cuts the billed time just before it); a call that never connected has
    its connect charge refunded."""
    if call.connected_at is None:
        await load_for(tx, call, [refund_key(call.id)], many=True)
        await release_lines(tx, call)
        refund = call.coins[Side.CALLER]
        if refund:
            await move(
                tx,
                key=refund_key(call.id),
                source=REVENUE,
                target=AccountRef.wallet(call.caller_id),
                amount=refund,
                reason="refund",
                memo=f"call {call.id}",
            )
        call.end(reason, now, billed_seconds=0.0, refunded=refund)
        return
    seconds = now - call.connected_at if cut is None else cut
    inclusive = cut is None
    caller_owed = call.billable(Side.CALLER, seconds, inclusive=inclusive)
    streamer_owed = call.billable(Side.STREAMER, seconds, inclusive=inclusive)
    await load_for(tx, call, charge_keys(call, caller_owed, streamer_owed), many=True)
    await release_lines(tx, call)
    for checkpoint in caller_owed:
        try:
            await charge(tx, call, Side.CALLER, checkpoint.index, now)
        except InsufficientFundsError:
            seconds, inclusive = checkpoint.at_second, False
            break
    for checkpoint in call.billable(Side.STREAMER, seconds, inclusive=inclusive):
        await charge(tx, call, Side.STREAMER, checkpoint.index, now)
    call.end(reason, now, billed_seconds=seconds if inclusive else _just_before(seconds))


def _just_before(seconds: float) -> float:
    """Billed time that stops short of an unpaid checkpoint (the pure function counts a
    checkpoint as owed from its second on)."""
    return max(0.0, seconds - 0.001)


def charge_keys(call: Call, caller: list[Checkpoint], streamer: list[Checkpoint]) -> list[str]:
    return [charge_key(call.id, Side.CALLER, c.index) for c in caller] + [
        charge_key(call.id, Side.STREAMER, c.index) for c in streamer
    ]


async def load_for(tx: Transaction, call: Call, keys: list[str], *, many: bool) -> None:
    """Load what a billing step may touch before it changes anything: the two lines and
    accounts, and (when several transfers or a retry may look them up) the transfers."""
    for user_id in (call.caller_id, call.callee_id):
        await tx.get(line_id_of(user_id), Line)
    await tx.get(AccountRef.wallet(call.caller_id).account_id, Account)
    await tx.get(AccountRef.earnings(call.callee_id).account_id, Account)
    if many or tx.retrying:
        for key in keys:
            await tx.get(transfer_id_of(key), Transfer)


async def release_lines(tx: Transaction, call: Call) -> None:
    lines = [await tx.get(line_id_of(u), Line) for u in (call.caller_id, call.callee_id)]
    for line in lines:
        if line is not None:
            line.release(call.id)
