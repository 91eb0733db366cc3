"""The "you and X" screen end to end: a call, a gift and messages between a caller and a
streamer show up on `interaction` from each side; a third person only ever sees their own
(empty) history with either; bad ids, oneself and unknown users are typed refusals."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from call_support import HANG_UP, CallWorld, Party, make_party, online, settled
from chat_support import SEND, events_in_log
from gift_support import ROSE, connect, gift_world, send_gift

HISTORY = (
    "query($id: String!) { interaction(userId: $id) { __typename"
    " ... on InteractionView { userId calls directCalls rouletteCalls directSeconds"
    " rouletteSeconds directMinutes rouletteMinutes paidCalls"
    " youSpent { calls gifts total } theySpent { calls gifts total }"
    " youEarned { calls gifts total } giftsSent giftsReceived messagesSent messagesReceived"
    " firstContactAt lastContactAt }"
    " ... on InvalidInput { message field } ... on NotFound { message } } }"
)


@pytest.fixture
def settings(settings):
    settings.media_events = "clients"
    return settings


async def history(world: CallWorld, who: Party, with_id: str) -> dict[str, Any]:
    result = (await world.gql(who, HISTORY, id=with_id))["interaction"]
    assert isinstance(result, dict)
    return result


async def history_once(
    world: CallWorld, who: Party, with_id: str, ready: Any, seconds: float = 10.0
) -> dict[str, Any]:
    """`interaction` once `ready(result)` holds: the read model follows the log a moment
    later."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        result = await history(world, who, with_id)
        if ready(result):
            return result
        assert asyncio.get_running_loop().time() < deadline, result
        await asyncio.sleep(0.05)


async def message(world: CallWorld, sender: Party, to: Party, text: str, cid: str) -> None:
    sent = (await world.gql(sender, SEND, to=str(to.user_id), text=text, cid=cid))["sendMessage"]
    assert sent["__typename"] == "MessageSent", sent


async def test_a_call_a_gift_and_messages_seen_from_each_side(
    settings, database_url, serve
) -> None:
    async with gift_world(settings, database_url, serve) as world:
        caller, streamer = world.caller, world.streamer
        began = world.clock.now()
        await message(world, caller, streamer, "hi, free for a call?", "m1")
        await message(world, streamer, caller, "sure", "m2")
        async with online(world, streamer):  # reachable: the call can ring
            call_id = await connect(world)
            await world.advance(25, call_id)  # 9 at 0 s and 60 at 20 s; the streamer earns 30
            assert (await world.mutate(caller, HANG_UP, call_id))["status"] == "ended"
        assert (await send_gift(world, caller, streamer, ROSE, "g1"))["__typename"] == "GiftSent"
        await message(world, caller, streamer, "thank you!", "m3")

        mine = await history_once(
            world, caller, str(streamer.user_id), lambda r: r["messagesSent"] == 2
        )
        assert mine == {
            "__typename": "InteractionView",
            "userId": str(streamer.user_id),
            "calls": 1,
            "directCalls": 1,
            "rouletteCalls": 0,
            "directSeconds": 25,
            "rouletteSeconds": 0,
            "directMinutes": 0.42,
            "rouletteMinutes": 0.0,
            "paidCalls": 1,
            "youSpent": {"calls": 69, "gifts": 10, "total": 79},
            "theySpent": {"calls": 0, "gifts": 0, "total": 0},
            "youEarned": {"calls": 0, "gifts": 0, "total": 0},
            "giftsSent": 1,
            "giftsReceived": 0,
            "messagesSent": 2,
            "messagesReceived": 1,
            "firstContactAt": mine["firstContactAt"],
            "lastContactAt": mine["lastContactAt"],
        }
        assert 1000 - await world.wallet(caller) == 79  # what the wallet says was spent
        theirs = await history(world, streamer, str(caller.user_id))
        assert theirs["userId"] == str(caller.user_id)
        assert (theirs["calls"], theirs["directSeconds"], theirs["paidCalls"]) == (1, 25, 1)
        assert theirs["youSpent"] == {"calls": 0, "gifts": 0, "total": 0}
        assert theirs["theySpent"] == {"calls": 69, "gifts": 10, "total": 79}
        assert theirs["youEarned"] == {"calls": 30, "gifts": 5, "total": 35}
        assert await world.earnings(streamer) == 35
        assert (theirs["giftsSent"], theirs["giftsReceived"]) == (0, 1)
        assert (theirs["messagesSent"], theirs["messagesReceived"]) == (1, 2)
        assert (theirs["firstContactAt"], theirs["lastContactAt"]) == (
            mine["firstContactAt"],
            mine["lastContactAt"],
        )
        assert mine["firstContactAt"] < mine["lastContactAt"]
        assert mine["firstContactAt"].startswith(_iso_minute(began))


def _iso_minute(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat()[:16]


async def test_a_third_person_sees_only_their_own_history_and_strangers_see_zeros(
    settings, database_url, serve
) -> None:
    async with gift_world(settings, database_url, serve) as world:
        caller, streamer = world.caller, world.streamer
        await message(world, caller, streamer, "hello", "m1")
        await history_once(world, caller, str(streamer.user_id), lambda r: r["messagesSent"])
        eve = await make_party(world.olo, world.base, "eve", coins=100)
        # eve asking about either of them gets her own pair with that person: nothing
        for other in (caller, streamer):
            seen = await history(world, eve, str(other.user_id))
            assert seen["userId"] == str(other.user_id)
            assert (seen["calls"], seen["messagesSent"], seen["messagesReceived"]) == (0, 0, 0)
            assert seen["youSpent"]["total"] == seen["theySpent"]["total"] == 0
            assert seen["firstContactAt"] is None and seen["lastContactAt"] is None
        # the two of them still see their message
        seen = await history(world, streamer, str(caller.user_id))
        assert seen["messagesReceived"] == 1


async def test_bad_ids_oneself_and_unknown_users_are_refused_and_write_nothing(
    settings, database_url, serve, pg
) -> None:
    async with gift_world(settings, database_url, serve) as world:
        caller = world.caller
        await settled(pg)
        before = await events_in_log(pg)
        bad = await history(world, caller, "not-an-id")
        assert (bad["__typename"], bad["field"]) == ("InvalidInput", "userId")
        self_ = await history(world, caller, str(caller.user_id))
        assert (self_["__typename"], self_["field"]) == ("InvalidInput", "userId")
        unknown = await history(world, caller, str(uuid4()))
        assert unknown["__typename"] == "NotFound"
        long = await history(world, caller, "x" * 5000)
        assert long["__typename"] == "InvalidInput" and len(long["message"]) <= 160
        await settled(pg)
        assert await events_in_log(pg) == before
