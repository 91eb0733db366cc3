"""Whether a call may ring: pure rules over what the ring command loaded, raising the
errors the app is told (like an aggregate's `check_*`, so they are tested without a log)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from domains.balance.aggregate import AccountKind, InsufficientFundsError, account_id_of
from domains.billing.aggregate import CallKind, Tariff
from domains.profile.aggregate import Role, User
from domains.video.aggregate import CallError
from domains.video.lines import Availability, Line


class CalleeUnavailableError(CallError):
    """The streamer cannot take a call now (offline, busy, not taking calls)."""


class CallerBusyError(CallError):
    """You are already in a call."""


class BlockedError(CallError):
    """One of the two has blocked the other."""


class SelfCallError(CallError):
    """You cannot call yourself."""


class UnknownCallError(CallError):
    """No such call, or not yours."""


@dataclass(frozen=True)
class Ring:
    """A caller asking to ring a callee, and everything the rules look at."""

    caller_id: UUID
    kind: CallKind
    callee: User | None
    reachable: bool  # a live connection, or a device a push can wake
    blocked: bool  # either has blocked the other
    availability: Availability | None
    caller_line: Line | None
    callee_line: Line | None
    tariff: Tariff | None
    coins: int  # in the caller's wallet


def check_not_self(caller_id: UUID, callee_id: UUID) -> None:
    if caller_id == callee_id:
        raise SelfCallError("you cannot call yourself")


def takes_calls(availability: Availability | None, kind: CallKind) -> bool:
    """Whether the streamer takes this kind of call (direct calls are on by default)."""
    if availability is None:
        return CallKind(kind) is CallKind.DIRECT
    if CallKind(kind) is CallKind.ROULETTE:
        return availability.roulette
    return availability.calls


def check_can_ring(ring: Ring) -> None:
    """The first rule the ring breaks, in the order the app is told about them."""
    if ring.callee is None:
        raise UnknownCallError("no such user")
    if ring.callee.role is not Role.STREAMER:
        raise CalleeUnavailableError("only streamers take calls")
    if ring.blocked:
        raise BlockedError("you cannot call this user")
    if not ring.reachable or not takes_calls(ring.availability, ring.kind):
        raise CalleeUnavailableError("the streamer is offline for calls")
    if ring.caller_line is not None and ring.caller_line.busy:
        raise CallerBusyError("you are already in a call")
    if ring.callee_line is not None and ring.callee_line.busy:
        raise CalleeUnavailableError("the streamer is in another call")
    if ring.tariff is None:
        raise CalleeUnavailableError(f"no {CallKind(ring.kind).value} tariff is published")
    first = ring.tariff.caller.checkpoint(0).coins
    if ring.coins < first:
        wallet = account_id_of(ring.caller_id, AccountKind.WALLET)
        raise InsufficientFundsError(wallet, ring.coins, first)
