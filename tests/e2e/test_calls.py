"""Paid calls end to end through GraphQL, with a manual clock and the apps reporting who
joined the channel: exact coins at every tariff boundary, ring timeout, no-media refund."""

from __future__ import annotations

import asyncio

import pytest
from call_support import (
    ACCEPT,
    CALLS,
    HANG_UP,
    JOIN,
    REQUEST,
    CallWorld,
    call_world,
    online,
    wait_for,
)

from domains.video.aggregate import Side


@pytest.fixture
def settings(settings):
    settings.media_events = "clients"
    return settings


async def connect(world: CallWorld) -> str:
    """Ring, answer and join both sides; the call id."""
    requested = await world.mutate(world.caller, REQUEST, str(world.streamer.user_id))
    assert requested["__typename"] == "CallView", requested
    call_id = requested["id"]
    accepted = await world.mutate(world.streamer, ACCEPT, call_id)
    assert accepted["status"] == "accepted", accepted
    for who in (world.caller, world.streamer):
        joined = await world.mutate(who, JOIN, call_id)
        assert joined["__typename"] == "MediaJoin", joined
    call = await world.call(call_id)
    assert call.connected_at == world.clock.now()
    return call_id


# Seed tariff: caller 9 at 0 s, 60 at 20 s and 60 s, then 60 every 60 s; streamer 30 at 20 s
# and 60 s, then 30 every 60 s.
DURATIONS = [
    (0, 9, 0),
    (19, 9, 0),
    (20, 69, 30),
    (21, 69, 30),
    (59, 69, 30),
    (60, 129, 60),
    (61, 129, 60),
    (600, 669, 330),
]


async def test_exact_coins_at_every_boundary(settings, database_url, serve) -> None:
    async with call_world(settings, database_url, serve, caller_coins=5000) as world:
        async with online(world, world.streamer), online(world, world.caller) as caller_events:
            spent = earned = 0
            for seconds, charged, paid_out in DURATIONS:
                call_id = await connect(world)
                await world.advance(seconds, call_id)
                ended = await world.mutate(world.caller, HANG_UP, call_id)
                assert (ended["status"], ended["endReason"]) == ("ended", "hangup_caller")
                assert (seconds, ended["coinsCharged"], ended["coinsEarned"]) == (
                    seconds,
                    charged,
                    paid_out,
                )
                spent += charged
                earned += paid_out
                assert await world.wallet(world.caller) == 5000 - spent
                assert await world.earnings(world.streamer) == earned
                item = await wait_for(caller_events, "ended")
                assert item["callId"] == call_id and item["reason"] == "hangup_caller"
            history = (await world.gql(world.caller, CALLS))["calls"]
            assert [c["coins"] for c in history] == [c for _, c, _ in reversed(DURATIONS)]
            assert history[0]["durationSeconds"] == 600
            as_streamer = (await world.gql(world.streamer, CALLS))["calls"]
            assert [c["coins"] for c in as_streamer] == [e for _, _, e in reversed(DURATIONS)]
            assert {c["side"] for c in as_streamer} == {"streamer"}


async def test_the_meter_charges_while_talking_and_renews_tokens(
    settings, database_url, serve
) -> None:
    async with call_world(settings, database_url, serve, caller_coins=150) as world:
        async with (
            online(world, world.streamer) as streamer_events,
            online(world, world.caller) as caller_events,
        ):
            call_id = await connect(world)
            first = (await world.mutate(world.caller, JOIN, call_id))["expiresAt"]
            connect_charge = await wait_for(caller_events, "charged")
            assert (connect_charge["side"], connect_charge["coins"]) == ("caller", 9)
            await world.advance(20, call_id)
            charged = await wait_for(caller_events, "charged")
            assert (charged["side"], charged["coins"]) == ("caller", 60)
            renewed = await wait_for(caller_events, "tokenRenewed")
            assert renewed["media"]["expiresAt"] == first + 40  # paid until 60 s, not 20 s
            earned = await wait_for(streamer_events, "charged")
            assert (earned["side"], earned["coins"]) == ("streamer", 30)
            # 150 - 9 - 60 = 81 covers the 60 s checkpoint but not the one at 120 s
            await world.advance(60, call_id)
            warning = await wait_for(caller_events, "endingSoon")
            assert warning["callId"] == call_id
            await world.advance(60, call_id)
            ended = await wait_for(caller_events, "ended")
            assert ended["reason"] == "insufficient_funds"
            assert (await wait_for(streamer_events, "ended"))["reason"] == "insufficient_funds"
            call = await world.call(call_id)
            # billed just short of 120 s: the streamer's 120 s checkpoint is not owed either
            assert call.coins[Side.CALLER] == 129 and call.coins[Side.STREAMER] == 60
            assert await world.wallet(world.caller) == 21
            assert await world.earnings(world.streamer) == 60


async def test_ring_timeout_and_a_busy_streamer(settings, database_url, serve) -> None:
    async with call_world(settings, database_url, serve) as world:
        async with online(world, world.streamer) as streamer_events:
            call_id = (await world.mutate(world.caller, REQUEST, str(world.streamer.user_id)))["id"]
            assert (await wait_for(streamer_events, "incoming"))["callId"] == call_id
            again = await world.mutate(world.caller, REQUEST, str(world.streamer.user_id))
            assert again["__typename"] == "CalleeUnavailable"  # the caller's own line is busy
            world.clock.advance(settings.ring_seconds)
            assert (await wait_for(streamer_events, "missed"))["callId"] == call_id
            late = await world.mutate(world.streamer, ACCEPT, call_id)
            assert late["__typename"] == "CallNotPossible"
            retry = await world.mutate(world.caller, REQUEST, str(world.streamer.user_id))
            assert retry["__typename"] == "CallView"  # both lines are free again
            assert await world.wallet(world.caller) == 1000


async def test_offline_streamer_and_a_poor_caller(settings, database_url, serve) -> None:
    async with call_world(settings, database_url, serve, caller_coins=8) as world:
        offline = await world.mutate(world.caller, REQUEST, str(world.streamer.user_id))
        assert offline["__typename"] == "CalleeUnavailable"
        async with online(world, world.streamer):
            poor = await world.mutate(world.caller, REQUEST, str(world.streamer.user_id))
            assert (poor["__typename"], poor["needed"], poor["coins"]) == (
                "InsufficientFunds",
                9,
                8,
            )
            self_call = await world.mutate(world.streamer, REQUEST, str(world.streamer.user_id))
            assert self_call["__typename"] == "InvalidInput"
            bad = await world.mutate(world.caller, REQUEST, "not-an-id")
            assert (bad["__typename"], bad["field"]) == ("InvalidInput", "calleeId")


async def test_no_media_refunds_the_connect_charge(settings, database_url, serve) -> None:
    async with call_world(settings, database_url, serve) as world:
        async with online(world, world.streamer), online(world, world.caller) as caller_events:
            call_id = (await world.mutate(world.caller, REQUEST, str(world.streamer.user_id)))["id"]
            await world.mutate(world.streamer, ACCEPT, call_id)
            assert await world.wallet(world.caller) == 991
            await world.mutate(world.caller, JOIN, call_id)  # the streamer never joins
            world.clock.advance(settings.media_seconds)
            ended = await wait_for(caller_events, "ended")
            assert ended["reason"] == "no_media"
            assert await world.wallet(world.caller) == 1000
            call = await world.call(call_id)
            assert call.coins[Side.CALLER] == 0 and call.refunded == 9


async def test_strangers_cannot_touch_a_call(settings, database_url, serve) -> None:
    from call_support import make_party

    async with call_world(settings, database_url, serve) as world:
        async with online(world, world.streamer):
            call_id = (await world.mutate(world.caller, REQUEST, str(world.streamer.user_id)))["id"]
            stranger = await make_party(world.olo, world.base, "stranger")
            for query in (ACCEPT, HANG_UP, JOIN):
                result = await world.mutate(stranger, query, call_id)
                assert result["__typename"] == "NotFound", result
            own = await world.mutate(world.caller, ACCEPT, call_id)
            assert own["__typename"] == "CallNotPossible"
            assert (await world.call(call_id)).status.value == "ringing"


EARNINGS = "subscription { earnings { callId coins callTotal today position } }"


async def test_a_streamer_watches_earnings_grow(settings, database_url, serve) -> None:
    from graphql_client import subscribe

    async with call_world(settings, database_url, serve) as world:
        async with (
            online(world, world.streamer),
            subscribe(world.base, EARNINGS, world.streamer.token) as earnings,
        ):
            first = (await earnings.next_data())["earnings"]
            assert (first["callId"], first["today"]) == (None, 0)
            call_id = await connect(world)
            await world.advance(60, call_id)
            credits = [(await earnings.next_data())["earnings"] for _ in range(2)]
            assert [(c["callId"], c["coins"], c["callTotal"], c["today"]) for c in credits] == [
                (call_id, 30, 30, 30),
                (call_id, 30, 60, 60),
            ]


async def test_a_caller_who_cannot_pay_the_20_s_checkpoint_is_warned_on_connect(
    settings, database_url, serve
) -> None:
    async with call_world(settings, database_url, serve, caller_coins=68) as world:
        async with online(world, world.streamer), online(world, world.caller) as caller_events:
            call_id = await connect(world)  # 9 paid, 59 left: the 60 at 20 s is not covered
            warning = await wait_for(caller_events, "endingSoon")  # before any time passes
            assert warning["callId"] == call_id
            await world.advance(20, call_id)
            assert (await wait_for(caller_events, "ended"))["reason"] == "insufficient_funds"
            assert await world.wallet(world.caller) == 59


async def test_a_spend_during_the_call_warns_when_the_next_checkpoint_is_not_covered(
    settings, database_url, serve
) -> None:
    from domains.balance.aggregate import PlatformAccount
    from domains.balance.service import AccountRef

    async with call_world(settings, database_url, serve, caller_coins=200) as world:
        async with online(world, world.streamer), online(world, world.caller) as caller_events:
            call_id = await connect(world)
            await world.advance(20, call_id)  # 9 + 60 paid, 131 left covers the 60 at 60 s
            while (await wait_for(caller_events, "charged"))["coins"] != 60:
                pass  # the connect charge first
            await world.olo.services.balance.transfer(
                key="test/gift",
                source=AccountRef.wallet(world.caller.user_id),
                target=AccountRef.platform(PlatformAccount.REVENUE),
                amount=100,
                reason="gift",
            )  # 31 left
            warning = await wait_for(caller_events, "endingSoon")
            assert warning["callId"] == call_id
            await world.advance(40, call_id)
            assert (await wait_for(caller_events, "ended"))["reason"] == "insufficient_funds"


BILLED = (
    "{ calls { id status endReason durationSeconds billedSeconds coins"
    " checkpoints { atSecond coins } } }"
)


async def test_calls_show_the_seconds_billed_and_the_checkpoints_behind_the_coins(
    settings, database_url, serve
) -> None:
    async with call_world(settings, database_url, serve, caller_coins=278) as world:
        async with online(world, world.streamer), online(world, world.caller):
            talked = await connect(world)
            await world.advance(61, talked)
            await world.mutate(world.caller, HANG_UP, talked)  # 129 paid, 149 left
            cut = await connect(world)
            await world.advance(120, cut)  # 9 + 60 + 60 paid, 20 left: not the 60 at 120 s
            refunded = (await world.mutate(world.caller, REQUEST, str(world.streamer.user_id)))[
                "id"
            ]
        for call_id in (talked, cut):
            assert (await world.call(call_id)).status.value == "ended"
        await world.mutate(world.streamer, ACCEPT, refunded)  # nobody joins: no_media
        world.clock.advance(settings.media_seconds)
        for _ in range(200):
            calls = {c["id"]: c for c in (await world.gql(world.caller, BILLED))["calls"]}
            if all(calls.get(i, {}).get("status") == "ended" for i in (talked, cut, refunded)):
                break
            await asyncio.sleep(0.05)
        streamer_view = {c["id"]: c for c in (await world.gql(world.streamer, BILLED))["calls"]}

    seed = [{"atSecond": 0, "coins": 9}, {"atSecond": 20, "coins": 60}]
    assert calls[talked] | {"id": None} == {
        "id": None,
        "status": "ended",
        "endReason": "hangup_caller",
        "durationSeconds": 61,
        "billedSeconds": 61,
        "coins": 129,
        "checkpoints": [*seed, {"atSecond": 60, "coins": 60}],
    }
    assert streamer_view[talked]["checkpoints"] == [
        {"atSecond": 20, "coins": 30},
        {"atSecond": 60, "coins": 30},
    ]
    assert calls[cut]["endReason"] == "insufficient_funds"
    assert calls[cut]["durationSeconds"] == 120
    assert 119.9 < calls[cut]["billedSeconds"] < 120  # just short of the unpaid checkpoint
    assert calls[cut]["checkpoints"] == [*seed, {"atSecond": 60, "coins": 60}]
    assert sum(c["coins"] for c in calls[cut]["checkpoints"]) == calls[cut]["coins"] == 129
    assert streamer_view[cut]["coins"] == 60 and len(streamer_view[cut]["checkpoints"]) == 2
    assert calls[refunded]["endReason"] == "no_media"
    assert (calls[refunded]["billedSeconds"], calls[refunded]["coins"]) == (0, 0)
    assert calls[refunded]["checkpoints"] == []
