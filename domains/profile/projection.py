"""The users read model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from domains.profile.aggregate import User
from eventlog.database import Connection
from eventlog.projection import Recorded

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
"""


class ProfileProjection:
    name = "profile"
    topics = frozenset({User.Registered.TOPIC, User.ProfileUpdated.TOPIC, User.RoleChanged.TOPIC})

    async def create_tables(self, conn: Connection) -> None:
        await conn.execute(_TABLES)

    async def clear(self, conn: Connection) -> None:
        await conn.execute("TRUNCATE profile_users")

    async def apply(
        self, conn: Connection, events: Sequence[Recorded]
    ) -> dict[str, list[tuple[str, Any]]]:
        for recorded in events:
            e, position = recorded.event, recorded.position
            if isinstance(e, User.Registered):
                await conn.execute(
                    "INSERT INTO profile_users VALUES ($1, $2, 'user', $3, $4, $5, 1, $6) "
                    "ON CONFLICT DO NOTHING",
                    e.originator_id,
                    e.firebase_uid,
                    {"display_name": e.display_name},
                    {"email": e.email} if e.email else {},
                    e.timestamp,
                    position,
                )
            elif isinstance(e, User.ProfileUpdated):
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
            elif isinstance(e, User.RoleChanged):
                await conn.execute(
                    "UPDATE profile_users SET role = $2, version = $3, position = $4 "
                    "WHERE user_id = $1",
                    e.originator_id,
                    str(e.role),
                    e.originator_version,
                    position,
                )
        return {}
