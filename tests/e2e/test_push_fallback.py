"""The push fallback through the dispatcher, against a loopback fake FCM: a user with no
live connection is pushed at once, an in-app notification without an ACK is pushed at its
deadline, an acknowledged one never, and a device FCM calls unregistered is pruned."""

from __future__ import annotations

import asyncio
import json
from uuid import UUID

import pytest
from fakes.fcm import FakeFcm
from graphql_client import data_of, post, subscribe, token_for

from app import create_app
from domains.notification.aggregate import NotificationKind
from domains.notification.service import NotificationService

REGISTER = "mutation($input: DeviceInput!) { registerDevice(input: $input) { __typename } }"
NOTIFICATIONS = "subscription { notifications { id kind } }"
ACK = "mutation($id: String!) { ackNotification(id: $id) { __typename } }"


@pytest.fixture
async def fcm(settings, tmp_path):
    async with FakeFcm(settings.firebase_project_id) as fake:
        account = tmp_path / "service-account.json"
        account.write_text(json.dumps(fake.service_account()))
        settings.firebase_credentials_file = account
        settings.fcm_api_url = fake.base_url
        settings.ack_seconds_default = 0.5
        yield fake


async def status(pg, notification_id: UUID | None) -> str:
    assert notification_id is not None  # notify() answers None only for a muted kind
    return str(
        await pg.fetchval(
            "SELECT status FROM notification_items WHERE notification_id = $1", notification_id
        )
    )


async def until(pg, notification_id: UUID | None, wanted: str) -> None:
    for _ in range(250):
        if await status(pg, notification_id) == wanted:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{notification_id} is {await status(pg, notification_id)}")


async def test_push_fallback(settings, database_url, serve, pg, fcm) -> None:
    app = create_app(settings, database_url)
    async with serve(app) as base:
        service: NotificationService = app.state.olo.services.notifications
        gina = token_for("gina")
        gina_id = UUID(data_of(await post(base, "{ me { id } }", None, gina))["me"]["id"])
        fcm.unregistered.add("dead-token")
        for token in ("live-token", "dead-token"):
            device = {"platform": "android", "fcmToken": token}
            assert data_of(await post(base, REGISTER, {"input": device}, gina))

        # Offline: pushed at once; the dead device is pruned.
        offline = await service.notify(
            gina_id, NotificationKind.LOW_BALANCE, {"coins": 5}, key="low/1"
        )
        await until(pg, offline, "pushed")
        sent = [m["token"] for m in fcm.messages]
        assert sent == ["live-token"]
        assert fcm.messages[0]["data"]["coins"] == "5"
        devices = await pg.fetch(
            "SELECT fcm_token FROM profile_devices WHERE owner_id = $1 AND active", gina_id
        )
        for _ in range(100):
            if len(devices) == 1:
                break
            await asyncio.sleep(0.02)
            devices = await pg.fetch(
                "SELECT fcm_token FROM profile_devices WHERE owner_id = $1 AND active", gina_id
            )
        assert [d["fcm_token"] for d in devices] == ["live-token"]

        async with subscribe(base, NOTIFICATIONS, gina) as inbox:
            await asyncio.sleep(0.2)  # online now
            acked = await service.notify(
                gina_id, NotificationKind.MISSED_CALL, {"callId": "c1"}, key="missed/1"
            )
            item = (await inbox.next_data())["notifications"]
            assert item["id"] == str(acked)
            assert data_of(await post(base, ACK, {"id": item["id"]}, gina))
            ignored = await service.notify(
                gina_id, NotificationKind.MISSED_CALL, {"callId": "c2"}, key="missed/2"
            )
            assert (await inbox.next_data())["notifications"]["id"] == str(ignored)
            await until(pg, ignored, "pushed")  # delivered in-app, no ACK by the deadline
            assert await status(pg, acked) == "acknowledged"
            assert len(fcm.messages) == 2  # the acknowledged one was never pushed
