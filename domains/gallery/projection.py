"""The gallery's own read models: who is busy (their line holds a call) and display names
as the search compares them. Busy and free are announced on GALLERY_CHANNEL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from domains.gallery.changes import BusyChanged
from domains.gallery.search_key import search_key
from domains.profile.aggregate import User
from domains.video.lines import Line
from eventlog.database import Connection, SchemaConnection
from eventlog.projection import Recorded
from eventlog.text import storable

GALLERY_CHANNEL = "olo_gallery"
GALLERY_KEY = "all"  # every change goes to one key: the feeds of each process filter it

_TABLES = """
CREATE TABLE IF NOT EXISTS gallery_lines (
    line_id uuid PRIMARY KEY,
    user_id uuid NOT NULL UNIQUE,
    call_id uuid
);
CREATE TABLE IF NOT EXISTS gallery_names (
    user_id uuid PRIMARY KEY,
    role text NOT NULL,
    name_key text NOT NULL
);
CREATE INDEX IF NOT EXISTS gallery_names_search ON gallery_names (role, name_key, user_id);
"""


class GalleryProjection:
    name = "gallery"
    topics = frozenset(
        {
            Line.Opened.TOPIC,
            Line.Engaged.TOPIC,
            Line.Released.TOPIC,
            User.Registered.TOPIC,
            User.ProfileUpdated.TOPIC,
            User.RoleChanged.TOPIC,
        }
    )

    async def create_tables(self, conn: SchemaConnection) -> None:
        await conn.execute(_TABLES)

    async def clear(self, conn: Connection) -> None:
        await conn.execute("TRUNCATE gallery_lines, gallery_names")

    async def apply(
        self, conn: Connection, events: Sequence[Recorded]
    ) -> dict[str, list[tuple[str, Any]]]:
        changes: list[tuple[str, Any]] = []
        for recorded in events:
            e, position = recorded.event, recorded.position
            match e:
                case Line.Opened():
                    await conn.execute(
                        "INSERT INTO gallery_lines VALUES ($1, $2, NULL) ON CONFLICT DO NOTHING",
                        e.originator_id,
                        e.user_id,
                    )
                case Line.Engaged() | Line.Released():
                    busy = isinstance(e, Line.Engaged)
                    user_id = await conn.fetchval(
                        "UPDATE gallery_lines SET call_id = $2 WHERE line_id = $1 "
                        "RETURNING user_id",
                        e.originator_id,
                        e.call_id if busy else None,
                    )
                    if user_id is not None:
                        changes.append(
                            (GALLERY_KEY, BusyChanged(user_id, busy, position).to_json())
                        )
                case User.Registered():
                    await conn.execute(
                        "INSERT INTO gallery_names VALUES ($1, 'user', $2) ON CONFLICT DO NOTHING",
                        e.originator_id,
                        storable(search_key(e.display_name)),
                    )
                case User.ProfileUpdated() if e.public.get("display_name"):
                    await conn.execute(
                        "UPDATE gallery_names SET name_key = $2 WHERE user_id = $1",
                        e.originator_id,
                        storable(search_key(e.public["display_name"])),
                    )
                case User.RoleChanged():
                    await conn.execute(
                        "UPDATE gallery_names SET role = $2 WHERE user_id = $1",
                        e.originator_id,
                        storable(str(e.role)),
                    )
        return {GALLERY_CHANNEL: changes}
