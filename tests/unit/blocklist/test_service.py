"""BlocklistService and `blocked_between` on the real event log (PostgreSQL): what the
video domain relies on to refuse calls between blocked users."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest

from app import Olo
from domains.blocklist.aggregate import NotBlockedError, SelfBlockError, block_id_of
from domains.blocklist.service import blocked_between
from domains.profile.service import UserNotFoundError
from eventlog.store import Transaction


async def _users(olo: Olo, *uids: str) -> list[UUID]:
    profiles = olo.services.profiles
    return [await profiles.register(uid) for uid in uids]


async def _between(olo: Olo, a: UUID, b: UUID) -> bool:
    async def command(tx: Transaction) -> bool:
        return await blocked_between(tx, a, b)

    return await olo.store.transact(command)


async def _topics(olo: Olo, blocker: UUID, blocked: UUID) -> list[str]:
    rows = await olo.pool.fetch(
        "SELECT topic FROM eventlog_events WHERE originator_id = $1 ORDER BY originator_version",
        block_id_of(blocker, blocked),
    )
    return [r["topic"] for r in rows]


async def test_a_block_either_way_is_seen_by_both_users_until_it_is_lifted(olo: Olo) -> None:
    ann, bob, cat = await _users(olo, "ann-svc", "bob-svc", "cat-svc")
    blocklist = olo.services.blocklist
    assert not await _between(olo, ann, bob)

    receipt = await blocklist.block(bob, ann, "spam")
    assert (receipt.blocker_id, receipt.blocked_id, receipt.reason) == (bob, ann, "spam")
    assert receipt.already_blocked is False

    assert await _between(olo, ann, bob)
    assert await _between(olo, bob, ann)
    assert not await _between(olo, ann, cat)

    await blocklist.unblock(bob, ann)
    assert not await _between(olo, ann, bob)
    assert not await _between(olo, bob, ann)


async def test_blocking_twice_is_one_event_and_keeps_the_first_reason(olo: Olo) -> None:
    ann, bob = await _users(olo, "ann-twice", "bob-twice")
    blocklist = olo.services.blocklist

    await blocklist.block(ann, bob, "spam")
    again = await blocklist.block(ann, bob, "rude")

    assert (again.already_blocked, again.reason) == (True, "spam")
    assert await _topics(olo, ann, bob) == [
        "olo.blocklist:Block.Created",
        "olo.blocklist:Block.Blocked",
    ]


async def test_refusals_store_nothing(olo: Olo) -> None:
    [ann] = await _users(olo, "ann-refused")
    blocklist = olo.services.blocklist
    stranger = uuid4()

    with pytest.raises(UserNotFoundError):
        await blocklist.block(ann, stranger, "who?")
    with pytest.raises(SelfBlockError):
        await blocklist.block(ann, ann)
    with pytest.raises(NotBlockedError):
        await blocklist.unblock(ann, stranger)

    assert await _topics(olo, ann, stranger) == []
    assert await _topics(olo, ann, ann) == []


async def test_blocking_something_that_is_not_a_user_is_not_found(olo: Olo) -> None:
    ann, bob = await _users(olo, "ann-thing", "bob-thing")
    blocklist = olo.services.blocklist
    await blocklist.block(ann, bob)

    # A Block aggregate's id is a real aggregate id, but not a user's.
    with pytest.raises(UserNotFoundError):
        await blocklist.block(ann, block_id_of(ann, bob))
