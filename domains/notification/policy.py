"""What notifies: reactions to other domains' events, each asking for one notification with
a key derived from the event, so a replay or a crash never asks twice."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domains.balance.service import AccountRef, BalanceService
from domains.billing.aggregate import SEED_CALLER, CallKind, Tariff, tariff_id_of
from domains.notification.aggregate import NotificationKind
from domains.notification.service import NotificationService
from domains.video.aggregate import SERVER_ENDED, Call, EndReason
from domains.video.lines import Availability


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
        match event:
            case Call.Requested():
                await self._incoming(event)
            case Call.Accepted():
                await self._stopped_ringing(event.originator_id, "answered", event.device_id)
            case Call.Declined():
                await self._stopped_ringing(event.originator_id, "declined", event.device_id)
            case Call.Cancelled():
                await self._stopped_ringing(event.originator_id, "cancelled", None)
            case Call.Missed():
                await self._stopped_ringing(event.originator_id, "missed", None)
                await self._missed(await self._call(event.originator_id))
            case Call.Ended():
                await self._ended(event, await self._call(event.originator_id))

    async def _incoming(self, event: Call.Requested) -> None:
        call_id = str(event.originator_id)
        payload = {"callId": call_id, "callerId": str(event.caller_id), "callKind": str(event.kind)}
        await self.notifications.notify(
            event.callee_id, NotificationKind.INCOMING_CALL, payload, key=f"call/{call_id}/in"
        )

    async def _stopped_ringing(self, call_id: UUID, how: str, device_id: UUID | None) -> None:
        """No ringing push after the call stopped ringing (`how`, as the dismissal push tells
        the devices); if one had begun, a dismissal to every device of the callee but the one
        that answered or declined."""
        if not await self.notifications.withdraw(f"call/{call_id}/in"):
            return
        call = await self._call(call_id)
        await self.notifications.notify(
            call.callee_id,
            NotificationKind.RINGING_ENDED,
            {"callId": str(call_id), "reason": how},
            key=f"call/{call_id}/ringing_ended",
            skip_device=device_id,
        )

    async def _missed(self, call: Call) -> None:
        payload = {"callId": str(call.id), "callerId": str(call.caller_id)}
        await self.notifications.notify(
            call.callee_id, NotificationKind.MISSED_CALL, payload, key=f"call/{call.id}/missed"
        )

    async def _ended(self, event: Call.Ended, call: Call) -> None:
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
        if coins < await self._low_balance_coins():
            await self.notifications.notify(
                call.caller_id,
                NotificationKind.LOW_BALANCE,
                {"callId": call_id, "coins": coins},
                key=f"call/{call_id}/low_balance",
            )

    async def _low_balance_coins(self) -> int:
        """Under this a caller's next direct call would be cut off within its first minute
        (the current direct tariff's; the seed's before one is published)."""
        tariff = await self.notifications.store.load(tariff_id_of(CallKind.DIRECT), fresh=True)
        caller = tariff.caller if isinstance(tariff, Tariff) else SEED_CALLER
        return caller.first_minute()

    async def _call(self, call_id: UUID) -> Call:
        call = await self.notifications.store.load(call_id, fresh=True)
        assert isinstance(call, Call)
        return call


class CallsOnUnmutePolicy:
    """Turning calls on unmutes incoming calls (a streamer mutes them only with calls off),
    so the settings say what `notify` does: a call that rings notifies."""

    name = "notification.calls_on_unmutes"
    topics = frozenset({Availability.Set.TOPIC, Availability.Changed.TOPIC})

    def __init__(self, notifications: NotificationService) -> None:
        self.notifications = notifications

    async def handle(self, event: Any, position: int) -> None:
        if not event.calls:
            return
        if isinstance(event, Availability.Set):
            user_id = event.user_id
        else:
            availability = await self.notifications.store.load(event.originator_id)
            if not isinstance(availability, Availability):
                return
            user_id = availability.user_id
        await self.notifications.calls_turned_on(user_id)
