"""Devices through GraphQL: many per user, a push token that moves to another user takes the
device with it, unregistering, and bad input that changes nothing."""

from __future__ import annotations

import asyncio
from typing import Any

from graphql_client import data_of, post, token_for

REGISTER = (
    "mutation($input: DeviceInput!) { registerDevice(input: $input) { __typename"
    " ... on DeviceRegistered { deviceId } ... on InvalidInput { message field } } }"
)
UNREGISTER = (
    "mutation($id: String!) { unregisterDevice(deviceId: $id) { __typename"
    " ... on DeviceUnregistered { deviceId } ... on NotFound { message }"
    " ... on InvalidInput { field } } }"
)
DEVICES = "{ me { devices { id platform appVersion hasFcmToken hasVoipToken } } }"


async def register(base: str, token: str, **device: Any) -> dict[str, Any]:
    data = data_of(await post(base, REGISTER, {"input": device}, token))
    return data["registerDevice"]


async def devices(base: str, token: str, count: int) -> list[dict[str, Any]]:
    """The user's devices once the read model shows `count` of them."""
    for _ in range(200):
        found = data_of(await post(base, DEVICES, None, token))["me"]["devices"]
        if len(found) == count:
            return found
        await asyncio.sleep(0.02)
    raise AssertionError(f"expected {count} devices, have {found}")


async def test_devices_register_move_and_unregister(api: str) -> None:
    ann, bob = token_for("ann"), token_for("bob")
    phone = await register(api, ann, platform="android", fcmToken="fcm-1", appVersion="1.4.0")
    tablet = await register(api, ann, platform="ios", fcmToken="fcm-2", voipToken="voip-2")
    assert phone["__typename"] == tablet["__typename"] == "DeviceRegistered"
    listed = await devices(api, ann, 2)
    assert {(d["platform"], d["hasVoipToken"]) for d in listed} == {
        ("android", False),
        ("ios", True),
    }
    again = await register(api, ann, platform="android", fcmToken="fcm-1", appVersion="1.5.0")
    assert again["deviceId"] == phone["deviceId"]  # the same device, not a new one

    # Bob signs in on Ann's phone: the phone's token, and so the phone, is now his.
    moved = await register(api, bob, platform="android", fcmToken="fcm-1", appVersion="1.5.0")
    assert moved["deviceId"] == phone["deviceId"]
    assert [d["id"] for d in await devices(api, bob, 1)] == [phone["deviceId"]]
    assert [d["id"] for d in await devices(api, ann, 1)] == [tablet["deviceId"]]

    stolen = data_of(await post(api, UNREGISTER, {"id": phone["deviceId"]}, ann))
    assert stolen["unregisterDevice"]["__typename"] == "NotFound"
    gone = data_of(await post(api, UNREGISTER, {"id": phone["deviceId"]}, bob))
    assert gone["unregisterDevice"] == {
        "__typename": "DeviceUnregistered",
        "deviceId": phone["deviceId"],
    }
    await devices(api, bob, 0)
    bad = data_of(await post(api, UNREGISTER, {"id": "nope"}, bob))
    assert bad["unregisterDevice"] == {"__typename": "InvalidInput", "field": "deviceId"}


async def test_bad_devices_are_refused_and_nothing_is_stored(api: str, pg) -> None:
    carl = token_for("carl")
    await register(api, carl, platform="web", fcmToken="ok")  # carl exists, one device
    before = await pg.fetchval("SELECT count(*) FROM eventlog_events")
    cases = [
        ({"platform": "symbian", "fcmToken": "t"}, "platform"),
        ({"platform": "ios"}, "fcmToken"),
        ({"platform": "android", "fcmToken": "t", "voipToken": "v"}, "voipToken"),
        ({"platform": "web", "fcmToken": "t", "voipToken": "v"}, "voipToken"),
        ({"platform": "ios", "voipToken": "v"}, "fcmToken"),  # no route pushes a VoIP token alone
        ({"platform": "android", "fcmToken": "x" * 5000}, "fcmToken"),
        ({"platform": "android", "fcmToken": "  "}, "fcmToken"),
        ({"platform": "ios", "fcmToken": "t", "appVersion": "9" * 40}, "appVersion"),
    ]
    for device, field in cases:
        result = await register(api, carl, **device)
        assert (result["__typename"], result["field"]) == ("InvalidInput", field), device
    assert await pg.fetchval("SELECT count(*) FROM eventlog_events") == before
    assert len(await devices(api, carl, 1)) == 1
