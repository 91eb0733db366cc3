"""What events add to a pair, worked out in memory: each direction counted for the one who
did it, calls counted when they end connected, refunds given back, and any split of the log
into pages adding up to the same pair as one page."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import fields
from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st

from domains.interaction.tally import DIRECT, ROULETTE, CallState, PairDelta, Tally, ordered

LOW, HIGH = UUID(int=1), UUID(int=2)  # LOW is `a` of their pair, HIGH `b`
CALL, OTHER_CALL = UUID(int=10), UUID(int=11)


def test_a_pair_is_keyed_lower_id_first_and_says_which_side_acted() -> None:
    assert ordered(LOW, HIGH) == (LOW, HIGH, 0)
    assert ordered(HIGH, LOW) == (LOW, HIGH, 1)


def test_a_connected_call_counts_its_time_and_coins_for_the_right_sides() -> None:
    t = Tally()
    t.call_requested(CALL, DIRECT, HIGH, LOW)  # HIGH (b) calls LOW (a)
    t.call_charged(CALL, True, 9, 100.0)  # on answering
    t.call_connected(CALL, 101.0)
    t.call_charged(CALL, True, 60, 121.0)
    t.call_charged(CALL, False, 30, 121.0)
    t.call_ended(CALL, 166.4, refunded=0)
    d = t.pairs[(LOW, HIGH)]
    assert (d.direct_calls, d.direct_seconds, d.roulette_calls, d.paid_calls) == (1, 65, 0, 1)
    assert d.call_spent == [0, 69]  # b spent on a
    assert d.call_earned == [30, 0]  # a earned from b
    assert (d.first_contact, d.last_contact) == (100.0, 166.4)
    assert t.finished == {CALL} and t.kept_calls == {}


def test_an_unconnected_answered_call_gives_its_coins_back_and_is_no_call() -> None:
    t = Tally()
    t.call_requested(CALL, ROULETTE, LOW, HIGH)
    t.call_charged(CALL, True, 9, 10.0)
    t.call_ended(CALL, 30.0, refunded=9)
    d = t.pairs[(LOW, HIGH)]
    assert (d.roulette_calls, d.direct_calls, d.paid_calls) == (0, 0, 0)
    assert d.call_spent == [0, 0]


def test_a_free_connected_call_is_a_call_but_not_a_paid_one() -> None:
    t = Tally()
    t.call_requested(CALL, ROULETTE, LOW, HIGH)
    t.call_connected(CALL, 10.0)
    t.call_ended(CALL, 40.0, refunded=0)
    d = t.pairs[(LOW, HIGH)]
    assert (d.roulette_calls, d.roulette_seconds, d.paid_calls) == (1, 30, 0)


def test_declined_missed_or_cancelled_calls_leave_the_pair_alone() -> None:
    t = Tally()
    t.call_requested(CALL, DIRECT, LOW, HIGH)
    t.call_dropped(CALL)
    assert t.pairs == {} and t.finished == {CALL} and t.kept_calls == {}


def test_an_open_call_is_kept_for_the_next_page() -> None:
    t = Tally()
    t.call_requested(CALL, DIRECT, LOW, HIGH)
    t.call_charged(CALL, True, 9, 5.0)
    kept = t.kept_calls[CALL]
    assert (kept.caller_id, kept.callee_id, kept.caller_coins, kept.connected_at) == (
        LOW,
        HIGH,
        9,
        None,
    )


def test_events_of_a_call_the_page_does_not_know_are_ignored() -> None:
    t = Tally()
    t.call_connected(CALL, 1.0)
    t.call_charged(CALL, True, 9, 1.0)
    t.call_ended(CALL, 2.0, refunded=0)
    assert t.pairs == {} and t.finished == {CALL}


def test_gifts_and_messages_count_for_their_sender_and_the_streamers_share() -> None:
    t = Tally()
    t.gift_sent(HIGH, LOW, 100, 60, 5.0)
    t.message_sent(LOW, HIGH, 3.0)
    t.message_sent(HIGH, LOW, 9.0)
    t.message_sent(HIGH, LOW, 7.0)
    d = t.pairs[(LOW, HIGH)]
    assert (d.gifts, d.gift_spent, d.gift_earned) == ([0, 1], [0, 100], [60, 0])
    assert d.messages == [1, 2]
    assert (d.first_contact, d.last_contact) == (3.0, 9.0)


def test_masked_messages_are_counted_by_chat_and_sender() -> None:
    t = Tally()
    chat = UUID(int=99)
    t.contact_masked(chat, LOW)
    t.contact_masked(chat, LOW)
    t.contact_masked(chat, HIGH)
    assert t.masked == {(chat, LOW): 2, (chat, HIGH): 1}


# --- any split into pages adds up to the same pairs -----------------------------------------

Step = Callable[[Tally], None]


def _history() -> list[Step]:
    """Two calls over time (one direct paid, one roulette refunded), gifts and messages."""
    return [
        lambda t: t.message_sent(LOW, HIGH, 1.0),
        lambda t: t.call_requested(CALL, DIRECT, LOW, HIGH),
        lambda t: t.call_charged(CALL, True, 9, 2.0),
        lambda t: t.call_requested(OTHER_CALL, ROULETTE, HIGH, LOW),
        lambda t: t.call_connected(CALL, 3.0),
        lambda t: t.call_charged(OTHER_CALL, True, 9, 3.5),
        lambda t: t.call_charged(CALL, True, 60, 23.0),
        lambda t: t.call_charged(CALL, False, 30, 23.0),
        lambda t: t.gift_sent(LOW, HIGH, 30, 15, 24.0),
        lambda t: t.call_ended(OTHER_CALL, 25.0, refunded=9),
        lambda t: t.call_ended(CALL, 40.0, refunded=0),
        lambda t: t.message_sent(HIGH, LOW, 41.0),
    ]


def _merge(total: PairDelta, page: PairDelta) -> None:
    """What the upsert does with a page's delta."""
    for f in fields(PairDelta):
        mine, theirs = getattr(total, f.name), getattr(page, f.name)
        if f.name in ("first_contact", "last_contact"):
            if theirs is not None:
                pick = min if f.name == "first_contact" else max
                setattr(total, f.name, theirs if mine is None else pick(mine, theirs))
        elif isinstance(mine, list):
            setattr(total, f.name, [x + y for x, y in zip(mine, theirs, strict=True)])
        else:
            setattr(total, f.name, mine + theirs)


def _paged(steps: Sequence[Step], cuts: Sequence[int]) -> dict[tuple[UUID, UUID], PairDelta]:
    pairs: dict[tuple[UUID, UUID], PairDelta] = {}
    calls: dict[UUID, CallState] = {}
    bounds = [0, *sorted(set(cuts)), len(steps)]
    for start, end in itertools.pairwise(bounds):
        tally = Tally(calls)
        for step in steps[start:end]:
            step(tally)
        for key, delta in tally.pairs.items():
            _merge(pairs.setdefault(key, PairDelta()), delta)
        calls = tally.kept_calls
    return pairs


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=11), max_size=11))
def test_any_split_into_pages_adds_up_to_one_page(cuts: list[int]) -> None:
    steps = _history()
    whole = _paged(steps, [])
    assert _paged(steps, cuts) == whole
    d = whole[(LOW, HIGH)]
    assert (d.direct_calls, d.direct_seconds, d.roulette_calls, d.paid_calls) == (1, 37, 0, 1)
    assert d.call_spent == [69, 0] and d.call_earned == [0, 30]
    assert d.gift_spent == [30, 0] and d.gift_earned == [0, 15]
    assert d.messages == [1, 1] and (d.first_contact, d.last_contact) == (1.0, 41.0)
