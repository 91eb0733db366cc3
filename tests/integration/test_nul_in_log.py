"""Events already in the log may hold any string: an older release let NULs in (PostgreSQL
refuses them in text and jsonb). Written here straight into `eventlog_events` through the
library's application (its mapper and recorder), they are applied by every projection and
policy, live and on a rebuild, with each NUL stored as U+FFFD."""

from __future__ import annotations

import asyncio

import asyncpg

from app import Olo
from domains.blocklist.aggregate import Block
from domains.notification.aggregate import Notification, NotificationKind
from domains.profile.aggregate import Device, Platform, User
from eventlog.projection import ProjectionRunner, rebuild


async def head(pg: asyncpg.Connection) -> int:
    return int(await pg.fetchval("SELECT coalesce(max(notification_id), 0) FROM eventlog_events"))


async def run_to_the_head(olo: Olo) -> None:
    """Every projection and policy level with the log, including what policies wrote (the
    favorites' reaction to the block writes events the runners before it must read too)."""
    while True:
        moved = 0
        for runner in olo.runners:
            while (covered := await runner.run_page()) > 0:
                moved += covered
        if not moved:
            return


async def write_as_an_older_release(olo: Olo) -> tuple[User, Device, Block]:
    """Aggregates built in memory, no service (and so no text validation) in the way."""
    old = User(firebase_uid="old\x00uid", display_name="Old\x00Name", email="old\x00@x.io")
    old.update({"bio": "a\x00b"}, {"phone": "\x00"})
    other = User(firebase_uid="other-uid", display_name="Other", email=None)
    device = Device(
        owner_id=old.id,
        platform=Platform.ANDROID,
        tokens={"fcm_token": "tok\x00en", "onesignal_id": None, "voip_token": None},
        app_version="1.0\x00",
    )
    block = Block(blocker_id=old.id, blocked_id=other.id)
    block.block("spam\x00")
    missed = Notification(
        key="missed/old",
        recipient_id=other.id,
        kind=NotificationKind.MISSED_CALL,
        payload={"caller_name": "Old\x00Name"},
        at=0.0,
        ack_deadline=0.0,
    )
    await asyncio.to_thread(olo.event_log.save, old, other, device, block, missed)
    return old, device, block


async def assert_applied(olo: Olo, pg: asyncpg.Connection, user: User, device: Device) -> None:
    users = await pg.fetchrow("SELECT * FROM profile_users WHERE user_id = $1", user.id)
    assert users is not None
    assert users["firebase_uid"] == "old\ufffduid"
    assert users["public"] == {"display_name": "Old\ufffdName", "bio": "a\ufffdb"}
    assert users["private"] == {"email": "old\ufffd@x.io", "phone": "\ufffd"}
    devices = await pg.fetchrow("SELECT * FROM profile_devices WHERE device_id = $1", device.id)
    assert devices is not None
    assert (devices["fcm_token"], devices["app_version"]) == ("tok\ufffden", "1.0\ufffd")
    assert await pg.fetchval("SELECT reason FROM blocklist_blocks") == "spam\ufffd"
    assert await pg.fetchval("SELECT reason FROM blocklist_reports") == "spam\ufffd"
    payload = await pg.fetchval("SELECT payload FROM notification_items")
    assert payload == {"caller_name": "Old\ufffdName"}
    last = await head(pg)
    for runner in olo.runners:
        assert runner.position == last, runner.name
    tracked = await pg.fetch("SELECT name, position FROM olo_tracking")
    assert {r["name"]: r["position"] for r in tracked} == {r.name: last for r in olo.runners}


async def test_every_projection_and_policy_applies_events_with_nul(
    olo: Olo, pg: asyncpg.Connection
) -> None:
    user, device, _ = await write_as_an_older_release(olo)
    for runner in olo.runners:
        await runner.prepare()
    await run_to_the_head(olo)
    await assert_applied(olo, pg, user, device)

    for runner in olo.runners:  # a replay (`olo replay NAME`) builds the same
        if isinstance(runner, ProjectionRunner):
            await rebuild(runner, olo.pool)
    await assert_applied(olo, pg, user, device)

    # And the services go on: a new device of the same user reaches the read model.
    await olo.services.profiles.register_device(user.id, platform="web", fcm_token="fresh")
    await run_to_the_head(olo)
    assert await pg.fetchval("SELECT count(*) FROM profile_devices") == 2
