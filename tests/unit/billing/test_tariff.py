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
    tariff_id_of,
)
from domains.billing.service import TariffService
from eventlog.memory import InMemoryEventStore
from eventlog.store import Transaction


@pytest.mark.parametrize(
    ("seconds", "caller", "streamer"),
    [
        (0, 9, 0),
        (19, 9, 0),
        (20, 69, 30),
        (21, 69, 30),
        (59, 69, 30),
        (60, 129, 60),  # both sides' second checkpoint is at 60 s
        (61, 129, 60),
        (80, 129, 60),
        (119, 129, 60),
        (120, 189, 90),  # then one a minute on both sides
        (180, 249, 120),
        (600, 669, 330),
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


def test_the_seed_caller_and_streamer_share_their_checkpoints() -> None:
    caller = [(c.at_second, c.coins) for c in SEED_CALLER.due(300)]
    streamer = [(c.at_second, c.coins) for c in SEED_STREAMER.due(300)]
    assert caller == [(0, 9), (20, 60), (60, 60), (120, 60), (180, 60), (240, 60), (300, 60)]
    assert [at for at, _ in streamer] == [at for at, _ in caller][1:]


OLD_SEED_CALLER = Schedule(((0, 9), (20, 60)), 60, 60)  # its third 60 came at 80 s


async def test_seeding_revises_the_old_seed_and_keeps_operators_tariffs() -> None:
    store = InMemoryEventStore()
    edited = Schedule(((0, 5),), 30, 5)

    async def publish(tx: Transaction) -> None:
        tx.add(Tariff.publish(CallKind.DIRECT, OLD_SEED_CALLER, SEED_STREAMER))
        tx.add(Tariff.publish(CallKind.ROULETTE, edited, SEED_STREAMER))

    await store.transact(publish)
    service = TariffService(store)
    await service.ensure_seeded()
    await service.ensure_seeded()  # once is enough: the seed is current now

    direct = await store.load(tariff_id_of(CallKind.DIRECT))
    roulette = await store.load(tariff_id_of(CallKind.ROULETTE))
    assert isinstance(direct, Tariff) and isinstance(roulette, Tariff)
    assert (direct.version, direct.caller, direct.streamer) == (2, SEED_CALLER, SEED_STREAMER)
    assert (roulette.version, roulette.caller) == (1, edited)


async def test_seeding_an_empty_log_publishes_the_seed_once() -> None:
    store = InMemoryEventStore()
    await TariffService(store).ensure_seeded()
    await TariffService(store).ensure_seeded()
    for kind in CallKind:
        tariff = await store.load(tariff_id_of(kind))
        assert isinstance(tariff, Tariff)
        assert (tariff.version, tariff.caller) == (1, SEED_CALLER)
