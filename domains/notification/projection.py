"""The notifications read model, and the live `notifications` stream of each user."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from domains.notification.aggregate import (
    PUSH_ONLY,
    Notification,
    NotificationKind,
    NotificationStatus,
)
from domains.notification.changes import NotificationAnnounced
from eventlog.database import Connection, SchemaConnection
from eventlog.projection import Recorded

NOTIFICATIONS_CHANNEL = "olo_notifications"

_TABLES = """
CREATE TABLE IF NOT EXISTS notification_items (
    notification_id uuid PRIMARY KEY,
    recipient_id uuid NOT NULL,
    kind text NOT NULL,
    payload jsonb NOT NULL,
    status text NOT NULL,
    requested_at double precision NOT NULL,
    ack_deadline double precision NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    position bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS notification_items_recipient
    ON notification_items (recipient_id, requested_at DESC);
DROP INDEX IF EXISTS notification_items_waiting;
CREATE INDEX IF NOT EXISTS notification_items_open ON notification_items (ack_deadline)
    WHERE status IN ('requested', 'delivered', 'pushing');
"""


def _status_after(event: object) -> NotificationStatus | None:
    """The status a change leaves a notification in (None: a push attempt changes none)."""
    match event:
        case Notification.DeliveredInApp():
            return NotificationStatus.DELIVERED
        case Notification.Acknowledged():
            return NotificationStatus.ACKNOWLEDGED
        case Notification.Withdrawn():
            return NotificationStatus.WITHDRAWN
        case Notification.PushStarted():
            return NotificationStatus.PUSHING
        case Notification.Pushed():
            return NotificationStatus.PUSHED
        case Notification.Failed():
            return NotificationStatus.FAILED
    return None


class NotificationProjection:
    name = "notification.items"
    topics = frozenset(
        {
            Notification.Requested.TOPIC,
            Notification.DeliveredInApp.TOPIC,
            Notification.Acknowledged.TOPIC,
            Notification.Withdrawn.TOPIC,
            Notification.PushStarted.TOPIC,
            Notification.PushAttempted.TOPIC,
            Notification.Pushed.TOPIC,
            Notification.Failed.TOPIC,
        }
    )

    async def create_tables(self, conn: SchemaConnection) -> None:
        await conn.execute(_TABLES)

    async def clear(self, conn: Connection) -> None:
        await conn.execute("TRUNCATE notification_items")

    async def apply(
        self, conn: Connection, events: Sequence[Recorded]
    ) -> dict[str, list[tuple[str, Any]]]:
        """A page at a time: its new notifications in one insert, then each notification's
        last status, added attempts and position in one update."""
        created: list[tuple[Any, ...]] = []
        changed: dict[Any, list[Any]] = {}  # id -> [status or None, attempts added, position]
        announced: list[tuple[str, Any]] = []
        for recorded in events:
            e, position = recorded.event, recorded.position
            if isinstance(e, Notification.Requested):
                row = (e.originator_id, e.recipient_id, str(e.kind), e.payload, e.at)
                created.append((*row, e.ack_deadline, position))
                if NotificationKind(e.kind) not in PUSH_ONLY:
                    item = NotificationAnnounced(str(e.originator_id), str(e.kind), e.payload, e.at)
                    announced.append((str(e.recipient_id), item.to_json()))
                continue
            change = changed.setdefault(e.originator_id, [None, 0, position])
            change[2] = position
            if isinstance(e, Notification.PushAttempted):
                change[1] += 1
            elif (status := _status_after(e)) is not None:
                change[0] = status.value
        if created:
            await conn.executemany(
                "INSERT INTO notification_items (notification_id, recipient_id, kind, "
                "payload, status, requested_at, ack_deadline, position) "
                "VALUES ($1, $2, $3, $4, 'requested', $5, $6, $7) ON CONFLICT DO NOTHING",
                created,
            )
        if changed:
            ids = list(changed)
            await conn.execute(
                "UPDATE notification_items n SET status = coalesce(u.status, n.status), "
                "attempts = n.attempts + u.added, position = u.position "
                "FROM unnest($1::uuid[], $2::text[], $3::int[], $4::bigint[]) "
                "AS u(id, status, added, position) WHERE n.notification_id = u.id",
                ids,
                [changed[i][0] for i in ids],
                [changed[i][1] for i in ids],
                [changed[i][2] for i in ids],
            )
        return {NOTIFICATIONS_CHANNEL: announced}
