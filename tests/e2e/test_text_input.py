"""Text that cannot poison the log, through GraphQL: a NUL (or another refused character) in
a profile field, a device token or a block reason is answered `InvalidInput{field}` and
nothing is saved; claims copied from a sign-in token are cleaned, and sign-in still works."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
from graphql_client import data_of, post, token_for

UPDATE = (
    "mutation($input: ProfileInput!) { updateProfile(input: $input) { __typename"
    " ... on ProfileUpdated { profile { displayName bio avatarUrl } }"
    " ... on InvalidInput { message field } } }"
)
REGISTER = (
    "mutation($input: DeviceInput!) { registerDevice(input: $input) { __typename"
    " ... on DeviceRegistered { deviceId } ... on InvalidInput { message field } } }"
)
BLOCK = (
    "mutation($userId: ID!, $reason: String) { block(userId: $userId, reason: $reason) {"
    " __typename ... on UserBlocked { reason } ... on InvalidInput { message field } } }"
)
ME = "{ me { id displayName email devices { appVersion } } }"


async def _events(pg: asyncpg.Connection, topic_prefix: str) -> int:
    return int(
        await pg.fetchval(
            "SELECT count(*) FROM eventlog_events WHERE topic LIKE $1", topic_prefix + "%"
        )
    )


async def _answer(api: str, query: str, variables: dict[str, Any], token: str) -> dict[str, Any]:
    result = next(iter(data_of(await post(api, query, variables, token)).values()))
    assert isinstance(result, dict)
    return result


async def test_refused_profile_text_is_invalid_input_and_saves_nothing(
    api: str, pg: asyncpg.Connection
) -> None:
    ann = token_for("ann-text", name="Ann")
    data_of(await post(api, ME, None, ann))
    refused = {
        "bio": "a\u0000b",
        "displayName": "Ann\u202eadmin",
        "avatarUrl": "http://cdn.example/ann.png",
        "phone": "+1\u0007555",
        "country": "D\u0000",
    }
    for field, value in refused.items():
        answer = await _answer(api, UPDATE, {"input": {field: value}}, ann)
        assert (answer["__typename"], answer["field"]) == ("InvalidInput", field), answer
    assert await _events(pg, "olo.profile:User.ProfileUpdated") == 0

    # Accepted text is saved normalized (NFC); newlines belong in a bio.
    fine = {"displayName": "Zoe\u0308", "bio": "line one\nline two", "avatarUrl": "https://x.io/a"}
    answer = await _answer(api, UPDATE, {"input": fine}, ann)
    assert answer["profile"] == {
        "displayName": "Zo\u00eb",
        "bio": "line one\nline two",
        "avatarUrl": "https://x.io/a",
    }


async def test_refused_device_text_is_invalid_input_and_saves_nothing(
    api: str, pg: asyncpg.Connection
) -> None:
    ann = token_for("ann-device-text")
    refused = [
        ({"platform": "android", "fcmToken": "tok\u0000en"}, "fcmToken"),
        ({"platform": "ios", "voipToken": "voip token"}, "voipToken"),
        ({"platform": "web", "onesignalId": "\u0000"}, "onesignalId"),
        ({"platform": "android", "fcmToken": "fcm-ok", "appVersion": "1.0\u0000"}, "appVersion"),
    ]
    for device, field in refused:
        answer = await _answer(api, REGISTER, {"input": device}, ann)
        assert (answer["__typename"], answer["field"]) == ("InvalidInput", field), answer
    assert await _events(pg, "olo.profile:Device") == 0


async def test_a_nul_in_a_block_reason_is_invalid_input_and_saves_nothing(
    api: str, pg: asyncpg.Connection
) -> None:
    ann, bob = token_for("ann-reason"), token_for("bob-reason")
    data_of(await post(api, ME, None, ann))
    bob_id = data_of(await post(api, ME, None, bob))["me"]["id"]
    answer = await _answer(api, BLOCK, {"userId": bob_id, "reason": "spam\u0000"}, ann)
    assert (answer["__typename"], answer["field"]) == ("InvalidInput", "reason")
    assert await _events(pg, "olo.blocklist:") == 0
    answer = await _answer(api, BLOCK, {"userId": bob_id, "reason": "spam\r\nand more"}, ann)
    assert answer == {"__typename": "UserBlocked", "reason": "spam\nand more"}


async def test_claims_from_the_token_are_cleaned_and_sign_in_works(
    api: str, pg: asyncpg.Connection
) -> None:
    eve = token_for("eve-claims", name="Eve\u0000 \u202eadmin\u200b", email="eve\u0000@x.io")
    me = data_of(await post(api, ME, None, eve))["me"]
    assert (me["displayName"], me["email"]) == ("Eve admin", None)
    # The profile projection took the registration and goes on with what follows.
    answer = await _answer(api, REGISTER, {"input": {"platform": "web", "fcmToken": "f"}}, eve)
    assert answer["__typename"] == "DeviceRegistered"
    for _ in range(200):
        if data_of(await post(api, ME, None, eve))["me"]["devices"]:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the device never reached the read model")
    row = await pg.fetchrow(
        "SELECT public, private FROM profile_users WHERE firebase_uid = $1", "eve-claims"
    )
    assert row is not None and row["public"]["display_name"] == "Eve admin"
