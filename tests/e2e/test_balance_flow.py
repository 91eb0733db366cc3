"""Buying coins through the API: the live `balance` stream, `me`, and `balanceHistory` agree,
one user never sees another's coins or private fields, and both survive a database blip."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import asyncpg
import httpx
from graphql_client import (
    BALANCE_SUBSCRIPTION,
    HISTORY,
    ME,
    PURCHASE,
    UPDATE_PROFILE,
    data_of,
    post,
    purchase,
    subscribe,
    token_for,
)

PURCHASE_VARIABLES = {"pack": "coins_100", "store": "sandbox"}
QUIET_SECONDS = 0.3  # how long a subscription must stay silent when nothing is for it


def _balance(message: dict[str, Any]) -> dict[str, int]:
    balance = message["balance"]
    assert isinstance(balance, dict)
    return balance


async def _history(base: str, token: str, first: int, after: str | None) -> dict[str, Any]:
    page = data_of(await post(base, HISTORY, {"first": first, "after": after}, token))
    result = page["balanceHistory"]
    assert isinstance(result, dict)
    return result


async def test_purchases_stream_to_the_balance_subscription_once_each(api: str) -> None:
    alice = token_for("alice-flow")
    async with subscribe(api, BALANCE_SUBSCRIPTION, alice) as stream:
        first = _balance(await stream.next_data())
        assert first["coins"] == 0

        bought = await purchase(api, alice, "txn-1")
        assert (bought["__typename"], bought["coins"], bought["replayed"]) == (
            "CoinsPurchased",
            100,
            False,
        )
        after_one = _balance(await stream.next_data())

        assert (await purchase(api, alice, "txn-2"))["replayed"] is False
        after_two = _balance(await stream.next_data())

        again = await purchase(api, alice, "txn-1")
        assert again["__typename"] == "CoinsPurchased"
        assert again["replayed"] is True
        assert again["purchaseId"] == bought["purchaseId"]

        # The replay delivered nothing: the next update is the next real purchase.
        await purchase(api, alice, "txn-3", pack="coins_550")
        after_three = _balance(await stream.next_data())

    seen = [first, after_one, after_two, after_three]
    assert [b["coins"] for b in seen] == [0, 100, 200, 750]
    for earlier, later in itertools.pairwise(seen):
        assert later["version"] > earlier["version"]
        assert later["position"] > earlier["position"]

    me = data_of(await post(api, ME, token=alice))["me"]
    assert me["balance"] == after_three
    history = await _history(api, alice, 10, None)
    assert [(e["delta"], e["balance"]) for e in history["entries"]] == [
        (550, 750),
        (100, 200),
        (100, 100),
    ]
    assert {e["reason"] for e in history["entries"]} == {"purchase"}
    assert history["nextCursor"] is None


async def test_balance_history_pages_newest_first(api: str) -> None:
    alice = token_for("alice-pages")
    async with subscribe(api, BALANCE_SUBSCRIPTION, alice) as stream:
        assert _balance(await stream.next_data())["coins"] == 0
        for n in range(1, 6):
            await purchase(api, alice, f"page-txn-{n}")
            assert _balance(await stream.next_data())["coins"] == 100 * n

    pages: list[dict[str, Any]] = []
    after: str | None = None
    for _ in range(5):  # bounded: 5 entries in pages of 2 need 3 pages
        page = await _history(api, alice, 2, after)
        pages.append(page)
        after = page["nextCursor"]
        if after is None:
            break
    assert [len(p["entries"]) for p in pages] == [2, 2, 1]
    assert [p["nextCursor"] is None for p in pages] == [False, False, True]
    entries = [e for p in pages for e in p["entries"]]
    assert [e["balance"] for e in entries] == [500, 400, 300, 200, 100]
    assert [e["delta"] for e in entries] == [100] * 5
    assert {e["reason"] for e in entries} == {"purchase"}
    positions = [e["position"] for e in entries]
    assert positions == sorted(positions, reverse=True)
    assert len(set(positions)) == 5
    assert pages[0]["nextCursor"] == pages[0]["entries"][-1]["cursor"]

    me = data_of(await post(api, ME, token=alice))["me"]
    assert me["balance"]["coins"] == entries[0]["balance"] == 500


async def test_one_user_never_sees_another_users_coins_or_private_fields(api: str) -> None:
    alice = token_for("alice-private", email="alice@example.com")
    bob = token_for("bob-private")
    changed = await post(
        api,
        UPDATE_PROFILE,
        {"input": {"email": "alice@secret.example", "phone": "+15550100"}},
        alice,
    )
    assert data_of(changed)["updateProfile"]["__typename"] == "ProfileUpdated"

    async with (
        subscribe(api, BALANCE_SUBSCRIPTION, alice) as alice_stream,
        subscribe(api, BALANCE_SUBSCRIPTION, bob) as bob_stream,
    ):
        assert _balance(await alice_stream.next_data())["coins"] == 0
        assert _balance(await bob_stream.next_data())["coins"] == 0
        await purchase(api, alice, "alice-txn-1", pack="coins_1200")
        assert _balance(await alice_stream.next_data())["coins"] == 1200
        assert await bob_stream.pending(QUIET_SECONDS) is None

        # Bob replaying Alice's store transaction is refused and credits nobody.
        stolen = await purchase(api, bob, "alice-txn-1", pack="coins_1200")
        assert stolen["__typename"] == "Forbidden"
        await purchase(api, bob, "bob-txn-1")
        assert _balance(await bob_stream.next_data())["coins"] == 100
        assert await alice_stream.pending(QUIET_SECONDS) is None

    bob_me = data_of(await post(api, ME, token=bob))["me"]
    assert bob_me["balance"]["coins"] == 100
    assert bob_me["email"] is None
    assert bob_me["phone"] is None
    assert "secret" not in str(bob_me) and "+15550100" not in str(bob_me)
    bob_history = await _history(api, bob, 20, None)
    assert [e["balance"] for e in bob_history["entries"]] == [100]

    alice_me = data_of(await post(api, ME, token=alice))["me"]
    assert alice_me["id"] != bob_me["id"]
    assert (alice_me["email"], alice_me["phone"]) == ("alice@secret.example", "+15550100")
    assert alice_me["balance"]["coins"] == 1200


async def _until_ready(base: str) -> None:
    async with httpx.AsyncClient(base_url=base) as client:
        for _ in range(100):  # bounded: the hub reconnects within about a second
            if (await client.get("/readyz")).status_code == 200:
                return
            await asyncio.sleep(0.1)
    raise AssertionError("/readyz never answered 200 again")


async def test_purchases_work_and_stream_after_the_database_dropped_every_connection(
    api: str, pg: asyncpg.Connection
) -> None:
    # A PostgreSQL restart or failover closes every connection: once the API says it is
    # ready again, the next purchase must succeed and reach the open subscription. Three
    # blips, because where each one catches the writer, listener and leadership varies.
    alice = token_for("alice-blip")
    async with subscribe(api, BALANCE_SUBSCRIPTION, alice) as stream:
        assert _balance(await stream.next_data())["coins"] == 0
        await purchase(api, alice, "blip-txn-0")
        assert _balance(await stream.next_data())["coins"] == 100

        for blip in range(1, 4):
            dropped = await pg.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            assert dropped > 0
            await _until_ready(api)
            assert data_of(await post(api, ME, token=alice))["me"]["id"]

            variables = PURCHASE_VARIABLES | {"receipt": f"blip-txn-{blip}"}
            bought = data_of(await post(api, PURCHASE, variables, alice))["purchaseCoins"]
            assert bought["__typename"] == "CoinsPurchased", (blip, bought)
            assert _balance(await stream.next_data())["coins"] == 100 * (blip + 1), blip


SKIPPED = (
    "query($after: Int!, $first: Int!) { balanceHistory(afterPosition: $after, first: $first) {"
    " entries { delta balance reason position cursor } nextCursor } }"
)


async def test_what_the_balance_stream_skipped_is_in_balance_history_after_its_position(
    api: str,
) -> None:
    """The stream sends the latest state: concurrent purchases may arrive as fewer items,
    with gaps in `version`; balanceHistory(afterPosition:) fills every gap, oldest first."""
    bea = token_for("bea-gaps")
    async with subscribe(api, BALANCE_SUBSCRIPTION, bea) as stream:
        items = [_balance(await stream.next_data())]
        bought = await asyncio.gather(*(purchase(api, bea, f"gap-{i}") for i in range(20)))
        assert {b["__typename"] for b in bought} == {"CoinsPurchased"}
        while items[-1]["coins"] < 2000:
            items.append(_balance(await stream.next_data()))

    assert [i["version"] for i in items] == sorted({i["version"] for i in items})
    for before, item in itertools.pairwise(items):
        variables = {"after": before["position"], "first": 100}
        page = data_of(await post(api, SKIPPED, variables, bea))["balanceHistory"]
        entries = [e for e in page["entries"] if e["position"] <= item["position"]]
        assert [int(e["cursor"]) for e in entries] == [  # version 1 opened the wallet
            v for v in range(before["version"] + 1, item["version"] + 1) if v > 1
        ]
        assert sum(e["delta"] for e in entries) == item["coins"] - before["coins"]
        assert (entries[-1]["balance"], entries[-1]["position"]) == (
            item["coins"],
            item["position"],
        )
        assert page["nextCursor"] is None
    variables = {"after": items[0]["position"], "first": 100}
    everything = data_of(await post(api, SKIPPED, variables, bea))["balanceHistory"]
    assert [e["delta"] for e in everything["entries"]] == [100] * 20
    ascending = [e["position"] for e in everything["entries"]]
    assert ascending == sorted(ascending)
