"""Auto-review through the API: K distinct people blocking a user for abuse within the window
suspend them pending review (an event, exactly once under concurrent blocks); a suspended
user gets `Suspended` on requestCall, startRoulette and acceptCall and sees it on `me`; feeds
read who is suspended; an operator lifts it."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

from call_support import ACCEPT, HANG_UP, REQUEST, CallWorld, Party, call_world, make_party, online
from favorites_support import eventually

from domains.blocklist.standing import BlockCategory, NotSuspendedError
from eventlog.settings import Settings

BLOCK = (
    "mutation($userId: ID!, $category: BlockCategory) {"
    ' block(userId: $userId, reason: "rude", category: $category) { __typename } }'
)
UNBLOCK = "mutation($u: ID!) { unblock(userId: $u) { __typename } }"
ME = "{ me { id suspension { suspendedAt } } }"
SUSPENDED = " ... on Suspended { message }"
START_ROULETTE = "mutation { startRoulette { __typename" + SUSPENDED + " } }"
REQUEST_S = REQUEST.replace("} } }", "}" + SUSPENDED + " } }", 1)
ACCEPT_S = ACCEPT.replace("} } }", "}" + SUSPENDED + " } }", 1)


async def _reporters(world: CallWorld, prefix: str, n: int) -> list[Party]:
    return [await make_party(world.olo, world.base, f"{prefix}-{i}") for i in range(n)]


async def _block(world: CallWorld, who: Party, user: Party, category: str | None) -> None:
    data = await world.gql(who, BLOCK, userId=str(user.user_id), category=category)
    assert data["block"]["__typename"] == "UserBlocked"


async def _suspension(world: CallWorld, who: Party) -> Any:
    return (await world.gql(who, ME))["me"]["suspension"]


async def _suspended_events(world: CallWorld) -> int:
    return int(
        await world.olo.pool.fetchval(
            "SELECT count(*) FROM eventlog_events WHERE topic = 'olo.blocklist:Standing.Suspended'"
        )
    )


async def _request(world: CallWorld, who: Party, callee: Party) -> dict[str, Any]:
    return await world.mutate(who, REQUEST_S, str(callee.user_id))


async def test_k_abuse_blocks_suspend_and_an_operator_lifts(
    settings: Settings, database_url: str, serve: Any
) -> None:
    async with call_world(settings, database_url, serve) as world:
        caller, streamer = world.caller, world.streamer
        people = await _reporters(world, "reporter", 5)
        # Not abuse: spam, or no category given; one person blocking twice counts once.
        await _block(world, people[0], caller, "SPAM")
        await _block(world, people[1], caller, None)
        await _block(world, people[2], caller, "HARASSMENT")
        await world.gql(people[2], UNBLOCK, u=str(caller.user_id))
        await _block(world, people[2], caller, "SCAM")
        await _block(world, people[3], caller, "INDECENCY")
        assert await _suspension(world, caller) is None
        assert await _suspended_events(world) == 0
        async with online(world, streamer):
            ringing = await _request(world, caller, streamer)
            assert ringing["__typename"] == "CallView"
            await world.mutate(caller, HANG_UP, ringing["id"])

            await _block(world, people[4], caller, "HARASSMENT")  # the third distinct reporter
            assert (await _suspension(world, caller))["suspendedAt"]
            assert await _suspended_events(world) == 1
            refused = await _request(world, caller, streamer)
            assert refused["__typename"] == "Suspended"
            roulette = (await world.gql(caller, START_ROULETTE))["startRoulette"]
            assert roulette["__typename"] == "Suspended"
            queries = world.olo.services.blocklist_queries
            ids = [caller.user_id, streamer.user_id]
            await eventually(lambda: queries.suspended(ids), lambda s: s == {caller.user_id})
            assert await _suspension(world, streamer) is None

            await world.olo.services.review.lift_suspension(caller.user_id, "op-1", "reviewed")
            assert await _suspension(world, caller) is None
            await eventually(lambda: queries.suspended(ids), lambda s: s == set())
            assert (await _request(world, caller, streamer))["__typename"] == "CallView"
        try:
            await world.olo.services.review.lift_suspension(caller.user_id, "op-1")
        except NotSuspendedError:
            pass
        else:
            raise AssertionError("lifting no suspension must fail")


async def test_a_suspended_streamer_cannot_answer(
    settings: Settings, database_url: str, serve: Any
) -> None:
    async with call_world(settings, database_url, serve) as world:
        caller, streamer = world.caller, world.streamer
        async with online(world, streamer):
            ringing = await _request(world, caller, streamer)
            assert ringing["__typename"] == "CallView"
            for reporter in await _reporters(world, "viewer", 3):
                await _block(world, reporter, streamer, "INDECENCY")
            answered = await world.mutate(streamer, ACCEPT_S, ringing["id"])
            assert answered["__typename"] == "Suspended"
            assert (await world.call(ringing["id"])).status.value == "ringing"
            assert await world.wallet(caller) == 1000  # no connect charge


async def test_concurrent_abuse_blocks_suspend_exactly_once(
    settings: Settings, database_url: str, serve: Any
) -> None:
    async with call_world(settings, database_url, serve) as world:
        target = world.streamer.user_id
        people = await _reporters(world, "crowd", 8)
        blocklist = world.olo.services.blocklist
        receipts = await asyncio.gather(
            *(blocklist.block(p.user_id, target, "rude", BlockCategory.HARASSMENT) for p in people)
        )
        assert sum(r.suspended for r in receipts) == 1
        assert await _suspended_events(world) == 1
        reports = await world.olo.pool.fetchval(
            "SELECT count(*) FROM eventlog_events "
            "WHERE topic = 'olo.blocklist:Standing.AbuseReported'"
        )
        assert reports == 8
        suspension = await world.olo.services.review.suspension(target)
        assert suspension is not None and suspension.user_id == UUID(str(target))
