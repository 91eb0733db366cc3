"""The users read model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from domains.profile.aggregate import Device, User
from eventlog.database import Connection, SchemaConnection
from eventlog.projection import Recorded
from eventlog.text import storable

_TABLES = """
CREATE TABLE IF NOT EXISTS profile_users (
    user_id uuid PRIMARY KEY,
    firebase_uid text NOT NULL UNIQUE,
    role text NOT NULL,
    public jsonb NOT NULL,
    private jsonb NOT NULL,
    registered_at timestamptz NOT NULL,
    version bigint NOT NULL,
    position bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS profile_devices (
    device_id uuid PRIMARY KEY,
    owner_id uuid NOT NULL,
    platform text NOT NULL,
    fcm_token text,
    onesignal_id text,
    voip_token text,
    app_version text NOT NULL,
    active boolean NOT NULL,
    updated_at timestamptz NOT NULL,
    position bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS profile_devices_owner ON profile_devices (owner_id) WHERE active;
"""


class ProfileProjection:
    name = "profile"
    topics = frozenset(
        {
            User.Registered.TOPIC,
            User.ProfileUpdated.TOPIC,
            User.RoleChanged.TOPIC,
            Device.Registered.TOPIC,
            Device.Reregistered.TOPIC,
            Device.Unregistered.TOPIC,
        }
    )

    async def create_tables(self, conn: SchemaConnection) -> None:
        await conn.execute(_TABLES)

    async def clear(self, conn: Connection) -> None:
        await conn.execute("TRUNCATE profile_users, profile_devices")

    async def apply(
        self, conn: Connection, events: Sequence[Recorded]
    ) -> dict[str, list[tuple[str, Any]]]:
        for recorded in events:
            e, position = recorded.event, recorded.position
            match e:
                case User.Registered():
                    await conn.execute(
                        "INSERT INTO profile_users VALUES ($1, $2, 'user', $3, $4, $5, 1, $6) "
                        "ON CONFLICT DO NOTHING",
                        e.originator_id,
                        storable(e.firebase_uid),
                        {"display_name": e.display_name},
                        {"email": e.email} if e.email else {},
                        e.timestamp,
                        position,
                    )
                case User.ProfileUpdated():
                    await conn.execute(
                        "UPDATE profile_users SET public = public || $2::jsonb, "
                        "private = private || $3::jsonb, version = $4, position = $5 "
                        "WHERE user_id = $1",
                        e.originator_id,
                        e.public,
                        e.private,
                        e.originator_version,
                        position,
                    )
                case Device.Registered() | Device.Reregistered():
                    await conn.execute(
                        "INSERT INTO profile_devices "
                        "VALUES ($1, $2, $3, $4, $5, $6, $7, true, $8, $9) "
                        "ON CONFLICT (device_id) DO UPDATE SET owner_id = $2, fcm_token = $4, "
                        "onesignal_id = $5, voip_token = $6, app_version = $7, active = true, "
                        "updated_at = $8, position = $9",
                        e.originator_id,
                        e.owner_id,
                        storable(str(e.platform) if isinstance(e, Device.Registered) else ""),
                        storable(e.tokens.get("fcm_token")),
                        storable(e.tokens.get("onesignal_id")),
                        storable(e.tokens.get("voip_token")),
                        storable(e.app_version),
                        e.timestamp,
                        position,
                    )
                case Device.Unregistered():
                    await conn.execute(
                        "UPDATE profile_devices SET active = false, updated_at = $2, position = $3 "
                        "WHERE device_id = $1",
                        e.originator_id,
                        e.timestamp,
                        position,
                    )
                case User.RoleChanged():
                    await conn.execute(
                        "UPDATE profile_users SET role = $2, version = $3, position = $4 "
                        "WHERE user_id = $1",
                        e.originator_id,
                        storable(str(e.role)),
                        e.originator_version,
                        position,
                    )
        return {}
