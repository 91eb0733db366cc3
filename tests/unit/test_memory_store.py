"""InMemoryEventStore keeps EventStore's promises that services rely on."""

from __future__ import annotations

import asyncio
from uuid import UUID, uuid4

import pytest

from domains.video.lines import Line, line_id_of
from eventlog.memory import InMemoryEventStore
from eventlog.store import ProgrammingError, Transaction


async def _open(store: InMemoryEventStore, user_id: UUID) -> None:
    async def command(tx: Transaction) -> None:
        tx.add(Line(user_id=user_id))

    await store.transact(command)


async def test_a_failed_command_commits_nothing_and_leaves_no_change_behind() -> None:
    store, user = InMemoryEventStore(), uuid4()
    await _open(store, user)
    store.take_events()

    async def engage_then_fail(tx: Transaction) -> None:
        line = await tx.get(line_id_of(user), Line)
        assert line is not None
        line.engage(uuid4())
        raise RuntimeError("refused")

    with pytest.raises(RuntimeError):
        await store.transact(engage_then_fail)
    assert store.take_events() == []
    line = await store.load(line_id_of(user))
    assert isinstance(line, Line) and not line.busy


async def test_a_lost_version_race_runs_the_command_again_on_fresh_state() -> None:
    store, user = InMemoryEventStore(), uuid4()
    await _open(store, user)
    tries: list[bool] = []

    async def engage(tx: Transaction) -> bool:
        line = await tx.get(line_id_of(user), Line)
        assert line is not None
        tries.append(tx.retrying)
        if line.busy:
            return False
        line.engage(uuid4())
        return True

    assert sorted(await asyncio.gather(store.transact(engage), store.transact(engage))) == [
        False,
        True,
    ]
    assert tries == [False, False, True] and store.conflicts == 1


async def test_loading_after_changing_is_refused_as_on_the_log() -> None:
    store, user = InMemoryEventStore(), uuid4()

    async def command(tx: Transaction) -> None:
        tx.add(Line(user_id=user))
        (await tx.get(line_id_of(user), Line) or Line(user_id=user)).engage(uuid4())
        await tx.get(uuid4(), Line)

    with pytest.raises(ProgrammingError):
        await store.transact(command)
    assert store.committed == []
