"""What the call and roulette mutations answer when a rule says no: the typed results, and
the one table from video's domain errors to them."""

from __future__ import annotations

import strawberry

from domains.balance.aggregate import InsufficientFundsError
from domains.blocklist.schema import SUSPENDED_ERRORS
from domains.video.aggregate import CallError
from domains.video.ringing import (
    BlockedError,
    CalleeUnavailableError,
    CallerBusyError,
    SelfCallError,
    UnknownCallError,
)
from domains.video.roulette import (
    NoStreamerAvailableError,
    RouletteStateError,
    UnknownRouletteError,
)
from eventlog.api import ErrorResults, InvalidInput, NotFound


@strawberry.type(
    description="The streamer cannot take a call now (offline, busy, not taking calls)."
)
class CalleeUnavailable:
    message: str


@strawberry.type(description="Your wallet does not cover what this costs.")
class InsufficientFunds:
    message: str
    coins: int
    needed: int


@strawberry.type(description="One of you has blocked the other.")
class Blocked:
    message: str


@strawberry.type(description="The call is not in a state that allows this.")
class CallNotPossible:
    message: str


@strawberry.type(description="No streamer can be offered to you now; try again later.")
class NoStreamerAvailable:
    message: str


def _funds(error: InsufficientFundsError) -> InsufficientFunds:
    return InsufficientFunds(message=str(error), coins=error.coins, needed=error.needed)


VIDEO_ERRORS: ErrorResults = {
    InsufficientFundsError: _funds,
    CalleeUnavailableError: lambda e: CalleeUnavailable(message=str(e)),
    CallerBusyError: lambda e: CalleeUnavailable(message=str(e)),  # the app says the same
    BlockedError: lambda e: Blocked(message=str(e)),
    SelfCallError: lambda e: InvalidInput(message=str(e), field="calleeId"),
    UnknownCallError: lambda e: NotFound(message=str(e)),
    CallError: lambda e: CallNotPossible(message=str(e)),
    NoStreamerAvailableError: lambda e: NoStreamerAvailable(message=str(e)),
    UnknownRouletteError: lambda e: NotFound(message=str(e)),
    RouletteStateError: lambda e: CallNotPossible(message=str(e)),
    **SUSPENDED_ERRORS,
}
