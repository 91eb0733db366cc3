"""In-app notifications through GraphQL: the `notifications` stream, `ackNotification`, one
notification per key, and refusals that change nothing."""

from __future__ import annotations

import asyncio
from uuid import UUID

import pytest
from graphql_client import data_of, post, subscribe, token_for

from app import create_app
from domains.notification.aggregate import NotificationKind, PayloadTooLargeError
from domains.notification.service import NotificationService

NOTIFICATIONS = "subscription { notifications { id kind payload position } }"
ACK = (
    "mutation($id: String!) { ackNotification(id: $id) { __typename"
    " ... on NotificationAcknowledged { id } ... on NotFound { message }"
    " ... on InvalidInput { field } } }"
)


async def status(pg, notification_id: str, wanted: str) -> None:
    for _ in range(200):
        found = await pg.fetchval(
            "SELECT status FROM notification_items WHERE notification_id = $1",
            UUID(notification_id),
        )
        if found == wanted:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"status {found}, not {wanted}")


async def test_in_app_delivery_and_ack(settings, database_url, serve, pg) -> None:
    app = create_app(settings, database_url)
    async with serve(app) as base:
        service: NotificationService = app.state.olo.services.notifications
        dana, eve = token_for("dana"), token_for("eve")
        dana_id = UUID(data_of(await post(base, "{ me { id } }", None, dana))["me"]["id"])
        await post(base, "{ me { id } }", None, eve)
        async with subscribe(base, NOTIFICATIONS, dana) as stream:
            await asyncio.sleep(0.1)  # the subscription is listening
            payload = {"callId": "c-1", "caller": "Eve"}
            first = await service.notify(dana_id, NotificationKind.INCOMING_CALL, payload, key="k1")
            again = await service.notify(dana_id, NotificationKind.INCOMING_CALL, payload, key="k1")
            assert first == again
            item = (await stream.next_data())["notifications"]
            assert (item["id"], item["kind"], item["payload"]) == (
                str(first),
                "incoming_call",
                payload,
            )
            assert await stream.pending(0.3) is None  # the same key was not sent twice
            await status(pg, str(first), "delivered")

            stranger = data_of(await post(base, ACK, {"id": str(first)}, eve))["ackNotification"]
            assert stranger["__typename"] == "NotFound"
            bad = data_of(await post(base, ACK, {"id": "x"}, dana))["ackNotification"]
            assert bad == {"__typename": "InvalidInput", "field": "id"}
            ok = data_of(await post(base, ACK, {"id": str(first)}, dana))["ackNotification"]
            assert ok == {"__typename": "NotificationAcknowledged", "id": str(first)}
            await status(pg, str(first), "acknowledged")

        before = await pg.fetchval("SELECT count(*) FROM eventlog_events")
        with pytest.raises(PayloadTooLargeError):
            await service.notify(
                dana_id, NotificationKind.LOW_BALANCE, {"text": "x" * 5000}, key="big"
            )
        assert await pg.fetchval("SELECT count(*) FROM eventlog_events") == before


async def next_kind(stream, kind: str) -> dict:
    for _ in range(10):
        item = (await stream.next_data())["notifications"]
        if item["kind"] == kind:
            return item
    raise AssertionError(f"no {kind} notification")


async def test_calls_notify(settings, database_url, serve) -> None:
    from call_support import ACCEPT, JOIN, REQUEST, call_world, online

    settings.media_events = "clients"
    async with call_world(settings, database_url, serve, caller_coins=80) as world:
        async with (
            online(world, world.streamer),
            subscribe(world.base, NOTIFICATIONS, world.streamer.token) as streamer_inbox,
            subscribe(world.base, NOTIFICATIONS, world.caller.token) as inbox,
        ):
            await asyncio.sleep(0.1)
            missed_id = (await world.mutate(world.caller, REQUEST, str(world.streamer.user_id)))[
                "id"
            ]
            incoming = await next_kind(streamer_inbox, "incoming_call")
            assert incoming["payload"]["callId"] == missed_id
            world.clock.advance(settings.ring_seconds)
            missed = await next_kind(streamer_inbox, "missed_call")
            assert missed["payload"] == {
                "callId": missed_id,
                "callerId": str(world.caller.user_id),
            }

            call_id = (await world.mutate(world.caller, REQUEST, str(world.streamer.user_id)))["id"]
            await world.mutate(world.streamer, ACCEPT, call_id)
            for who in (world.caller, world.streamer):
                await world.mutate(who, JOIN, call_id)
            await world.advance(60, call_id)  # 9 + 60 paid, 11 left: the 60 s charge fails
            for stream in (inbox, streamer_inbox):
                ended = await next_kind(stream, "call_ended")
                assert ended["payload"] == {"callId": call_id, "reason": "insufficient_funds"}
            low = await next_kind(inbox, "low_balance")
            assert low["payload"] == {"callId": call_id, "coins": 11}


MUTE = (
    "mutation($kind: String!, $muted: Boolean!) { muteNotifications(kind: $kind, muted: $muted)"
    " { __typename ... on NotificationSettings { muted } ... on Forbidden { message }"
    " ... on InvalidInput { field } } }"
)


async def test_muting(settings, database_url, serve, pg) -> None:
    from call_support import call_world, online

    async with call_world(settings, database_url, serve) as world:
        service: NotificationService = world.olo.services.notifications
        streamer = world.streamer

        async def mute(kind: str, muted: bool) -> dict:
            data = data_of(
                await post(world.base, MUTE, {"kind": kind, "muted": muted}, streamer.token)
            )
            return data["muteNotifications"]

        assert await mute("low_balance", True) == {
            "__typename": "NotificationSettings",
            "muted": ["low_balance"],
        }
        before = await pg.fetchval("SELECT count(*) FROM eventlog_events")
        muted = await service.notify(streamer.user_id, NotificationKind.LOW_BALANCE, {}, key="m1")
        assert muted is None
        assert await pg.fetchval("SELECT count(*) FROM eventlog_events") == before
        assert (await mute("low_balance", False))["muted"] == []
        assert await service.notify(streamer.user_id, NotificationKind.LOW_BALANCE, {}, key="m2")

        assert (await mute("nope", True)) == {"__typename": "InvalidInput", "field": "kind"}
        async with online(world, streamer):  # a streamer online for calls
            refused = await mute("incoming_call", True)
            assert refused["__typename"] == "Forbidden"
        for _ in range(100):  # offline again once the subscription is gone
            if not await world.olo.services.presence.is_online(streamer.user_id):
                break
            await asyncio.sleep(0.02)
        refused = await mute("incoming_call", True)  # offline, but calls are on
        assert refused["__typename"] == "Forbidden"
        calls_off = "mutation($on: Boolean!) { setAvailability(calls: $on, roulette: false) }"
        assert data_of(await post(world.base, calls_off, {"on": False}, streamer.token))
        assert (await mute("incoming_call", True))["muted"] == ["incoming_call"]
        assert data_of(await post(world.base, calls_off, {"on": True}, streamer.token))
        for _ in range(200):  # turning calls on unmutes them (a policy in the worker)
            if (await mute("low_balance", False))["muted"] == []:
                break
            await asyncio.sleep(0.05)
        assert (await mute("low_balance", False))["muted"] == []
