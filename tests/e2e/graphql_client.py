"""A small GraphQL client for end-to-end tests: HTTP POSTs with httpx, and subscriptions
over `graphql-transport-ws` spoken by hand with the `websockets` library."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from domains.profile.auth import mint_emulator_token

PROJECT_ID = "demo-olo"
PROTOCOL = Subprotocol("graphql-transport-ws")
TIMEOUT = 10.0


def token_for(uid: str, *, email: str | None = None, name: str | None = None) -> str:
    """An emulator ID token for the test project, as the app would send it."""
    return mint_emulator_token(uid, PROJECT_ID, email=email, name=name)


async def post_raw(
    base: str,
    query: str,
    variables: dict[str, Any] | None = None,
    token: str | None = None,
    *,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST one GraphQL operation to `base`/graphql; the raw response."""
    sent = dict(headers or {})
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    async with httpx.AsyncClient(timeout=TIMEOUT) as client:
        return await client.post(f"{base}/graphql", json=body, headers=sent)


async def post(
    base: str,
    query: str,
    variables: dict[str, Any] | None = None,
    token: str | None = None,
) -> dict[str, Any]:
    """POST one GraphQL operation; the JSON body ({"data": ..., "errors": ...})."""
    response = await post_raw(base, query, variables, token)
    assert response.status_code == 200, (response.status_code, response.text)
    body = response.json()
    assert isinstance(body, dict)
    return body


def data_of(body: dict[str, Any]) -> dict[str, Any]:
    """The `data` of a response that must have no errors."""
    assert not body.get("errors"), body["errors"]
    data = body["data"]
    assert isinstance(data, dict)
    return data


class SubscriptionClient:
    """One websocket carrying one subscription (operation id "1")."""

    def __init__(self, ws: ClientConnection, operation_id: str) -> None:
        self.ws = ws
        self.operation_id = operation_id

    async def receive(self, seconds: float = TIMEOUT) -> dict[str, Any]:
        """The next protocol message (next / error / complete); pings are answered."""
        while True:
            message = json.loads(await asyncio.wait_for(self.ws.recv(), seconds))
            if message.get("type") == "ping":
                await self.ws.send(json.dumps({"type": "pong"}))
                continue
            assert isinstance(message, dict)
            return message

    async def next_data(self, seconds: float = TIMEOUT) -> dict[str, Any]:
        """The `data` of the next `next` message, which must carry no errors."""
        message = await self.receive(seconds)
        assert message["type"] == "next", message
        assert message["id"] == self.operation_id, message
        return data_of(message["payload"])

    async def pending(self, within: float) -> dict[str, Any] | None:
        """A message that arrives within `within` seconds, else None (recv is cancel-safe)."""
        try:
            return await self.receive(within)
        except TimeoutError:
            return None

    async def stop(self) -> None:
        """Tell the server this subscription is over (the client's `complete`)."""
        await self.ws.send(json.dumps({"type": "complete", "id": self.operation_id}))


@contextlib.asynccontextmanager
async def subscribe(
    base: str,
    query: str,
    token: str | None = None,
    *,
    variables: dict[str, Any] | None = None,
) -> AsyncIterator[SubscriptionClient]:
    """Open a websocket to `base`/graphql, init with the bearer token, subscribe to `query`."""
    url = "ws" + base.removeprefix("http") + "/graphql"
    async with connect(url, subprotocols=[PROTOCOL], max_size=2**20) as ws:
        params = {"Authorization": f"Bearer {token}"} if token is not None else {}
        await ws.send(json.dumps({"type": "connection_init", "payload": params}))
        ack = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        assert ack["type"] == "connection_ack", ack
        payload: dict[str, Any] = {"query": query}
        if variables is not None:
            payload["variables"] = variables
        await ws.send(json.dumps({"type": "subscribe", "id": "1", "payload": payload}))
        yield SubscriptionClient(ws, "1")


# The operations the app sends, shared by the e2e tests.
BALANCE_SUBSCRIPTION = "subscription { balance { coins version position } }"
ME = "{ me { id displayName bio email phone balance { coins version position } } }"
HISTORY = (
    "query($first: Int!, $after: String) { balanceHistory(first: $first, after: $after) {"
    " entries { delta balance reason position cursor } nextCursor } }"
)
PURCHASE = (
    "mutation($pack: String!, $store: String!, $receipt: String!) {"
    " purchaseCoins(packId: $pack, store: $store, receipt: $receipt) { __typename"
    " ... on CoinsPurchased { purchaseId coins replayed }"
    " ... on InvalidInput { message field }"
    " ... on NotFound { message }"
    " ... on Forbidden { message } } }"
)
UPDATE_PROFILE = (
    "mutation($input: ProfileInput!) { updateProfile(input: $input) { __typename"
    " ... on ProfileUpdated { profile { displayName bio email phone } }"
    " ... on InvalidInput { message field } } }"
)


async def purchase(
    base: str, token: str, receipt: str, pack: str = "coins_100", store: str = "sandbox"
) -> dict[str, Any]:
    """purchaseCoins; the union result (with `__typename`)."""
    variables = {"pack": pack, "store": store, "receipt": receipt}
    result = data_of(await post(base, PURCHASE, variables, token))["purchaseCoins"]
    assert isinstance(result, dict)
    return result
