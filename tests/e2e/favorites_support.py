"""What the favorites and suspension e2e tests share: signed-in users and the operations."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from graphql_client import data_of, post, token_for

T = TypeVar("T")

ADD = (
    "mutation($userId: ID!) { addFavorite(userId: $userId) { __typename"
    " ... on FavoriteAdded { userId alreadyFavorite } ... on InvalidInput { message field }"
    " ... on NotFound { message } ... on Blocked { message } } }"
)
REMOVE = (
    "mutation($userId: ID!) { removeFavorite(userId: $userId) { __typename"
    " ... on FavoriteRemoved { userId wasFavorite } ... on InvalidInput { message field }"
    " ... on NotFound { message } } }"
)
FAVORITES = (
    "query($first: Int, $after: String) { favorites(first: $first, after: $after) {"
    " items { id displayName avatarUrl online followersCount cursor } nextCursor } }"
)
BLOCK = "mutation($userId: ID!) { block(userId: $userId) { __typename } }"
UNBLOCK = "mutation($userId: ID!) { unblock(userId: $userId) { __typename } }"
NOTIFICATIONS = "subscription { notifications { id kind payload position } }"


async def user(base: str, uid: str, name: str) -> tuple[str, str]:
    """A signed-in user (they exist once they made a request): (token, user id)."""
    token = token_for(uid, name=name)
    me = data_of(await post(base, "{ me { id } }", token=token))["me"]
    return token, str(me["id"])


async def mutate(base: str, query: str, token: str, **variables: Any) -> dict[str, Any]:
    data = data_of(await post(base, query, variables, token))
    result = next(iter(data.values()))
    assert isinstance(result, dict)
    return result


async def favorites(base: str, token: str, first: int = 20, after: str | None = None) -> Any:
    variables = {"first": first, "after": after}
    return data_of(await post(base, FAVORITES, variables, token))["favorites"]


async def eventually(read: Callable[[], Awaitable[T]], wanted: Callable[[T], bool]) -> T:
    """`read()` once `wanted` holds of it (read models follow the log within milliseconds)."""
    for _ in range(200):
        value = await read()
        if wanted(value):
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"never as wanted: {value}")


async def listed_ids(base: str, token: str, ids: list[str]) -> list[dict[str, Any]]:
    """The viewer's favorites once they are exactly `ids`, newest first."""
    page = await eventually(
        lambda: favorites(base, token), lambda p: [i["id"] for i in p["items"]] == ids
    )
    items = page["items"]
    assert isinstance(items, list)
    return items
