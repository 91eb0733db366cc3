"""What the chat does on its own: the configured streamers greet a new user, an ended call is
an entry in the pair's chat (each side seeing its own coins), and a message to someone
offline is pushed through the fake FCM, collapsed per chat."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from call_support import HANG_UP, call_world, online
from chat_support import CHATS, MESSAGES, Person, chats_until, gql, person, send
from fakes.fcm import FakeFcm
from gift_support import TEDDY, gift_world, send_gift
from graphql_client import data_of, post
from test_calls import connect

REGISTER = (
    "mutation($input: DeviceInput!) { registerDevice(input: $input) {"
    " ... on DeviceRegistered { deviceId } } }"
)
PIXEL = {"platform": "android", "fcmToken": "fcm-pixel", "appVersion": "3.1"}
GREETING = "Hi, I'm Bella! Say hello any time."


@pytest.fixture
def settings(settings):
    settings.media_events = "clients"
    settings.welcome_streamers = ["bella"]  # by firebase uid, as the demo configures it
    settings.welcome_greeting = GREETING
    return settings


@pytest.fixture
async def fcm(settings, tmp_path) -> AsyncIterator[FakeFcm]:
    async with FakeFcm(settings.firebase_project_id) as fake:
        account = tmp_path / "service-account.json"
        account.write_text(json.dumps(fake.service_account()))
        settings.firebase_credentials_file = account
        settings.fcm_api_url = fake.base_url
        yield fake


async def test_a_new_user_is_greeted_by_the_configured_streamer(api) -> None:
    bella = await person(api, "bella")
    newbie = await person(api, "newbie")
    page = await chats_until(api, newbie, lambda p: p["chats"])
    (chat,) = page["chats"]
    assert chat["peer"]["id"] == bella.user_id and chat["peer"]["displayName"] == "Bella"
    assert chat["lastItem"]["text"] == GREETING and chat["lastItem"]["senderId"] == bella.user_id
    assert chat["unread"] == 1 and page["unreadTotal"] == 1
    # once: signing in again greets nobody again, and Bella herself was not greeted
    await person(api, "newbie")
    await asyncio.sleep(0.5)
    items = await gql(api, newbie, MESSAGES, chat=chat["id"], first=10)
    assert [i["text"] for i in items["items"]] == [GREETING]
    bellas = await chats_until(api, bella, lambda p: p["chats"])
    assert [c["peer"]["id"] for c in bellas["chats"]] == [newbie.user_id]


async def test_a_message_to_someone_offline_is_pushed_collapsed_per_chat(
    fcm: FakeFcm, api
) -> None:  # the fake FCM first: the app is made with its settings
    alice, bob = await person(api, "alice"), await person(api, "bob")
    data_of(await post(api, REGISTER, {"input": PIXEL}, bob.token))
    first = await send(api, alice, bob, "are you there?", "o1")
    second = await send(api, alice, bob, "hello?", "o2")
    chat_id = first["item"]["chatId"]
    for _ in range(500):
        if len(fcm.messages) >= 2:
            break
        await asyncio.sleep(0.02)
    pushed = sorted(fcm.messages, key=lambda m: m["data"]["message_id"])
    assert len(pushed) == 2
    for message in pushed:
        assert message["token"] == "fcm-pixel"
        assert message["data"]["kind"] == "alert" and message["data"]["chat_id"] == chat_id
        assert message["data"]["sender_id"] == alice.user_id
        assert message["android"]["collapse_key"] == chat_id  # one shown per chat
        assert message["notification"]["title"] == "New message"
    ids = sorted(m["data"]["message_id"] for m in pushed)
    assert ids == sorted([first["item"]["id"], second["item"]["id"]])


async def test_an_ended_call_is_an_entry_in_the_chat(settings, database_url, serve) -> None:
    async with call_world(settings, database_url, serve) as world:
        async with online(world, world.streamer):
            call_id = await connect(world)
            await world.advance(61, call_id)
            ended = await world.mutate(world.caller, HANG_UP, call_id)
        assert (ended["coinsCharged"], ended["coinsEarned"]) == (129, 60)
        caller = Person("caller", world.caller.token, str(world.caller.user_id))
        streamer = Person("streamer", world.streamer.token, str(world.streamer.user_id))
        entries = {}
        for who in (caller, streamer):
            page = await chats_until(world.base, who, lambda p: p["chats"])
            entries[who.uid] = page["chats"][0]["lastItem"]
        shared = {"callId": call_id, "callKind": "direct", "durationSeconds": 61}
        assert entries["caller"]["kind"] == "entry" and entries["caller"]["entryKind"] == "call"
        assert entries["caller"]["data"] == {
            **shared,
            "endReason": "hangup_caller",
            "side": "caller",
            "coins": 129,
        }
        assert entries["streamer"]["data"] == {
            **shared,
            "endReason": "hangup_caller",
            "side": "streamer",
            "coins": 60,
        }
        # an entry is no unread message
        page = await gql(world.base, caller, CHATS, first=5)
        assert page["unreadTotal"] == 0


async def test_a_gift_is_an_entry_in_the_chat(settings, database_url, serve) -> None:
    async with gift_world(settings, database_url, serve) as world:
        sent = await send_gift(world, world.caller, world.streamer, TEDDY, "teddy-1")
        assert sent["__typename"] == "GiftSent"
        caller = Person("caller", world.caller.token, str(world.caller.user_id))
        streamer = Person("streamer", world.streamer.token, str(world.streamer.user_id))
        entries = {}
        for who in (caller, streamer):
            page = await chats_until(world.base, who, lambda p: p["chats"])
            entries[who.uid] = page["chats"][0]["lastItem"]
        shared = {
            "giftId": TEDDY,
            "name": "Teddy bear",
            "imageUrl": "https://cdn.olo.app/gifts/teddy.png",
            "callId": None,
        }
        assert entries["caller"]["entryKind"] == "gift"
        assert entries["caller"]["data"] == {**shared, "side": "sender", "coins": 100}
        assert entries["streamer"]["data"] == {**shared, "side": "streamer", "coins": 60}
        # sent twice with the same key: still one entry
        await send_gift(world, world.caller, world.streamer, TEDDY, "teddy-1")
        await asyncio.sleep(0.3)
        items = await gql(world.base, caller, MESSAGES, chat=entries["caller"]["chatId"], first=10)
        assert [i["entryKind"] for i in items["items"]] == ["gift"]
