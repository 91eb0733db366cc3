"""Incoming calls reach a streamer's devices, and stop ringing on them, through the loopback
fake FCM and OneSignal (the real firebase-admin and onesignal-sdk clients): a streamer whose
app is killed is rung by push at once (iOS: a VoIP push; Android: a high-priority data
message); answering on one device dismisses ringing on the others; cancelled and missed calls
dismiss it on all; a ring shown and acknowledged in-app is never pushed, one left
unacknowledged is pushed at the ACK deadline."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from call_support import ACCEPT, HANG_UP, REQUEST, CallWorld, Party, call_world
from fakes.fcm import FakeFcm
from fakes.onesignal import FakeOneSignal
from graphql_client import data_of, post, subscribe

REGISTER = (
    "mutation($input: DeviceInput!) { registerDevice(input: $input) {"
    " ... on DeviceRegistered { deviceId } } }"
)
ANSWER_ON = (
    "mutation($id: String!, $device: String) { acceptCall(callId: $id, deviceId: $device)"
    " { __typename ... on CallView { status } ... on InvalidInput { field } } }"
)
DECLINE_ON = (
    "mutation($id: String!, $device: String) { declineCall(callId: $id, deviceId: $device)"
    " { __typename ... on CallView { status } } }"
)
NOTIFICATIONS = "subscription { notifications { id kind payload } }"
ACK = "mutation($id: String!) { ackNotification(id: $id) { __typename } }"
IPHONE = {
    "platform": "ios",
    "fcmToken": "fcm-iphone",
    "onesignalId": "os-iphone",
    "voipToken": "voip-iphone",
    "appVersion": "3.1",
}
PIXEL = {"platform": "android", "fcmToken": "fcm-pixel", "appVersion": "3.1"}


@dataclass
class Providers:
    fcm: FakeFcm
    onesignal: FakeOneSignal
    seen: tuple[int, int] = (0, 0)

    def count(self) -> int:
        return len(self.fcm.messages) + len(self.onesignal.notifications)

    def new(self) -> list[tuple[str, str, str]]:
        """(address, kind, reason) of each push the providers accepted since the last call."""
        fcm, onesignal = self.seen
        sent = [(m["token"], m["data"]) for m in self.fcm.messages[fcm:]]
        sent += [
            (n["include_subscription_ids"][0], n["data"])
            for n in self.onesignal.notifications[onesignal:]
        ]
        self.seen = (len(self.fcm.messages), len(self.onesignal.notifications))
        return sorted((address, d["kind"], d.get("reason", "")) for address, d in sent)

    async def until(self, count: int, seconds: float = 10.0) -> None:
        for _ in range(int(seconds / 0.02)):
            if self.count() >= count:
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"{count} pushes wanted, the providers have {self.count()}")

    async def no_more(self, count: int, seconds: float = 0.5) -> None:
        await asyncio.sleep(seconds)
        assert self.count() == count


@pytest.fixture
async def providers(settings, tmp_path) -> AsyncIterator[Providers]:
    async with FakeFcm(settings.firebase_project_id) as fcm, FakeOneSignal() as onesignal:
        account = tmp_path / "service-account.json"
        account.write_text(json.dumps(fcm.service_account()))
        settings.firebase_credentials_file = account
        settings.fcm_api_url = fcm.base_url
        settings.onesignal_app_id = onesignal.app_id
        settings.onesignal_api_key = onesignal.api_key
        settings.onesignal_api_root = onesignal.base_url
        settings.media_events = "clients"
        yield Providers(fcm, onesignal)


async def register(world: CallWorld, who: Party, device: dict[str, str]) -> str:
    data = data_of(await post(world.base, REGISTER, {"input": device}, who.token))
    return str(data["registerDevice"]["deviceId"])


async def ring(world: CallWorld) -> str:
    result = await world.mutate(world.caller, REQUEST, str(world.streamer.user_id))
    assert result["__typename"] == "CallView", result
    return str(result["id"])


async def status_of(world: CallWorld, key: str) -> str | None:
    from domains.notification.aggregate import notification_id_of

    found = await world.olo.pool.fetchval(
        "SELECT status FROM notification_items WHERE notification_id = $1",
        notification_id_of(key),
    )
    return None if found is None else str(found)


async def settled(world: CallWorld, key: str, wanted: str) -> None:
    for _ in range(500):
        if await status_of(world, key) == wanted:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{key} is {await status_of(world, key)}, not {wanted}")


async def test_a_killed_app_rings_at_once_and_answering_stops_the_other_devices(
    settings, database_url, serve, providers: Providers
) -> None:
    fcm, onesignal = providers.fcm, providers.onesignal
    async with call_world(settings, database_url, serve) as world:
        streamer = world.streamer
        iphone = await register(world, streamer, IPHONE)
        await register(world, streamer, PIXEL)
        assert not await world.olo.services.presence.is_online(streamer.user_id)

        call_id = await ring(world)  # no live connection, but devices a push can wake
        await providers.until(2)  # the manual clock stands still: pushed at once, no deadline
        ringing = {
            "kind": "incoming_call",
            "call_id": call_id,
            "title": "Incoming call",
            "body": "Someone is calling you",
            "caller_id": str(world.caller.user_id),
            "call_kind": "direct",
            "notification_id": fcm.messages[0]["data"]["notification_id"],
        }
        voip = onesignal.notifications[0]
        assert voip == {
            "app_id": onesignal.app_id,
            "include_subscription_ids": ["os-iphone"],
            "apns_push_type_override": "voip",
            "content_available": True,
            "data": ringing,
            "priority": 10,
            "ttl": 30,
            "idempotency_key": voip["idempotency_key"],
        }
        assert fcm.messages == [
            {
                "token": "fcm-pixel",
                "data": ringing,
                "android": {"collapse_key": call_id, "priority": "high", "ttl": "30s"},
            }
        ]

        answered = data_of(
            await post(world.base, ANSWER_ON, {"id": call_id, "device": iphone}, streamer.token)
        )["acceptCall"]
        assert answered == {"__typename": "CallView", "status": "accepted"}
        await providers.until(3)
        dismissal = fcm.messages[1]
        assert dismissal == {
            "token": "fcm-pixel",
            "data": {
                "kind": "call_ended",
                "call_id": call_id,
                "reason": "answered",
                "notification_id": dismissal["data"]["notification_id"],
            },
            "android": {"collapse_key": call_id, "priority": "high", "ttl": "60s"},
        }
        await providers.no_more(3)  # nothing for the iPhone, which answered
        assert await status_of(world, f"call/{call_id}/in") == "pushed"
        await settled(world, f"call/{call_id}/ringing_ended", "pushed")

        bad = data_of(
            await post(world.base, ANSWER_ON, {"id": call_id, "device": "x"}, streamer.token)
        )["acceptCall"]
        assert bad == {"__typename": "InvalidInput", "field": "deviceId"}


async def test_cancelled_and_missed_calls_stop_ringing_on_every_device(
    settings, database_url, serve, providers: Providers
) -> None:
    async with call_world(settings, database_url, serve) as world:
        await register(world, world.streamer, IPHONE)
        await register(world, world.streamer, PIXEL)

        cancelled = await ring(world)
        await providers.until(2)
        assert providers.new() == [
            ("fcm-pixel", "incoming_call", ""),
            ("os-iphone", "incoming_call", ""),  # the VoIP push
        ]
        await world.mutate(world.caller, HANG_UP, cancelled)
        await providers.until(4)
        assert providers.new() == [
            ("fcm-iphone", "call_ended", "cancelled"),  # iOS: a background push, no VoIP
            ("fcm-pixel", "call_ended", "cancelled"),
        ]

        missed = await ring(world)
        await providers.until(6)
        assert len(providers.new()) == 2
        world.clock.advance(settings.ring_seconds)
        await providers.until(10)
        assert providers.new() == [
            ("fcm-iphone", "alert", ""),  # "Missed call"
            ("fcm-iphone", "call_ended", "missed"),
            ("fcm-pixel", "alert", ""),
            ("fcm-pixel", "call_ended", "missed"),
        ]
        await providers.no_more(10)
        assert await status_of(world, f"call/{missed}/missed") == "pushed"


async def test_a_ring_shown_in_app_is_pushed_only_when_nobody_acknowledges_it(
    settings, database_url, serve, providers: Providers
) -> None:
    async with call_world(settings, database_url, serve) as world:
        streamer = world.streamer
        await register(world, streamer, IPHONE)
        pixel = await register(world, streamer, PIXEL)
        async with subscribe(world.base, NOTIFICATIONS, streamer.token) as inbox:
            for _ in range(200):
                if await world.olo.services.presence.is_online(streamer.user_id):
                    break
                await asyncio.sleep(0.02)

            acked = await ring(world)
            shown = (await inbox.next_data())["notifications"]
            assert (shown["kind"], shown["payload"]["callId"]) == ("incoming_call", acked)
            assert data_of(await post(world.base, ACK, {"id": shown["id"]}, streamer.token))
            world.clock.advance(settings.ack_seconds_calls + 0.5)
            await world.mutate(streamer, ACCEPT, acked)
            await world.mutate(streamer, HANG_UP, acked)
            await settled(world, f"call/{acked}/in", "acknowledged")

            answered_in_time = await ring(world)
            await inbox.next_data()  # shown in-app, not acknowledged
            world.clock.advance(settings.ack_seconds_calls / 2)
            await world.mutate(streamer, ACCEPT, answered_in_time)
            await settled(world, f"call/{answered_in_time}/in", "withdrawn")
            world.clock.advance(settings.ack_seconds_calls)
            await providers.no_more(0)  # nothing rang by push, so nothing to dismiss
            await world.mutate(streamer, HANG_UP, answered_in_time)

            unacknowledged = await ring(world)
            await inbox.next_data()
            await providers.no_more(0, 0.3)  # in-app first: no push before the deadline
            world.clock.advance(settings.ack_seconds_calls)
            await providers.until(2)
            assert providers.new() == [
                ("fcm-pixel", "incoming_call", ""),
                ("os-iphone", "incoming_call", ""),
            ]
            declined = data_of(
                await post(
                    world.base, DECLINE_ON, {"id": unacknowledged, "device": pixel}, streamer.token
                )
            )["declineCall"]
            assert declined == {"__typename": "CallView", "status": "declined"}
            await providers.until(3)
            assert providers.new() == [("fcm-iphone", "call_ended", "declined")]
            await providers.no_more(3)


async def test_a_provider_outage_never_holds_up_a_call(
    settings, database_url, serve, providers: Providers
) -> None:
    from call_support import JOIN

    # Both providers hang for longer than the router waits (5 s) and than the call lasts.
    providers.fcm.delay_seconds = providers.onesignal.delay_seconds = 6.0
    async with call_world(settings, database_url, serve) as world:
        await register(world, world.streamer, IPHONE)
        await register(world, world.streamer, PIXEL)

        call_id = await ring(world)
        for _ in range(250):  # both pushes are stuck at the providers
            if providers.fcm.requests and providers.onesignal.requests:
                break
            await asyncio.sleep(0.02)
        assert (await world.mutate(world.streamer, ACCEPT, call_id))["status"] == "accepted"
        for who in (world.caller, world.streamer):
            await world.mutate(who, JOIN, call_id)
        await world.advance(81, call_id)
        ended = await world.mutate(world.caller, HANG_UP, call_id)

        assert (ended["status"], ended["coinsCharged"]) == ("ended", 129)  # 9 + 60 + 60 (60 s)
        assert providers.count() == 0  # not one push got through while the call ran


REGISTER_OR_NOT = (
    "mutation($input: DeviceInput!) { registerDevice(input: $input) { __typename"
    " ... on DeviceRegistered { deviceId } ... on InvalidInput { message field } } }"
)


async def test_only_a_device_a_configured_provider_can_push_makes_a_streamer_reachable(
    settings, database_url, serve, providers: Providers
) -> None:
    from domains.profile.aggregate import Device, Platform
    from eventlog.store import Transaction

    settings.onesignal_app_id = ""  # FCM only
    async with call_world(settings, database_url, serve) as world:
        streamer = world.streamer

        async def register_or_not(device: dict[str, str]) -> dict[str, str]:
            data = data_of(
                await post(world.base, REGISTER_OR_NOT, {"input": device}, streamer.token)
            )
            return dict(data["registerDevice"])

        refused = [
            await register_or_not({"platform": "ios", "voipToken": "voip-only"}),
            await register_or_not({"platform": "web", "fcmToken": "fcm-web", "voipToken": "v"}),
            await register_or_not({"platform": "ios", "onesignalId": "os-1", "voipToken": "v"}),
        ]
        assert [(r["__typename"], r["field"]) for r in refused] == [
            ("InvalidInput", "fcmToken"),  # a VoIP token alone is never pushed
            ("InvalidInput", "voipToken"),  # only iOS takes one
            ("InvalidInput", "fcmToken"),  # OneSignal is off here
        ]
        assert "onesignalId" in refused[0]["message"] and "fcmToken" in refused[2]["message"]

        async def legacy(tx: Transaction) -> None:  # registered before this rule
            tokens = {"fcm_token": None, "onesignal_id": None, "voip_token": "voip-legacy"}
            tx.add(
                Device(
                    owner_id=streamer.user_id, platform=Platform.IOS, tokens=tokens, app_version="1"
                )
            )

        async def projected(count: int) -> None:
            for _ in range(200):
                if count == await world.olo.pool.fetchval(
                    "SELECT count(*) FROM profile_devices WHERE owner_id = $1", streamer.user_id
                ):
                    return
                await asyncio.sleep(0.02)
            raise AssertionError(f"{count} devices never projected")

        await world.olo.store.transact(legacy)
        await projected(1)
        unreachable = await world.mutate(world.caller, REQUEST, str(streamer.user_id))
        assert unreachable["__typename"] == "CalleeUnavailable", unreachable

        iphone = {"platform": "ios", "fcmToken": "fcm-ios", "voipToken": "voip-ios"}
        assert (await register_or_not(iphone))["__typename"] == "DeviceRegistered"
        await projected(2)
        call_id = await ring(world)
        await providers.until(1)
        assert providers.new() == [("fcm-ios", "incoming_call", "")]
        await world.mutate(world.caller, HANG_UP, call_id)


async def test_a_streamer_rung_just_after_registering_is_reachable_while_the_read_model_lags(
    settings, database_url, serve, providers: Providers
) -> None:
    """registerDevice answers only once the devices read model holds the device: the very next
    ring reaches it by push, even while the worker's projection is held back."""
    async with call_world(settings, database_url, serve) as world:
        held = await world.olo.pool.acquire()
        try:
            hold = held.transaction()
            await hold.start()  # the profile projection cannot move its position past this
            await held.execute("SELECT 1 FROM olo_tracking WHERE name = 'profile' FOR UPDATE")
            registering = asyncio.create_task(register(world, world.streamer, PIXEL))
            await asyncio.sleep(0.5)
            assert not registering.done()  # waiting for the read model, not answering yet
            await hold.rollback()
        finally:
            await world.olo.pool.release(held)
        await registering

        call_id = await ring(world)  # at once: no poll for the read model in between
        await providers.until(1)
        assert providers.new() == [("fcm-pixel", "incoming_call", "")]
        await world.mutate(world.caller, HANG_UP, call_id)
