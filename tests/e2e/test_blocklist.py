"""Blocking through the API: `block` with a reason, the `blocked` list, `unblock`, the typed
refusals (which store nothing), and every reason kept for operators across re-blocks."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import uuid4

import asyncpg
from graphql_client import data_of, post, token_for

BLOCK = (
    "mutation($userId: ID!, $reason: String) { block(userId: $userId, reason: $reason) {"
    " __typename ... on UserBlocked { userId reason alreadyBlocked }"
    " ... on InvalidInput { message field } ... on NotFound { message } } }"
)
BLOCK_NO_REASON = "mutation($userId: ID!) { block(userId: $userId) { __typename } }"
UNBLOCK = (
    "mutation($userId: ID!) { unblock(userId: $userId) {"
    " __typename ... on UserUnblocked { userId }"
    " ... on InvalidInput { message field } ... on NotFound { message } } }"
)
BLOCKED = "{ blocked { userId displayName reason blockedAt } }"
ME_ID = "{ me { id } }"


async def _user(base: str, uid: str, name: str) -> tuple[str, str]:
    """A signed-in user (they exist once they made a request): (token, user id)."""
    token = token_for(uid, name=name)
    me = data_of(await post(base, ME_ID, token=token))["me"]
    return token, str(me["id"])


async def _block(base: str, token: str, user_id: str, reason: str | None) -> dict[str, Any]:
    variables = {"userId": user_id, "reason": reason}
    result = data_of(await post(base, BLOCK, variables, token))["block"]
    assert isinstance(result, dict)
    return result


async def _unblock(base: str, token: str, user_id: str) -> dict[str, Any]:
    result = data_of(await post(base, UNBLOCK, {"userId": user_id}, token))["unblock"]
    assert isinstance(result, dict)
    return result


async def _blocked_until(
    base: str, token: str, expected: list[tuple[str, str | None, str]]
) -> list[dict[str, Any]]:
    """The viewer's `blocked` list once it reads (userId, displayName, reason) as expected."""
    for _ in range(200):  # bounded: projections follow the log within milliseconds
        listed = data_of(await post(base, BLOCKED, token=token))["blocked"]
        if [(b["userId"], b["displayName"], b["reason"]) for b in listed] == expected:
            assert isinstance(listed, list)
            return listed
        await asyncio.sleep(0.05)
    raise AssertionError(f"`blocked` never became {expected}: {listed}")


async def _blocklist_events(pg: asyncpg.Connection) -> int:
    return int(
        await pg.fetchval("SELECT count(*) FROM eventlog_events WHERE topic LIKE 'olo.blocklist:%'")
    )


async def test_block_lists_the_user_newest_first_and_unblock_removes_them(api: str) -> None:
    ann, _ = await _user(api, "ann-block", "Ann")
    bob, bob_id = await _user(api, "bob-block", "Bob")
    _, cat_id = await _user(api, "cat-block", "Cat")

    blocked = await _block(api, ann, bob_id, "asked for my number")
    assert blocked == {
        "__typename": "UserBlocked",
        "userId": bob_id,
        "reason": "asked for my number",
        "alreadyBlocked": False,
    }
    assert (await _block(api, ann, cat_id, ""))["__typename"] == "UserBlocked"
    listed = await _blocked_until(
        api, ann, [(cat_id, "Cat", ""), (bob_id, "Bob", "asked for my number")]
    )
    assert listed[0]["blockedAt"] >= listed[1]["blockedAt"]
    # Blocking is one-way: Bob's own list is empty.
    assert data_of(await post(api, BLOCKED, token=bob))["blocked"] == []

    again = await _block(api, ann, bob_id, "a different reason")
    assert (again["alreadyBlocked"], again["reason"]) == (True, "asked for my number")

    assert await _unblock(api, ann, bob_id) == {"__typename": "UserUnblocked", "userId": bob_id}
    await _blocked_until(api, ann, [(cat_id, "Cat", "")])
    assert (await _unblock(api, ann, bob_id))["__typename"] == "NotFound"


async def test_refused_blocks_are_typed_and_store_nothing(api: str, pg: asyncpg.Connection) -> None:
    ann, ann_id = await _user(api, "ann-refused", "Ann")
    bob, bob_id = await _user(api, "bob-refused", "Bob")

    self_block = await _block(api, ann, ann_id, "me")
    assert (self_block["__typename"], self_block["field"]) == ("InvalidInput", "userId")
    unknown = await _block(api, ann, str(uuid4()), "who?")
    assert unknown["__typename"] == "NotFound"
    for bad in ("not-a-uuid", "", "12345"):
        malformed = await _block(api, ann, bad, "x")
        assert (malformed["__typename"], malformed["field"]) == ("InvalidInput", "userId"), bad
        unblock = await _unblock(api, ann, bad)
        assert (unblock["__typename"], unblock["field"]) == ("InvalidInput", "userId"), bad
    too_long = await _block(api, ann, bob_id, "x" * 501)
    assert (too_long["__typename"], too_long["field"]) == ("InvalidInput", "reason")
    assert "500" in too_long["message"]
    assert (await _unblock(api, ann, bob_id))["__typename"] == "NotFound"
    assert await _blocklist_events(pg) == 0

    # The longest allowed reason, a null one and a left-out one are accepted.
    assert (await _block(api, ann, bob_id, "y" * 500))["__typename"] == "UserBlocked"
    await _blocked_until(api, ann, [(bob_id, "Bob", "y" * 500)])
    reports = await pg.fetch("SELECT blocker_id, reason FROM blocklist_reports")
    assert [(str(r["blocker_id"]), r["reason"]) for r in reports] == [(ann_id, "y" * 500)]
    assert (await _block(api, bob, ann_id, None))["reason"] == ""
    await _blocked_until(api, bob, [(ann_id, "Ann", "")])
    cat, _ = await _user(api, "cat-refused", "Cat")
    cat_blocks_ann = data_of(await post(api, BLOCK_NO_REASON, {"userId": ann_id}, cat))
    assert cat_blocks_ann["block"]["__typename"] == "UserBlocked"
    await _blocked_until(api, cat, [(ann_id, "Ann", "")])


async def test_a_re_block_after_an_unblock_keeps_both_reasons_for_review(
    api: str, pg: asyncpg.Connection
) -> None:
    ann, ann_id = await _user(api, "ann-reblock", "Ann")
    _, bob_id = await _user(api, "bob-reblock", "Bob")

    await _block(api, ann, bob_id, "spam")
    await _blocked_until(api, ann, [(bob_id, "Bob", "spam")])
    await _unblock(api, ann, bob_id)
    await _blocked_until(api, ann, [])
    assert (await _block(api, ann, bob_id, "insults"))["alreadyBlocked"] is False
    await _blocked_until(api, ann, [(bob_id, "Bob", "insults")])

    reports = await pg.fetch(
        "SELECT blocker_id, blocked_id, reason, blocked_at, unblocked_at FROM blocklist_reports "
        "ORDER BY position"
    )
    assert [(str(r["blocker_id"]), str(r["blocked_id"]), r["reason"]) for r in reports] == [
        (ann_id, bob_id, "spam"),
        (ann_id, bob_id, "insults"),
    ]
    first, second = reports
    assert first["blocked_at"] < first["unblocked_at"] <= second["blocked_at"]
    assert second["unblocked_at"] is None
    active = await pg.fetch("SELECT blocked_id, reason FROM blocklist_blocks")
    assert [(str(r["blocked_id"]), r["reason"]) for r in active] == [(bob_id, "insults")]
