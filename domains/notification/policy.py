"""What notifies: reactions to other domains' events, each asking for one notification with
a key derived from the event, so a replay or a crash never asks twice."""

from __future__ import annotations

from typing import Any

from domains.balance.service import AccountRef, BalanceService
from domains.notification.aggregate import NotificationKind
from domains.notification.service import NotificationService
from domains.video.aggregate import SERVER_ENDED, Call, EndReason

LOW_BALANCE_COINS = 60  # under this after a call, the caller cannot pay a minute of the seed


# How a call stopped ringing, as the dismissal push tells the devices.
_STOPPED_RINGING = {
    "Accepted": "answered",
    "Declined": "declined",
    "Cancelled": "cancelled",
    "Missed": "missed",
}


class CallNotificationPolicy:
    """Incoming calls, ringing stopped, missed calls, calls the system ended, and low balance
    after a call."""

    name = "notification.calls"
    concurrency = 64  # one call's events in order; different calls notify independently
    topics = frozenset(
        {
            Call.Requested.TOPIC,
            Call.Accepted.TOPIC,
            Call.Declined.TOPIC,
            Call.Cancelled.TOPIC,
            Call.Missed.TOPIC,
            Call.Ended.TOPIC,
        }
    )

    def __init__(self, notifications: NotificationService, balance: BalanceService) -> None:
        self.notifications = notifications
        self.balance = balance

    async def handle(self, event: Any, position: int) -> None:
        call_id = str(event.originator_id)
        notify = self.notifications.notify
        if isinstance(event, Call.Requested):
            payload = {
                "callId": call_id,
                "callerId": str(event.caller_id),
                "callKind": str(event.kind),
            }
            await notify(
                event.callee_id, NotificationKind.INCOMING_CALL, payload, key=f"call/{call_id}/in"
            )
            return
        stopped = _STOPPED_RINGING.get(type(event).__name__)
        if stopped is not None:
            await self._stopped_ringing(event, stopped)
        if isinstance(event, Call.Missed):
            call = await self._call(event)
            payload = {"callId": call_id, "callerId": str(call.caller_id)}
            await notify(
                call.callee_id, NotificationKind.MISSED_CALL, payload, key=f"call/{call_id}/missed"
            )
        elif isinstance(event, Call.Ended):
            await self._ended(event, await self._call(event))

    async def _stopped_ringing(self, event: Any, how: str) -> None:
        """No ringing push after the call stopped ringing; if one had begun, a dismissal to
        every device of the callee but the one that answered or declined."""
        call_id = str(event.originator_id)
        if not await self.notifications.withdraw(f"call/{call_id}/in"):
            return
        call = await self._call(event)
        await self.notifications.notify(
            call.callee_id,
            NotificationKind.RINGING_ENDED,
            {"callId": call_id, "reason": how},
            key=f"call/{call_id}/ringing_ended",
            skip_device=getattr(event, "device_id", None),  # absent from older events
        )

    async def _ended(self, event: Any, call: Call) -> None:
        call_id = str(call.id)
        reason = EndReason(event.reason)
        if reason in SERVER_ENDED:
            for user in (call.caller_id, call.callee_id):
                await self.notifications.notify(
                    user,
                    NotificationKind.CALL_ENDED,
                    {"callId": call_id, "reason": reason.value},
                    key=f"call/{call_id}/ended/{user}",
                )
        coins = await self.balance.coins(AccountRef.wallet(call.caller_id))
        if coins < LOW_BALANCE_COINS:
            await self.notifications.notify(
                call.caller_id,
                NotificationKind.LOW_BALANCE,
                {"callId": call_id, "coins": coins},
                key=f"call/{call_id}/low_balance",
            )

    async def _call(self, event: Any) -> Call:
        call = await self.notifications.store.load(event.originator_id, fresh=True)
        assert isinstance(call, Call)
        return call
