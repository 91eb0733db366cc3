"""What a page of the log adds to each pair of users, worked out in memory (pure: no SQL) so
the projection writes a whole page in a few statements.

A pair is unordered: `a` is the lower user id, `b` the higher (the same order PostgreSQL
gives uuids), and a per-direction counter says which of the two did it (`spent[0]`: what `a`
spent on `b`). A call's kind, parties and coins so far are kept per open call (`CallState`),
since `Call.Ended` carries none of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

DIRECT, ROULETTE = "direct", "roulette"


def ordered(x: UUID, y: UUID) -> tuple[UUID, UUID, int]:
    """The pair's key (lower id first) and the index of `x` in it (0: `x` is `a`)."""
    return (x, y, 0) if x < y else (y, x, 1)


@dataclass
class CallState:
    """An open call, as far as the log has told: who calls whom, when it connected (None:
    not yet) and the coins charged so far on each side."""

    kind: str
    caller_id: UUID
    callee_id: UUID
    connected_at: float | None = None
    caller_coins: int = 0
    streamer_coins: int = 0


@dataclass
class PairDelta:
    """What one page adds to one pair (per direction: index 0 is `a`, 1 is `b`)."""

    direct_calls: int = 0
    direct_seconds: int = 0
    roulette_calls: int = 0
    roulette_seconds: int = 0
    paid_calls: int = 0
    call_spent: list[int] = field(default_factory=lambda: [0, 0])
    call_earned: list[int] = field(default_factory=lambda: [0, 0])
    gifts: list[int] = field(default_factory=lambda: [0, 0])
    gift_spent: list[int] = field(default_factory=lambda: [0, 0])
    gift_earned: list[int] = field(default_factory=lambda: [0, 0])
    messages: list[int] = field(default_factory=lambda: [0, 0])
    first_contact: float | None = None
    last_contact: float | None = None

    def touch(self, at: float) -> None:
        self.first_contact = at if self.first_contact is None else min(self.first_contact, at)
        self.last_contact = at if self.last_contact is None else max(self.last_contact, at)


class Tally:
    """Folds a page's events, in log order, into pair deltas and call states. `calls` holds
    the open calls the page refers to (loaded by the projection before the page); after the
    page, `calls` minus `finished` is what to keep, `finished` what to forget."""

    def __init__(self, calls: dict[UUID, CallState] | None = None) -> None:
        self.calls: dict[UUID, CallState] = dict(calls or {})
        self.finished: set[UUID] = set()
        self.pairs: dict[tuple[UUID, UUID], PairDelta] = {}
        self.masked: dict[tuple[UUID, UUID], int] = {}  # (chat, sender) -> messages masked

    def _pair(self, x: UUID, y: UUID) -> tuple[PairDelta, int]:
        a, b, i = ordered(x, y)
        delta = self.pairs.get((a, b))
        if delta is None:
            delta = self.pairs[(a, b)] = PairDelta()
        return delta, i

    # --- calls ----------------------------------------------------------------------------

    def call_requested(self, call_id: UUID, kind: str, caller_id: UUID, callee_id: UUID) -> None:
        self.calls[call_id] = CallState(kind, caller_id, callee_id)
        self.finished.discard(call_id)

    def call_connected(self, call_id: UUID, at: float) -> None:
        call = self.calls.get(call_id)
        if call is not None:
            call.connected_at = at
            self._pair(call.caller_id, call.callee_id)[0].touch(at)

    def call_charged(self, call_id: UUID, caller_side: bool, coins: int, at: float) -> None:
        """A checkpoint charged: the caller spent on the streamer, or the streamer earned."""
        call = self.calls.get(call_id)
        if call is None:
            return
        delta, i = self._pair(call.caller_id, call.callee_id)
        if caller_side:
            call.caller_coins += coins
            delta.call_spent[i] += coins
        else:
            call.streamer_coins += coins
            delta.call_earned[1 - i] += coins
        delta.touch(at)

    def call_ended(self, call_id: UUID, at: float, refunded: int) -> None:
        """The call is over: a connected one counts, with its connected time; a refund (no
        media) gives the caller's coins back."""
        call = self.calls.get(call_id)
        self.finished.add(call_id)
        if call is None:
            return
        delta, i = self._pair(call.caller_id, call.callee_id)
        delta.call_spent[i] -= refunded
        call.caller_coins -= refunded
        if call.connected_at is not None:
            seconds = round(max(0.0, at - call.connected_at))
            if call.kind == ROULETTE:
                delta.roulette_calls += 1
                delta.roulette_seconds += seconds
            else:
                delta.direct_calls += 1
                delta.direct_seconds += seconds
            if call.caller_coins > 0:
                delta.paid_calls += 1
        delta.touch(at)

    def call_dropped(self, call_id: UUID) -> None:
        """Declined, missed or cancelled: nothing between the pair happened."""
        self.finished.add(call_id)

    # --- gifts and messages ---------------------------------------------------------------

    def gift_sent(
        self, sender_id: UUID, recipient_id: UUID, coins: int, streamer_coins: int, at: float
    ) -> None:
        delta, i = self._pair(sender_id, recipient_id)
        delta.gifts[i] += 1
        delta.gift_spent[i] += coins
        delta.gift_earned[1 - i] += streamer_coins
        delta.touch(at)

    def message_sent(self, sender_id: UUID, recipient_id: UUID, at: float) -> None:
        delta, i = self._pair(sender_id, recipient_id)
        delta.messages[i] += 1
        delta.touch(at)

    def contact_masked(self, chat_id: UUID, sender_id: UUID) -> None:
        """A message of `sender_id` in the chat had contacts masked (its pair is known by the
        chat id: the message was sent before)."""
        key = (chat_id, sender_id)
        self.masked[key] = self.masked.get(key, 0) + 1

    @property
    def kept_calls(self) -> dict[UUID, CallState]:
        return {k: v for k, v in self.calls.items() if k not in self.finished}
