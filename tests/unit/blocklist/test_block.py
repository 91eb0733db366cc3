"""Block: given earlier blocks and unblocks, when one command, then the events or the error."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from domains.blocklist.aggregate import (
    REASON_MAX_CHARS,
    Block,
    NotBlockedError,
    ReasonTooLongError,
    SelfBlockError,
    block_id_of,
)
from eventlog.application import EventLog

ANN = UUID("00000000-0000-0000-0000-0000000000a1")
BOB = UUID("00000000-0000-0000-0000-0000000000b0")


def emitted(aggregate: Any) -> list[Any]:
    return list(aggregate.collect_events())


def topics(events: list[Any]) -> list[str]:
    return [type(e).TOPIC for e in events]


def block_of_bob(*reasons: str, lifted: bool = False) -> Block:
    """Given: Ann blocked Bob once per reason (unblocking in between), events already saved."""
    block = Block(blocker_id=ANN, blocked_id=BOB)
    for n, reason in enumerate(reasons):
        if n:
            block.unblock()
        block.block(reason)
    if lifted:
        block.unblock()
    block.collect_events()
    return block


def test_a_first_block_creates_the_pair_and_emits_blocked_with_the_reason() -> None:
    block = Block(blocker_id=ANN, blocked_id=BOB)
    assert block.block("spam") is True

    events = emitted(block)
    assert topics(events) == ["olo.blocklist:Block.Created", "olo.blocklist:Block.Blocked"]
    blocked = events[1]
    assert (blocked.blocker_id, blocked.blocked_id, blocked.reason) == (ANN, BOB, "spam")
    assert (block.active, block.reason) == (True, "spam")


def test_the_block_id_is_deterministic_and_its_direction_matters() -> None:
    assert Block(blocker_id=ANN, blocked_id=BOB).id == block_id_of(ANN, BOB)
    assert block_id_of(ANN, BOB) == block_id_of(ANN, BOB)
    assert block_id_of(ANN, BOB) != block_id_of(BOB, ANN)


def test_blocking_yourself_is_refused_and_creates_nothing() -> None:
    with pytest.raises(SelfBlockError):
        Block(blocker_id=ANN, blocked_id=ANN)


def test_an_empty_reason_is_allowed() -> None:
    block = Block(blocker_id=ANN, blocked_id=BOB)
    block.block("")
    assert emitted(block)[1].reason == ""


def test_a_reason_of_500_characters_is_allowed_and_501_is_refused_without_an_event() -> None:
    block = Block(blocker_id=ANN, blocked_id=BOB)
    block.collect_events()
    with pytest.raises(ReasonTooLongError):
        block.block("x" * (REASON_MAX_CHARS + 1))
    assert emitted(block) == []
    assert block.active is False

    block.block("x" * REASON_MAX_CHARS)
    assert topics(emitted(block)) == ["olo.blocklist:Block.Blocked"]


def test_blocking_again_while_blocked_emits_nothing_and_keeps_the_first_reason() -> None:
    block = block_of_bob("spam")

    assert block.block("rude") is False

    assert emitted(block) == []
    assert (block.active, block.reason) == (True, "spam")


def test_unblocking_emits_unblocked_with_both_ids() -> None:
    block = block_of_bob("spam")

    block.unblock()

    [e] = emitted(block)
    assert type(e).TOPIC == "olo.blocklist:Block.Unblocked"
    assert (e.blocker_id, e.blocked_id) == (ANN, BOB)
    assert block.active is False


def test_unblocking_a_block_already_lifted_is_refused() -> None:
    block = block_of_bob("spam", lifted=True)

    with pytest.raises(NotBlockedError):
        block.unblock()
    assert emitted(block) == []


def test_unblocking_a_pair_never_blocked_is_refused() -> None:
    block = Block(blocker_id=ANN, blocked_id=BOB)
    block.collect_events()

    with pytest.raises(NotBlockedError):
        block.unblock()


def test_blocking_again_after_an_unblock_emits_a_new_blocked_with_the_new_reason() -> None:
    block = block_of_bob("spam", lifted=True)

    assert block.block("rude") is True

    [e] = emitted(block)
    assert type(e).TOPIC == "olo.blocklist:Block.Blocked"
    assert e.reason == "rude"
    assert (block.active, block.reason) == (True, "rude")


def test_every_reason_survives_in_the_stored_events() -> None:
    log = EventLog(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    block = Block(blocker_id=ANN, blocked_id=BOB)
    block.block("spam")
    block.unblock()
    block.block("rude")

    log.save(block)

    stored: list[Any] = [
        log.mapper.to_domain_event(s) for s in log.recorder.select_events(block.id)
    ]
    assert topics(stored) == [
        "olo.blocklist:Block.Created",
        "olo.blocklist:Block.Blocked",
        "olo.blocklist:Block.Unblocked",
        "olo.blocklist:Block.Blocked",
    ]
    assert [e.reason for e in stored if hasattr(e, "reason")] == ["spam", "rude"]
    copy: object = log.repository.get(block.id)
    assert isinstance(copy, Block)
    assert (copy.blocker_id, copy.blocked_id, copy.active, copy.reason) == (ANN, BOB, True, "rude")
