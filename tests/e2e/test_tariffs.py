"""The `tariffs` query shows the seed tariff, and a revision as a new version."""

from __future__ import annotations

import asyncio

from graphql_client import post, token_for

from app import Olo, create_app
from domains.billing.aggregate import CallKind, Schedule

QUERY = "{ tariffs { kind version caller { checkpoints { atSecond coins } repeatEvery repeatCoins }"
QUERY += " streamer { checkpoints { atSecond coins } repeatEvery repeatCoins } } }"


async def _tariffs(base: str) -> dict[str, dict]:
    for _ in range(100):
        result = await post(base, QUERY, token=token_for("tariff-reader"))
        found = {t["kind"]: t for t in result["data"]["tariffs"]}
        if len(found) == 2:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"tariffs never projected: {result}")


async def test_seed_tariffs_then_a_revision(settings, database_url, serve) -> None:
    app = create_app(settings, database_url)
    async with serve(app) as base:
        await app.state.olo.services.tariffs.ensure_seeded()
        tariffs = await _tariffs(base)
        assert tariffs["direct"]["version"] == 1
        assert tariffs["direct"]["caller"] == {
            "checkpoints": [
                {"atSecond": 0, "coins": 9},
                {"atSecond": 20, "coins": 60},
                {"atSecond": 60, "coins": 60},
            ],
            "repeatEvery": 60,
            "repeatCoins": 60,
        }
        assert tariffs["roulette"]["streamer"]["checkpoints"][0] == {"atSecond": 20, "coins": 30}
        olo: Olo = app.state.olo
        service = olo.services.tariffs
        version = await service.revise(
            CallKind.ROULETTE, Schedule(((0, 5),), 30, 5), Schedule(((30, 2),), 30, 2)
        )
        assert version == 2
        for _ in range(100):
            tariffs = await _tariffs(base)
            if tariffs["roulette"]["version"] == 2:
                break
            await asyncio.sleep(0.05)
        assert tariffs["roulette"]["caller"]["checkpoints"] == [{"atSecond": 0, "coins": 5}]
        assert tariffs["direct"]["version"] == 1
