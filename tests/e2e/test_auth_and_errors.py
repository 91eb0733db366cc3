"""What callers without a valid token, and callers with bad input, get back: typed errors,
and an event log left exactly as it was."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from graphql_client import (
    BALANCE_SUBSCRIPTION,
    ME,
    UPDATE_PROFILE,
    data_of,
    post,
    post_raw,
    purchase,
    subscribe,
    token_for,
)
from websockets.exceptions import ConnectionClosed

from domains.profile.auth import mint_emulator_token

BAD_TOKENS = {
    "no token": None,
    "garbage": "garbage",
    "another project": mint_emulator_token("mallory", "another-project"),
}


async def _events(pg: asyncpg.Connection) -> int:
    return int(await pg.fetchval("SELECT count(*) FROM eventlog_events"))


def _unauthenticated(body: dict[str, Any]) -> None:
    assert body["data"] is None, body
    codes = [e.get("extensions", {}).get("code") for e in body["errors"]]
    assert codes == ["UNAUTHENTICATED"], body


@pytest.mark.parametrize("token", BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
async def test_bad_token_is_unauthenticated_and_writes_nothing(
    api: str, pg: asyncpg.Connection, token: str | None
) -> None:
    _unauthenticated(await post(api, ME, token=token))
    variables = {"pack": "coins_100", "store": "sandbox", "receipt": "txn-unauth"}
    _unauthenticated(
        await post(
            api,
            "mutation($pack: String!, $store: String!, $receipt: String!) {"
            " purchaseCoins(packId: $pack, store: $store, receipt: $receipt) { __typename } }",
            variables,
            token,
        )
    )
    _unauthenticated(
        await post(
            api,
            'mutation { updateProfile(input: {bio: "hi"}) { __typename } }',
            token=token,
        )
    )
    assert await _events(pg) == 0


@pytest.mark.parametrize("token", BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
async def test_bad_token_subscription_gets_an_error_and_no_data(
    api: str, pg: asyncpg.Connection, token: str | None
) -> None:
    async with subscribe(api, BALANCE_SUBSCRIPTION, token) as stream:
        first = await stream.receive()
        if first["type"] == "next":
            _unauthenticated(first["payload"])
            assert (await stream.receive())["type"] == "complete"
        else:
            assert first["type"] == "error", first
            assert "not authenticated" in str(first["payload"])
    assert await _events(pg) == 0


async def test_malformed_query_over_http_names_the_syntax_error(api: str) -> None:
    response = await post_raw(api, "{ me { balance { coins }", token=token_for("carol"))
    assert response.status_code in (200, 400)
    errors = response.json()["errors"]
    assert "Syntax Error" in errors[0]["message"]


async def test_malformed_subscription_is_refused_with_the_syntax_error(api: str) -> None:
    # graphql-transport-ws: a subscribe the server cannot parse is refused with the reason
    # (an `error` message, or strawberry's close 4400 "Syntax Error: ..."), not a silent
    # `complete` that looks like a stream that simply ended.
    async with subscribe(api, "subscription { balance { coins ", token_for("carol")) as s:
        try:
            message = await s.receive()
        except ConnectionClosed as closed:
            assert closed.rcvd is not None
            assert (closed.rcvd.code, "Syntax Error" in closed.rcvd.reason) == (4400, True)
        else:
            assert message["type"] == "error", message
            assert "Syntax Error" in str(message["payload"])


async def test_bad_purchases_are_typed_errors_and_write_nothing(
    api: str, pg: asyncpg.Connection
) -> None:
    dave = token_for("dave")
    data_of(await post(api, ME, token=dave))  # registers dave: the only events
    before = await _events(pg)

    unknown = await purchase(api, dave, "txn-unknown-pack", pack="coins_999999")
    assert unknown["__typename"] == "NotFound"
    assert "coins_999999" in unknown["message"]

    huge = await purchase(api, dave, "x" * 10_000)
    assert (huge["__typename"], huge["field"]) == ("InvalidInput", "receipt")

    blank = await purchase(api, dave, "   ")
    assert (blank["__typename"], blank["field"]) == ("InvalidInput", "receipt")

    other_store = await purchase(api, dave, "txn-appstore", store="appstore")
    assert other_store["__typename"] == "InvalidInput"
    assert "sandbox" in other_store["message"]

    assert await _events(pg) == before
    me = data_of(await post(api, ME, token=dave))["me"]
    assert me["balance"]["coins"] == 0


async def test_unsupported_store_is_reported_on_the_store_field(api: str) -> None:
    result = await purchase(api, token_for("erin"), "txn-1", store="appstore")
    assert (result["__typename"], result["field"]) == ("InvalidInput", "store")


async def test_bad_profile_updates_are_typed_errors_and_change_nothing(
    api: str, pg: asyncpg.Connection
) -> None:
    frank = token_for("frank", name="Frank")
    kept = await post(api, UPDATE_PROFILE, {"input": {"bio": "hello"}}, frank)
    assert data_of(kept)["updateProfile"]["profile"]["bio"] == "hello"
    before = await _events(pg)

    cases = [
        ({"bio": "b" * 1000}, "bio"),
        ({"displayName": "   "}, None),
        ({"displayName": None}, None),
        ({"country": "Germany"}, "country"),
        ({"bio": "fine", "phone": "9" * 100}, "phone"),
    ]
    for change, field in cases:
        result = data_of(await post(api, UPDATE_PROFILE, {"input": change}, frank))
        refused = result["updateProfile"]
        assert refused["__typename"] == "InvalidInput", (change, refused)
        if field is not None:
            assert refused["field"] == field, (change, refused)

    assert await _events(pg) == before
    me = data_of(await post(api, ME, token=frank))["me"]
    assert (me["displayName"], me["bio"], me["phone"]) == ("Frank", "hello", None)


async def test_invalid_input_names_the_field_as_the_client_spelled_it(api: str) -> None:
    # The client sent `displayName`/`birthDate`; `field` is how it finds the input to flag.
    gina = token_for("gina")
    for change, field in (
        ({"displayName": "   "}, "displayName"),
        ({"birthDate": "1" * 20}, "birthDate"),
    ):
        result = data_of(await post(api, UPDATE_PROFILE, {"input": change}, gina))
        refused = result["updateProfile"]
        assert (refused["__typename"], refused["field"]) == ("InvalidInput", field), change


async def test_unknown_history_cursor_is_an_error(api: str) -> None:
    body = await post(
        api,
        '{ balanceHistory(first: 2, after: "not-a-cursor") { nextCursor } }',
        token=token_for("hana"),
    )
    assert body["data"] is None
    assert "cursor" in body["errors"][0]["message"]
