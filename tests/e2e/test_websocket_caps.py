"""Caps on /graphql websockets: per user, per process, and `connection_init` in time; a
refused socket is closed with a code and a reason the app can act on."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator

import pytest
from graphql_client import BALANCE_SUBSCRIPTION, PROTOCOL, subscribe, token_for
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed


@pytest.fixture
def settings(settings):
    settings.ws_max_connections_per_user = 2
    settings.ws_max_connections = 4
    settings.ws_connection_init_seconds = 0.5
    return settings


@contextlib.asynccontextmanager
async def socket(base: str) -> AsyncIterator[ClientConnection]:
    url = "ws" + base.removeprefix("http") + "/graphql"
    async with connect(url, subprotocols=[PROTOCOL]) as ws:
        yield ws


async def closed_with(ws: ClientConnection, seconds: float = 5.0) -> tuple[int, str]:
    """The close code and reason the server ends this socket with (nothing else comes)."""
    with pytest.raises(ConnectionClosed) as closed:
        message = await asyncio.wait_for(ws.recv(), seconds)
        pytest.fail(f"got {message!r} instead of a close")
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


async def init(ws: ClientConnection, uid: str) -> None:
    payload = {"Authorization": f"Bearer {token_for(uid)}"}
    await ws.send(json.dumps({"type": "connection_init", "payload": payload}))


async def test_a_user_over_their_cap_is_refused_and_others_are_not(api: str) -> None:
    async with subscribe(api, BALANCE_SUBSCRIPTION, token_for("mia")) as first:
        async with subscribe(api, BALANCE_SUBSCRIPTION, token_for("mia")):
            await first.next_data()
            async with socket(api) as third:
                await init(third, "mia")
                assert await closed_with(third) == (4430, "Too many connections for this user")
            async with subscribe(api, BALANCE_SUBSCRIPTION, token_for("noah")) as other:
                await other.next_data()
        # One of mia's sockets closed: she may open another.
        async with subscribe(api, BALANCE_SUBSCRIPTION, token_for("mia")) as again:
            await again.next_data()


async def test_a_full_process_refuses_new_sockets_until_one_closes(api: str) -> None:
    async with contextlib.AsyncExitStack() as stack:
        for n in range(4):
            ws = await stack.enter_async_context(socket(api))
            await init(ws, f"user-{n}")
            assert json.loads(await ws.recv())["type"] == "connection_ack"
        async with socket(api) as fifth:
            assert await closed_with(fifth) == (4503, "Too many connections on this server")
    # Every socket above is closed now.
    async with subscribe(api, BALANCE_SUBSCRIPTION, token_for("late")) as late:
        await late.next_data()


async def test_connection_init_must_come_in_time(api: str) -> None:
    async with socket(api) as silent:
        started = time.monotonic()
        assert await closed_with(silent) == (4408, "Connection initialisation timeout")
        assert time.monotonic() - started < 3.0
