"""Reactions to gifts sent: the streamer is told (in-app first, push fallback)."""

from __future__ import annotations

from typing import Any

from domains.gift.aggregate import GiftSend
from domains.notification.aggregate import NotificationKind
from domains.notification.service import NotificationService


class GiftReceivedPolicy:
    """Each gift sent notifies its recipient once (the key is the send's)."""

    name = "gift.received"
    concurrency = 32  # gifts notify independently of each other
    topics = frozenset({GiftSend.Sent.TOPIC})

    def __init__(self, notifications: NotificationService) -> None:
        self.notifications = notifications

    async def handle(self, event: Any, position: int) -> None:
        if not isinstance(event, GiftSend.Sent):
            return
        payload = {
            "giftId": str(event.gift_id),
            "giftName": event.name,
            "coins": event.streamer_coins,
            "senderId": str(event.sender_id),
            "sendId": str(event.originator_id),
        }
        await self.notifications.notify(
            event.recipient_id,
            NotificationKind.GIFT_RECEIVED,
            payload,
            key=f"gift/{event.originator_id}/received",
        )
