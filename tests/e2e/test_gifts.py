"""Gifts end to end through GraphQL and websockets: the catalog, a gift with and without
enough coins, in and out of a call (the sender's coins, the streamer's earnings, the call
event, the notification), replays by idempotency key, and refusals that write nothing."""

from __future__ import annotations

import asyncio
import json
from uuid import UUID, uuid4

import pytest
from call_support import Party, make_party, online, settled
from gift_support import (
    DIAMOND,
    EARNINGS,
    GIFT_CALL_EVENTS,
    GIFTS,
    HEART,
    HISTORY,
    NOTIFICATIONS,
    ROSE,
    TEDDY,
    connect,
    eventually,
    gift_world,
    next_of,
    send_gift,
)
from graphql_client import subscribe

from domains.balance.aggregate import PlatformAccount
from domains.balance.service import AccountRef
from domains.blocklist.standing import BlockCategory

REGISTER = "mutation($input: DeviceInput!) { registerDevice(input: $input) { __typename } }"


@pytest.fixture
def settings(settings):
    settings.media_events = "clients"
    return settings


async def test_the_catalog_lists_gifts_on_sale_cheapest_first(
    settings, database_url, serve
) -> None:
    async with gift_world(settings, database_url, serve) as world:

        async def listed() -> list[dict]:
            return (await world.gql(world.caller, GIFTS))["gifts"]

        await eventually(lambda: _has(listed, 4))
        gifts = await listed()
        assert [(g["name"], g["price"], g["streamerShare"]) for g in gifts] == [
            ("Rose", 10, 50),
            ("Heart", 30, 50),
            ("Teddy bear", 100, 60),
            ("Diamond", 500, 70),
        ]
        assert gifts[0]["id"] == ROSE and gifts[0]["imageUrl"].startswith("https://")
        catalog = world.olo.services.gift_catalog
        await catalog.set_active(UUID(HEART), False)
        await catalog.update(
            UUID(ROSE),
            name="Red rose",
            price=40,
            streamer_share=50,
            image_url="https://cdn.olo.app/r.png",
        )
        await eventually(lambda: _has(listed, 3))
        assert [g["name"] for g in await listed()] == ["Red rose", "Teddy bear", "Diamond"]
        off_sale = await send_gift(world, world.caller, world.streamer, HEART, "k-heart")
        assert (off_sale["__typename"], off_sale["field"]) == ("InvalidInput", "giftId")
        assert await world.wallet(world.caller) == 1000


async def _has(listed, count: int) -> bool:
    return len(await listed()) == count


async def test_a_gift_out_of_a_call_pays_the_streamer_and_notifies_them(
    settings, database_url, serve, pg
) -> None:
    async with gift_world(settings, database_url, serve) as world:
        streamer = world.streamer
        async with (
            subscribe(world.base, EARNINGS, streamer.token) as earnings,
            subscribe(world.base, NOTIFICATIONS, streamer.token) as notifications,
        ):
            assert (await earnings.next_data())["earnings"]["today"] == 0
            sent = await send_gift(world, world.caller, streamer, TEDDY, "k1")
            assert sent["__typename"] == "GiftSent", sent
            assert (sent["name"], sent["coins"], sent["balance"], sent["replayed"]) == (
                "Teddy bear",
                100,
                900,
                False,
            )
            assert (sent["giftId"], sent["toUserId"], sent["callId"]) == (
                TEDDY,
                str(streamer.user_id),
                None,
            )
            assert await world.wallet(world.caller) == 900
            assert await world.earnings(streamer) == 60  # 60 % of 100
            credit = (await earnings.next_data())["earnings"]
            assert credit == {
                "callId": None,
                "coins": 60,
                "callTotal": 0,
                "today": 60,
                "position": credit["position"],
                "source": "gift",
                "giftName": "Teddy bear",
            }
            told = await next_of(notifications, "notifications", lambda n: True)
            assert told["kind"] == "gift_received"
            assert told["payload"]["giftName"] == "Teddy bear"
            assert told["payload"]["coins"] == 60
            assert told["payload"]["senderId"] == str(world.caller.user_id)
            assert told["payload"]["sendId"] == sent["id"]

        async def history(who, account: str) -> list[dict]:
            data = await world.gql(who, HISTORY, account=account)
            return data["balanceHistory"]["entries"]

        await eventually(lambda: _first_reason(history(world.caller, "WALLET"), "gift"))
        assert (await history(world.caller, "WALLET"))[0] == {
            "delta": -100,
            "balance": 900,
            "reason": "gift",
        }
        await eventually(lambda: _first_reason(history(streamer, "EARNINGS"), "gift"))
        assert (await history(streamer, "EARNINGS"))[0] == {
            "delta": 60,
            "balance": 60,
            "reason": "gift",
        }
        # The platform kept the other 40; the ledger still sums to zero.
        revenue = AccountRef.platform(PlatformAccount.REVENUE).account_id
        queries = world.olo.services.balance_queries
        await eventually(lambda: _ledger(pg, revenue, 40))
        assert await queries.ledger_total() == 0


async def _first_reason(entries, reason: str) -> bool:
    found = await entries
    return bool(found) and found[0]["reason"] == reason


async def _ledger(pg, account: UUID, coins: int) -> bool:
    found = await pg.fetchval("SELECT coins FROM balance_ledger WHERE account_id = $1", account)
    return bool(found == coins)


async def test_without_enough_coins_nothing_moves(settings, database_url, serve, pg) -> None:
    async with gift_world(settings, database_url, serve, caller_coins=99) as world:
        before = await pg.fetchval("SELECT count(*) FROM eventlog_events")
        poor = await send_gift(world, world.caller, world.streamer, TEDDY, "k1")
        assert poor == {
            "__typename": "InsufficientFunds",
            "message": poor["message"],
            "coins": 99,
            "needed": 100,
        }
        assert await pg.fetchval("SELECT count(*) FROM eventlog_events") == before
        assert await world.wallet(world.caller) == 99
        assert await world.earnings(world.streamer) == 0
        # The same key works once the coins are there (a refusal did not use it up).
        await world.olo.services.balance.grant(world.caller.user_id, 1, key="top-up")
        sent = await send_gift(world, world.caller, world.streamer, TEDDY, "k1")
        assert (sent["__typename"], sent["balance"]) == ("GiftSent", 0)


async def test_a_gift_in_a_call_reaches_both_and_brings_ending_soon_forward(
    settings, database_url, serve
) -> None:
    async with gift_world(settings, database_url, serve, caller_coins=170) as world:
        async with (
            subscribe(world.base, GIFT_CALL_EVENTS, world.streamer.token) as streamer_events,
            subscribe(world.base, GIFT_CALL_EVENTS, world.caller.token) as caller_events,
            subscribe(world.base, EARNINGS, world.streamer.token) as earnings,
        ):
            await eventually(lambda: world.olo.services.presence.is_online(world.streamer.user_id))
            assert (await earnings.next_data())["earnings"]["today"] == 0
            call_id = await connect(world)  # 9 paid, 161 left: covers the 60 at 20 s
            sent = await send_gift(world, world.caller, world.streamer, TEDDY, "k1", call_id)
            assert (sent["__typename"], sent["callId"], sent["balance"]) == (
                "GiftSent",
                call_id,
                61,
            )
            for stream in (caller_events, streamer_events):
                item = await next_of(stream, "callEvents", lambda i: i["type"] == "gift")
                assert (item["callId"], item["coins"], item["side"]) == (call_id, 100, "caller")
                assert item["gift"] == {
                    "id": TEDDY,
                    "name": "Teddy bear",
                    "senderId": str(world.caller.user_id),
                }
            credit = (await earnings.next_data())["earnings"]
            assert (credit["callId"], credit["coins"], credit["source"]) == (call_id, 60, "gift")
            # 61 left still covers the 60 at 20 s: no warning yet. A heart (30) leaves 31:
            # the warning comes at once, not after the next checkpoint's charge.
            assert not await _pending_of(caller_events, "endingSoon", 0.5)
            second = await send_gift(world, world.caller, world.streamer, HEART, "k2", call_id)
            assert second["balance"] == 31
            warning = await next_of(
                caller_events, "callEvents", lambda i: i["type"] == "endingSoon"
            )
            assert warning["callId"] == call_id
            assert world.clock.now() == (await world.call(call_id)).connected_at
            assert await world.wallet(world.caller) == 31
            assert await world.earnings(world.streamer) == 60 + 15


async def _pending_of(stream, kind: str, within: float) -> bool:
    while (item := await stream.pending(within)) is not None:
        if item["payload"]["data"]["callEvents"]["type"] == kind:
            return True
    return False


async def test_a_replayed_key_answers_the_first_send_and_moves_nothing(
    settings, database_url, serve
) -> None:
    async with gift_world(settings, database_url, serve) as world:
        first = await send_gift(world, world.caller, world.streamer, TEDDY, "once")
        again = await send_gift(world, world.caller, world.streamer, TEDDY, "once")
        assert again == {**first, "replayed": True}
        assert await world.wallet(world.caller) == 900
        other = await send_gift(world, world.caller, world.streamer, ROSE, "once")
        assert (other["__typename"], other["field"]) == ("InvalidInput", "idempotencyKey")
        # Two sends with one key at once: one is sent, the other is its replay.
        both = await asyncio.gather(
            *(send_gift(world, world.caller, world.streamer, TEDDY, "twice") for _ in range(2))
        )
        assert sorted(r["replayed"] for r in both) == [False, True]
        assert both[0]["id"] == both[1]["id"]
        assert await world.wallet(world.caller) == 800
        assert await world.earnings(world.streamer) == 120


async def test_bad_input_gets_a_typed_result_and_writes_nothing(
    settings, database_url, serve, pg
) -> None:
    async with gift_world(settings, database_url, serve) as world:
        fan = await make_party(world.olo, world.base, "fan", coins=1000)
        blocker = await make_party(world.olo, world.base, "blocker", coins=1000)
        await world.olo.services.blocklist.block(world.streamer.user_id, blocker.user_id)
        await settled(world.olo.pool)  # the block's own reactions are written before the count
        stranger_call = str(uuid4())
        before = await pg.fetchval("SELECT count(*) FROM eventlog_events")
        streamer = world.streamer
        cases: list[tuple[Party, Party | str, str, str, str | None, str, str | None]] = [
            (world.caller, "not-an-id", ROSE, "k", None, "InvalidInput", "toUserId"),
            (world.caller, streamer, "not-an-id", "k", None, "InvalidInput", "giftId"),
            (world.caller, streamer, ROSE, "k", "not-an-id", "InvalidInput", "callId"),
            (world.caller, streamer, str(uuid4()), "k", None, "InvalidInput", "giftId"),
            (world.caller, world.caller, ROSE, "k", None, "InvalidInput", "toUserId"),
            (world.caller, fan, ROSE, "k", None, "InvalidInput", "toUserId"),  # not a streamer
            (world.caller, str(uuid4()), ROSE, "k", None, "InvalidInput", "toUserId"),
            (world.caller, streamer, ROSE, "", None, "InvalidInput", "idempotencyKey"),
            (world.caller, streamer, ROSE, "a b", None, "InvalidInput", "idempotencyKey"),
            (world.caller, streamer, ROSE, "k" * 101, None, "InvalidInput", "idempotencyKey"),
            (world.caller, streamer, DIAMOND, "k", stranger_call, "NotFound", None),
            (blocker, streamer, ROSE, "k", None, "Blocked", None),
        ]
        for who, to, gift, key, call, typename, field in cases:
            result = await send_gift(world, who, to, gift, key, call)
            assert result["__typename"] == typename, (to, gift, key, result)
            assert result.get("field") == field, result
        assert await pg.fetchval("SELECT count(*) FROM eventlog_events") == before
        assert await world.wallet(world.caller) == 1000
        assert await world.wallet(blocker) == 1000


async def test_a_gift_in_someone_elses_call_or_a_call_not_connected_is_not_found(
    settings, database_url, serve
) -> None:
    async with gift_world(settings, database_url, serve) as world:
        async with online(world, world.streamer):
            from call_support import REQUEST

            ringing = await world.mutate(world.caller, REQUEST, str(world.streamer.user_id))
            not_yet = await send_gift(world, world.caller, world.streamer, ROSE, "k", ringing["id"])
            assert not_yet["__typename"] == "NotFound"
            other_star = await make_party(world.olo, world.base, "star2", streamer=True)
            wrong = await send_gift(world, world.caller, other_star, ROSE, "k2", ringing["id"])
            assert wrong["__typename"] == "NotFound"
            assert await world.wallet(world.caller) == 1000


async def test_sending_gifts_is_rate_limited(settings, database_url, serve) -> None:
    settings.rate_limits = {"sendGift": "2/minute"}
    async with gift_world(settings, database_url, serve) as world:
        for key in ("a", "b"):
            sent = await send_gift(world, world.caller, world.streamer, ROSE, key)
            assert sent["__typename"] == "GiftSent"
        limited = await send_gift(world, world.caller, world.streamer, ROSE, "c")
        assert limited["__typename"] == "RateLimited" and limited["retryAfterSeconds"] >= 1
        assert await world.wallet(world.caller) == 980


async def test_the_streamers_today_counts_gifts_and_calls_alike(
    settings, database_url, serve
) -> None:
    async with gift_world(settings, database_url, serve) as world:
        async with (
            online(world, world.streamer),
            subscribe(world.base, EARNINGS, world.streamer.token) as earnings,
        ):
            assert (await earnings.next_data())["earnings"]["today"] == 0
            await send_gift(world, world.caller, world.streamer, TEDDY, "k1")
            gift = (await earnings.next_data())["earnings"]
            assert (gift["source"], gift["coins"], gift["today"]) == ("gift", 60, 60)
            call_id = await connect(world)
            await world.advance(20, call_id)
            credit = (await earnings.next_data())["earnings"]
            assert (credit["source"], credit["callId"], credit["coins"]) == ("call", call_id, 30)
            assert (credit["callTotal"], credit["today"]) == (30, 90)
        async with subscribe(world.base, EARNINGS, world.streamer.token) as again:
            assert (await again.next_data())["earnings"]["today"] == 90


async def test_an_offline_streamer_is_pushed_the_gift(settings, database_url, serve, tmp_path):
    from fakes.fcm import FakeFcm

    async with FakeFcm(settings.firebase_project_id) as fcm:
        account = tmp_path / "service-account.json"
        account.write_text(json.dumps(fcm.service_account()))
        settings.firebase_credentials_file = account
        settings.fcm_api_url = fcm.base_url
        async with gift_world(settings, database_url, serve) as world:
            device = {"platform": "android", "fcmToken": "star-phone"}
            registered = await world.gql(world.streamer, REGISTER, input=device)
            assert registered["registerDevice"]["__typename"] == "DeviceRegistered", registered
            sent = await send_gift(world, world.caller, world.streamer, HEART, "k1")
            await eventually(lambda: _pushed(fcm))
            (push,) = fcm.messages
            assert push["token"] == "star-phone"
            assert push["notification"]["title"] == "New gift"
            assert (push["data"]["gift_name"], push["data"]["coins"]) == ("Heart", "15")
            assert push["data"]["send_id"] == sent["id"]


async def _pushed(fcm) -> bool:
    return bool(fcm.messages)


async def test_a_suspended_user_cannot_send_a_gift_and_nothing_moves(
    settings, database_url, serve
) -> None:
    settings.suspend_after_blocks = 1  # one abuse block suspends
    async with gift_world(settings, database_url, serve) as world:
        sent = await send_gift(world, world.caller, world.streamer, ROSE, "before")
        assert sent["__typename"] == "GiftSent"
        reporter = await make_party(world.olo, world.base, "reporter")
        await world.olo.services.blocklist.block(
            reporter.user_id, world.caller.user_id, "rude", BlockCategory.HARASSMENT
        )

        refused = await send_gift(world, world.caller, world.streamer, ROSE, "after")
        assert refused["__typename"] == "Suspended", refused
        assert await world.wallet(world.caller) == 990
        assert await world.earnings(world.streamer) == 5
        # Sent before the suspension: a replay of it still answers what happened.
        again = await send_gift(world, world.caller, world.streamer, ROSE, "before")
        assert (again["__typename"], again["replayed"]) == ("GiftSent", True)
