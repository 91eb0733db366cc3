"""The notification dispatcher under faults: an `olo worker` killed with -9 while a batch of
pushes is at the providers (loopback fake FCM and OneSignal, slowed down so the kill lands
mid-batch), then a new worker. No notification is lost, each is recorded pushed once, and
each reaches the user once: OneSignal gets every notification once (the resent ones carry
the same idempotency key), and FCM gets again only the pushes that were in doubt (claimed,
result not recorded), identical to the first, with the same tag, so the device shows it once.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
from fakes.fcm import FakeFcm
from fakes.onesignal import FakeOneSignal
from meter_support import POOL_MAX, Worker, wait_until

from app import Services, start
from domains.notification.aggregate import NotificationKind
from domains.profile.service import ProfileService
from eventlog.settings import Settings

PUSH_STARTED = "olo.notification:Notification.PushStarted"
PUSHED = "olo.notification:Notification.Pushed"
USERS = 120  # half Android through FCM, half iOS through OneSignal, one notification each
CONCURRENCY = 16
PROVIDER_DELAY = 0.25  # seconds each fake takes to answer: ~16 pushes are always in flight


async def pushes_recorded(pg: asyncpg.Connection) -> dict[str, Counter[UUID]]:
    """Per event name, how many times each notification has it in the log."""
    rows = await pg.fetch(
        "SELECT originator_id, topic FROM eventlog_events WHERE topic = ANY($1::text[])",
        [PUSH_STARTED, PUSHED],
    )
    found: dict[str, Counter[UUID]] = {"PushStarted": Counter(), "Pushed": Counter()}
    for row in rows:
        found[row["topic"].rsplit(".", 1)[1]][row["originator_id"]] += 1
    return found


def by_notification(messages: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    sent: dict[str, list[dict[str, Any]]] = {}
    for message in messages:
        sent.setdefault(message["data"]["notification_id"], []).append(message)
    return sent


async def test_a_dispatcher_killed_mid_batch_pushes_each_notification_once(
    settings: Settings, database_url: str, pg: asyncpg.Connection, tmp_path: Path
) -> None:
    async with FakeFcm(settings.firebase_project_id) as fcm, FakeOneSignal() as onesignal:
        fcm.delay_seconds = onesignal.delay_seconds = PROVIDER_DELAY
        account = tmp_path / "service-account.json"
        account.write_text(json.dumps(fcm.service_account()))
        env = {
            "OLO_FIREBASE_PROJECT_ID": settings.firebase_project_id,
            "OLO_FIREBASE_CREDENTIALS_FILE": str(account),
            "OLO_FCM_API_URL": fcm.base_url,
            "OLO_ONESIGNAL_APP_ID": onesignal.app_id,
            "OLO_ONESIGNAL_API_KEY": onesignal.api_key,
            "OLO_ONESIGNAL_API_ROOT": onesignal.base_url,
            "OLO_PUSH_CONCURRENCY": str(CONCURRENCY),
        }
        olo = await start(
            settings.model_copy(update={"db_pool_min": 1, "db_pool_max": POOL_MAX}), database_url
        )
        workers: list[Worker] = []
        try:
            android, ios = await notify_users(olo.services.profiles, olo.services)
            workers.append(Worker("first", database_url, tmp_path, env))

            async def a_third_pushed() -> bool:
                return len((await pushes_recorded(pg))["Pushed"]) >= USERS // 3

            await wait_until(a_third_pushed, "a third of the batch was pushed", 60)
            workers[0].kill()
            await asyncio.sleep(1.0)  # a COMMIT the worker sent before dying still lands
            at_kill = await pushes_recorded(pg)
            in_doubt = {str(n) for n in at_kill["PushStarted"] if n not in at_kill["Pushed"]}
            assert in_doubt, "the kill should land while pushes are at the providers"
            assert len(at_kill["Pushed"]) < USERS

            workers.append(Worker("second", database_url, tmp_path, env))

            async def all_pushed() -> bool:
                return len((await pushes_recorded(pg))["Pushed"]) == USERS

            await wait_until(all_pushed, "every notification was pushed", 60)
            await asyncio.sleep(3 * PROVIDER_DELAY)  # anything still on its way arrives
            done = await pushes_recorded(pg)
        except BaseException:
            for worker in workers:
                print(worker.tail())
            print(await pg.fetch("SELECT status, count(*) FROM notification_items GROUP BY 1"))
            raise
        finally:
            for worker in workers:
                worker.kill()
            await olo.close()

    assert set(done["Pushed"].values()) == {1}  # each recorded pushed once
    resumed = {str(n) for n, rounds in done["PushStarted"].items() if rounds > 1}
    assert resumed == in_doubt  # exactly the ones in doubt were pushed again
    statuses = await pg.fetch("SELECT status, count(*) FROM notification_items GROUP BY status")
    assert {r["status"]: r["count"] for r in statuses} == {"pushed": USERS}

    sent_ios = by_notification(onesignal.notifications)
    assert sorted(sent_ios) == sorted(ios) and all(len(s) == 1 for s in sent_ios.values())
    # only the ones in doubt were asked for again (OneSignal sent each once, by its key)
    assert USERS // 2 <= onesignal.requests <= USERS // 2 + len(in_doubt & set(ios))

    sent_android = by_notification(fcm.messages)
    assert sorted(sent_android) == sorted(android)
    again = {n for n, messages in sent_android.items() if len(messages) > 1}
    assert again <= in_doubt
    for n in again:
        first, *rest = sent_android[n]
        assert all(m == first for m in rest)  # same data, same tag: shown once
        assert first["android"]["notification"]["tag"] == first["android"]["collapse_key"]


async def notify_users(
    profiles: ProfileService, services: Services
) -> tuple[list[str], list[str]]:
    """USERS users with one device each and one missed-call notification each; the ids of
    the Android users' notifications and of the iOS users'."""
    notifications = services.notifications
    android: list[str] = []
    ios: list[str] = []

    async def one(i: int) -> None:
        user_id = await profiles.register(f"faults-{i}")
        if i % 2:
            await profiles.register_device(
                user_id, platform="android", fcm_token=f"fcm-{i}", app_version="3.1"
            )
        else:
            await profiles.register_device(
                user_id, platform="ios", onesignal_id=f"os-{i}", app_version="3.1"
            )
        notification_id = await notifications.notify(
            user_id, NotificationKind.MISSED_CALL, {"callId": str(uuid4())}, key=f"faults/{i}"
        )
        (android if i % 2 else ios).append(str(notification_id))

    await asyncio.gather(*(one(i) for i in range(USERS)))
    return android, ios
