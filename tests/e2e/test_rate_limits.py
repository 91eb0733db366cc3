"""Rate limits through the API: a caller ringing a streamer in a loop is refused with
`RateLimited` past their budget and the streamer is rung no more than it allows; two API
processes sharing Redis share one budget; other users are unaffected."""

from __future__ import annotations

import os
from typing import Any
from uuid import uuid4

import pytest
from call_support import HANG_UP, REQUEST_FIELDS, call_world, make_party, online, wait_for
from graphql_client import UPDATE_PROFILE, data_of, post, token_for

from app import create_app

REDIS_URL = os.environ.get("OLO_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REQUEST = (
    "mutation($id: String!) { requestCall(calleeId: $id) { "
    + REQUEST_FIELDS
    + " ... on RateLimited { message retryAfterSeconds } } }"
)
LIMITED_PROFILE = UPDATE_PROFILE.replace(
    "... on InvalidInput", "... on RateLimited { message retryAfterSeconds } ... on InvalidInput"
)
RINGS = 5


@pytest.fixture
def settings(settings):
    settings.media_events = "clients"
    settings.rate_limits = {"requestCall": f"{RINGS}/minute"}
    return settings


async def test_ringing_in_a_loop_rings_the_streamer_only_as_often_as_the_limit(
    settings, database_url, serve
) -> None:
    async with call_world(settings, database_url, serve) as world:
        async with online(world, world.streamer) as streamer_events:
            results: list[dict[str, Any]] = []
            for _ in range(3 * RINGS):
                ringing = await world.mutate(world.caller, REQUEST, str(world.streamer.user_id))
                results.append(ringing)
                if ringing["__typename"] == "CallView":
                    await wait_for(streamer_events, "incoming")
                    hung_up = await world.mutate(world.caller, HANG_UP, ringing["id"])
                    assert hung_up["status"] == "cancelled", hung_up
            kinds = [r["__typename"] for r in results]
            assert kinds == ["CallView"] * RINGS + ["RateLimited"] * (2 * RINGS), kinds
            refused = results[-1]
            assert 0 < refused["retryAfterSeconds"] <= 60, refused
            assert "requestCall" in refused["message"]

            rung = await world.olo.pool.fetchval(
                "SELECT count(*) FROM eventlog_events WHERE topic = 'olo.video:Call.Requested'"
            )
            assert rung == RINGS  # a refused request stored nothing

            # Another caller has their own budget.
            other = await make_party(world.olo, world.base, "other-caller", coins=1000)
            theirs = await world.mutate(other, REQUEST, str(world.streamer.user_id))
            assert theirs["__typename"] == "CallView", theirs


async def test_two_api_processes_sharing_redis_share_one_budget(
    settings, database_url, serve
) -> None:
    settings.redis_url = REDIS_URL
    settings.rate_limit_prefix = f"olo-test-{uuid4().hex}"  # this test's budgets only
    settings.rate_limits = {"updateProfile": "3/minute"}
    first_app = create_app(settings, database_url)
    second_app = create_app(settings, database_url, run_worker=False)
    async with serve(first_app) as first, serve(second_app) as second:
        token = token_for("edits-a-lot")

        async def update(base: str, bio: str) -> dict[str, Any]:
            body = await post(base, LIMITED_PROFILE, {"input": {"bio": bio}}, token)
            result = data_of(body)["updateProfile"]
            assert isinstance(result, dict)
            return result

        kinds = [
            (await update(base, f"bio {n}"))["__typename"]
            for n, base in enumerate([first, second, first, second, first])
        ]
        assert kinds == ["ProfileUpdated"] * 3 + ["RateLimited"] * 2, kinds
        updates = await first_app.state.olo.pool.fetchval(
            "SELECT count(*) FROM eventlog_events WHERE topic = 'olo.profile:User.ProfileUpdated'"
        )
        assert updates == 3  # the refused updates stored nothing

        someone_else = token_for("edits-once")
        body = await post(first, LIMITED_PROFILE, {"input": {"bio": "hi"}}, someone_else)
        assert data_of(body)["updateProfile"]["__typename"] == "ProfileUpdated"
