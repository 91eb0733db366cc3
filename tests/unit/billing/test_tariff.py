"""Tariff schedules: the charges due are a pure, monotone function of connected seconds."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domains.billing.aggregate import (
    SEED_CALLER,
    SEED_STREAMER,
    CallKind,
    InvalidTariffError,
    Schedule,
    Tariff,
)


@pytest.mark.parametrize(
    ("seconds", "caller", "streamer"),
    [
        (0, 9, 0),
        (19, 9, 0),
        (20, 69, 30),
        (21, 69, 30),
        (59, 69, 30),
        (60, 69, 60),
        (61, 69, 60),
        (80, 129, 60),
        (120, 129, 90),
        (600, 609, 330),
    ],
)
def test_seed_tariff_charges(seconds: int, caller: int, streamer: int) -> None:
    assert SEED_CALLER.total(seconds) == caller
    assert SEED_STREAMER.total(seconds) == streamer


schedules = st.builds(
    lambda gaps, coins, every, repeat: Schedule(
        tuple(zip([sum(gaps[: i + 1]) - gaps[0] for i in range(len(gaps))], coins, strict=False)),
        every,
        repeat,
    ),
    st.lists(st.integers(1, 120), min_size=1, max_size=5),
    st.lists(st.integers(1, 100), min_size=5, max_size=5),
    st.integers(1, 120),
    st.integers(1, 100),
)


@given(schedules, st.integers(0, 5000), st.integers(0, 5000))
def test_total_is_monotone(schedule: Schedule, a: int, b: int) -> None:
    schedule.check()
    low, high = sorted((a, b))
    assert schedule.total(low) <= schedule.total(high)


@given(schedules, st.integers(0, 3000))
def test_total_equals_the_checkpoints_due(schedule: Schedule, seconds: int) -> None:
    assert schedule.total(seconds) == sum(c.coins for c in schedule.due(seconds))


@given(schedules, st.integers(0, 40))
def test_exact_at_every_boundary(schedule: Schedule, index: int) -> None:
    checkpoint = schedule.checkpoint(index)
    before = schedule.total(checkpoint.at_second - 0.001) if checkpoint.at_second else 0
    assert schedule.total(checkpoint.at_second) - before == checkpoint.coins


@pytest.mark.parametrize(
    "bad",
    [
        Schedule((), 60, 60),
        Schedule(((10, 5), (10, 5)), 60, 60),
        Schedule(((20, 5), (10, 5)), 60, 60),
        Schedule(((0, 0),), 60, 60),
        Schedule(((0, 5),), 0, 60),
        Schedule(((0, 5),), 60, 0),
        Schedule(((-1, 5),), 60, 5),
    ],
)
def test_invalid_schedules_are_refused(bad: Schedule) -> None:
    with pytest.raises(InvalidTariffError):
        Tariff.publish(CallKind.DIRECT, bad, SEED_STREAMER)


def test_a_revision_is_a_new_version_and_old_ones_stay_readable() -> None:
    tariff = Tariff.publish(CallKind.DIRECT, SEED_CALLER, SEED_STREAMER)
    cheaper = Schedule(((0, 5),), 60, 30)
    tariff.revise(cheaper, SEED_STREAMER)
    events = tariff.collect_events()
    assert [type(e).__name__ for e in events] == ["Published", "Revised"]
    assert [e.originator_version for e in events] == [1, 2]
    assert Schedule.of(events[0].caller) == SEED_CALLER  # type: ignore[attr-defined]
    assert tariff.caller == cheaper
