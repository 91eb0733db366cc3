"""Fines: coins taken from a streamer's earnings to the platform through the ledger, once per
key, never more than the earnings hold; shown in the streamer's earnings history with the
reason, and the ledger still sums to zero."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from favorites_support import eventually, user
from graphql_client import data_of, post

from app import Olo, create_app
from domains.balance.aggregate import InsufficientFundsError, PlatformAccount
from domains.balance.service import AccountRef
from eventlog.settings import Settings
from eventlog.text import InvalidTextError

EARNINGS_HISTORY = "{ balanceHistory(account: EARNINGS) { entries { delta balance reason } } }"


async def _history(base: str, token: str) -> list[dict[str, Any]]:
    entries = data_of(await post(base, EARNINGS_HISTORY, token=token))["balanceHistory"]["entries"]
    assert isinstance(entries, list)
    return entries


async def test_a_fine_moves_earnings_to_the_platform_once(
    settings: Settings, database_url: str, serve: Any
) -> None:
    app = create_app(settings, database_url)
    async with serve(app) as base:
        olo: Olo = app.state.olo
        token, streamer = await user(base, "fined-star", "Star")
        star = UUID(streamer)
        balance, review = olo.services.balance, olo.services.review
        await balance.transfer(
            key="test/earned",
            source=AccountRef.platform(PlatformAccount.PROMOTIONS),
            target=AccountRef.earnings(star),
            amount=100,
            reason="call",
        )
        fined = await review.fine(star, 30, "indecency on camera", key="case-1")
        assert fined.source_balance == 70 and not fined.replayed
        again = await review.fine(star, 30, "indecency on camera", key="case-1")
        assert again.replayed
        assert await balance.coins(AccountRef.earnings(star)) == 70

        with pytest.raises(InsufficientFundsError):
            await review.fine(star, 71, "more than it holds", key="case-2")
        with pytest.raises(InvalidTextError):
            await review.fine(star, 1, "bad\x00text", key="case-3")
        assert await balance.coins(AccountRef.earnings(star)) == 70

        entries = await eventually(lambda: _history(base, token), lambda e: len(e) == 2)
        assert [(e["delta"], e["balance"], e["reason"]) for e in entries] == [
            (-30, 70, "fine"),
            (100, 100, "call"),
        ]
        wallet = data_of(await post(base, "{ balanceHistory { entries { delta } } }", token=token))
        assert wallet["balanceHistory"]["entries"] == []  # the wallet is not touched
        queries = olo.services.balance_queries
        revenue = await eventually(
            lambda: olo.pool.fetchval(
                "SELECT coins FROM balance_ledger WHERE account_id = $1",
                PlatformAccount.REVENUE.account_id,
            ),
            lambda coins: coins == 30,
        )
        assert revenue == 30
        assert await queries.ledger_total() == 0
