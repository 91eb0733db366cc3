"""BlocklistProjection on real PostgreSQL: however the log is cut into pages, the active
blocks and the reports come out the same."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
import pytest

from domains.blocklist.aggregate import Block
from domains.blocklist.projection import BlocklistProjection
from eventlog.projection import Recorded

ANN = UUID("00000000-0000-0000-0000-0000000000a1")
BOB = UUID("00000000-0000-0000-0000-0000000000b0")
CAT = UUID("00000000-0000-0000-0000-0000000000c0")


def _history() -> list[Recorded]:
    """Ann blocks Bob (spam), Cat blocks Ann, Ann unblocks Bob, blocks him again (rude),
    Cat unblocks Ann: as the log records them (Created events are not projected)."""
    ann_bob = Block(blocker_id=ANN, blocked_id=BOB)
    cat_ann = Block(blocker_id=CAT, blocked_id=ANN)
    steps = [
        (ann_bob, lambda: ann_bob.block("spam")),
        (cat_ann, lambda: cat_ann.block("")),
        (ann_bob, ann_bob.unblock),
        (ann_bob, lambda: ann_bob.block("rude")),
        (cat_ann, cat_ann.unblock),
    ]
    ordered: list[Any] = []
    for block, step in steps:
        step()
        ordered += block.collect_events()
    projected = [e for e in ordered if type(e).TOPIC in BlocklistProjection.topics]
    return [Recorded(position, e) for position, e in enumerate(projected, start=1)]


async def _tables(pg: asyncpg.Connection) -> tuple[list[Any], list[Any]]:
    active = await pg.fetch(
        "SELECT blocker_id, blocked_id, reason, position FROM blocklist_blocks ORDER BY position"
    )
    reports = await pg.fetch(
        "SELECT blocker_id, blocked_id, version, position, reason, unblocked_at IS NULL AS open "
        "FROM blocklist_reports ORDER BY position"
    )
    return [tuple(r) for r in active], [tuple(r) for r in reports]


@pytest.mark.parametrize("page_size", [1, 2, 3, 100])
async def test_pages_of_any_size_give_the_same_read_model(
    pg: asyncpg.Connection, page_size: int
) -> None:
    projection = BlocklistProjection()
    history = _history()
    for start in range(0, len(history), page_size):
        async with pg.transaction():
            changes = await projection.apply(pg, history[start : start + page_size])
        assert changes == {}

    active, reports = await _tables(pg)
    assert active == [(ANN, BOB, "rude", 4)]
    assert reports == [
        (ANN, BOB, 2, 1, "spam", False),
        (CAT, ANN, 2, 2, "", False),
        (ANN, BOB, 4, 4, "rude", True),
    ]
