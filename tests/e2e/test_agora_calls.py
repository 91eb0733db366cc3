"""Calls with Agora: the channel webhooks connect the call (forged ones refused, duplicates
counted once, stale reports ignored), and a call the server ends has both parties removed
through the kicking-rule API of a loopback fake Agora."""

from __future__ import annotations

import pytest
from call_support import ACCEPT, JOIN, REQUEST, CallWorld, call_world, online, wait_for
from fakes.agora import FakeAgora, NoticeSender
from graphql_client import data_of, post

from domains.video.aggregate import CallStatus, Side
from domains.video.agora import channel_of

BLOCK = 'mutation($id: ID!) { block(userId: $id, reason: "rude") { __typename } }'


@pytest.fixture
async def agora(settings):
    async with FakeAgora() as fake:
        settings.agora_rest_url = fake.base_url
        settings.media_events = "agora"
        yield fake


async def answered(world: CallWorld) -> tuple[str, str]:
    call_id = (await world.mutate(world.caller, REQUEST, str(world.streamer.user_id)))["id"]
    assert (await world.mutate(world.streamer, ACCEPT, call_id))["status"] == "accepted"
    joined = await world.mutate(world.caller, JOIN, call_id)
    assert joined["channel"] == channel_of(__import__("uuid").UUID(call_id))
    assert (await world.call(call_id)).status is CallStatus.ACCEPTED  # Agora says who joined
    return call_id, joined["channel"]


async def test_webhooks_connect_the_call(settings, database_url, serve, agora) -> None:
    async with call_world(settings, database_url, serve) as world:
        sender = NoticeSender(world.base + "/webhooks/agora")
        async with online(world, world.streamer), online(world, world.caller) as events:
            call_id, channel = await answered(world)
            forged = await sender.send(
                sender.notice(107, channel, uid=1, client_seq=1), forged=True
            )
            assert forged.status_code == 401
            garbage = await sender.send(b"{not json")
            assert garbage.status_code == 400
            caller_join = sender.notice(107, channel, uid=1, client_seq=1)
            assert (await sender.send(caller_join)).json()["status"] == "ok"
            assert (await sender.send(caller_join)).json()["status"] == "duplicate"
            # The streamer's leave (seq 3) overtakes their join (seq 2): the join is stale.
            await sender.send(sender.notice(108, channel, uid=2, client_seq=3))
            await sender.send(sender.notice(107, channel, uid=2, client_seq=2))
            call = await world.call(call_id)
            assert call.status is CallStatus.ACCEPTED and call.media_seq[Side.STREAMER] == 3
            await sender.send(sender.notice(107, channel, uid=2, client_seq=4))
            assert (await wait_for(events, "connected"))["callId"] == call_id
            assert (await world.call(call_id)).connected_at == world.clock.now()
            assert agora.kicks == []


async def test_running_out_of_coins_kicks_both(settings, database_url, serve, agora) -> None:
    async with call_world(settings, database_url, serve, caller_coins=69) as world:
        sender = NoticeSender(world.base + "/webhooks/agora")
        async with online(world, world.streamer), online(world, world.caller) as events:
            call_id, channel = await answered(world)
            for uid in (1, 2):
                await sender.send(sender.notice(107, channel, uid=uid, client_seq=1))
            await wait_for(events, "connected")
            await world.advance(60, call_id)  # 9 + 60 paid; the 60 s checkpoint is not
            assert (await wait_for(events, "ended"))["reason"] == "insufficient_funds"
            await _kicked(agora, channel)
            assert await world.wallet(world.caller) == 0
            assert await world.earnings(world.streamer) == 30  # billed just short of 60 s


async def test_a_block_ends_the_call_at_once(settings, database_url, serve, agora) -> None:
    async with call_world(settings, database_url, serve) as world:
        sender = NoticeSender(world.base + "/webhooks/agora")
        async with online(world, world.streamer), online(world, world.caller) as events:
            call_id, channel = await answered(world)
            for uid in (1, 2):
                await sender.send(sender.notice(107, channel, uid=uid, client_seq=1))
            await wait_for(events, "connected")
            await world.advance(25, call_id)
            result = data_of(
                await post(
                    world.base, BLOCK, {"id": str(world.caller.user_id)}, world.streamer.token
                )
            )
            assert result["block"]["__typename"] == "UserBlocked"
            ended = await wait_for(events, "ended")
            assert (ended["callId"], ended["reason"]) == (call_id, "blocked")
            await _kicked(agora, channel)
            call = await world.call(call_id)
            assert call.coins[Side.CALLER] == 69 and call.coins[Side.STREAMER] == 30
            again = await world.mutate(world.caller, REQUEST, str(world.streamer.user_id))
            assert again["__typename"] == "Blocked"


async def _kicked(agora: FakeAgora, channel: str) -> None:
    import asyncio

    for _ in range(250):
        if len(agora.kicks) >= 2:
            break
        await asyncio.sleep(0.02)
    assert sorted(k["uid"] for k in agora.kicks if k["cname"] == channel) == [1, 2]
