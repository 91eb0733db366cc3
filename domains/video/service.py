"""Commands on calls: ring, answer, join, bill, end. Coins move only through balance's
`move`, inside the call's own command, so a call event and its transfer land together."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from uuid import UUID

from domains.balance.aggregate import (
    Account,
    InsufficientFundsError,
)
from domains.balance.service import AccountRef
from domains.billing.aggregate import CallKind, Tariff, tariff_id_of
from domains.blocklist.review import check_not_suspended
from domains.blocklist.service import blocked_between
from domains.profile.aggregate import User
from domains.video.access import MediaAccess, MediaPass
from domains.video.aggregate import Call, CallStateError, CallStatus, EndReason, Side
from domains.video.agora import Notice
from domains.video.lines import (
    Availability,
    Line,
    MediaNotice,
    availability_id_of,
    line_id_of,
    notice_id_of,
)
from domains.video.ringing import (
    Ring,
    UnknownCallError,
    check_can_ring,
    check_not_self,
)
from domains.video.settlement import (
    charge,
    charge_key,
    charge_keys,
    finish,
    load_for,
    refund_key,
    release_lines,
    warn_if_short,
)
from eventlog.clock import Clock
from eventlog.store import AggregateStore, Transaction


@dataclass(frozen=True)
class CallTimings:
    ring_seconds: float = 30.0
    media_seconds: float = 20.0


# Can a ring reach the user now: a live connection, or a device to push to (an app in the
# background or killed is woken by the push).
IsReachable = Callable[[UUID], Awaitable[bool]]


class CallService:
    """The call commands; every one is a single unit on the log."""

    def __init__(
        self, store: AggregateStore, clock: Clock, is_reachable: IsReachable, timings: CallTimings
    ) -> None:
        self.store = store
        self.clock = clock
        self.is_reachable = is_reachable
        self.timings = timings

    # --- ringing ------------------------------------------------------------------------

    async def request_call(
        self,
        caller_id: UUID,
        callee_id: UUID,
        *,
        kind: CallKind = CallKind.DIRECT,
        roulette_id: UUID | None = None,
        ring_seconds: float | None = None,
    ) -> Call:
        """Ring a streamer. Raises CalleeUnavailable/CallerBusy/Blocked/InsufficientFunds/
        Suspended (the caller)."""
        check_not_self(caller_id, callee_id)
        reachable = await self.is_reachable(callee_id)
        ring = self.timings.ring_seconds if ring_seconds is None else ring_seconds

        async def command(tx: Transaction) -> Call:
            await check_not_suspended(tx, caller_id)
            facts = await _load_ring(tx, caller_id, callee_id, CallKind(kind), reachable)
            check_can_ring(facts)
            now = self.clock.now()
            call = Call(
                kind=kind,
                caller_id=caller_id,
                callee_id=callee_id,
                at=now,
                ring_deadline=now + ring,
                roulette_id=roulette_id,
            )
            tx.add(call)
            found = (facts.caller_line, facts.callee_line)
            for user_id, line in zip((caller_id, callee_id), found, strict=True):
                if line is None:
                    line = Line(user_id=user_id)
                    tx.add(line)
                line.engage(call.id)
            return call

        return await self.store.transact(command)

    async def accept_call(
        self, user_id: UUID, call_id: UUID, device_id: UUID | None = None
    ) -> Call:
        """The streamer answers (on `device_id`): the tariff is fixed, the connect charge taken."""

        async def command(tx: Transaction) -> Call:
            call = await _party_call(tx, call_id, user_id)
            if call.side_of(user_id) is not Side.STREAMER:
                raise CallStateError("only the streamer can answer")
            await check_not_suspended(tx, user_id)
            tariff = await tx.get(tariff_id_of(call.kind), Tariff)
            assert tariff is not None
            await load_for(
                tx, call, [charge_key(call.id, Side.CALLER, 0), refund_key(call.id)], many=True
            )
            now = self.clock.now()
            call.accept(
                now,
                tariff.version,
                tariff.caller,
                tariff.streamer,
                now + self.timings.media_seconds,
                device_id,
            )
            try:
                await charge(tx, call, Side.CALLER, 0, self.clock.now())
            except InsufficientFundsError:
                await finish(tx, call, EndReason.INSUFFICIENT_FUNDS, self.clock.now())
                return call
            await warn_if_short(tx, call, self.clock.now())  # e.g. pays 9 but not the 60 at 20 s
            return call

        return await self.store.transact(command)

    async def decline_call(
        self, user_id: UUID, call_id: UUID, device_id: UUID | None = None
    ) -> Call:
        """The streamer declines a ringing call (on `device_id`)."""

        async def command(tx: Transaction) -> Call:
            call = await _party_call(tx, call_id, user_id)
            if call.side_of(user_id) is not Side.STREAMER:
                raise CallStateError("only the streamer can decline; hang up instead")
            await release_lines(tx, call)
            call.decline(self.clock.now(), device_id)
            return call

        return await self.store.transact(command)

    async def hang_up(self, user_id: UUID, call_id: UUID) -> Call:
        """Either party ends the call, whatever state it is in."""

        async def command(tx: Transaction) -> Call:
            call = await _party_call(tx, call_id, user_id)
            side = call.side_of(user_id)
            if call.status is CallStatus.RINGING:
                await release_lines(tx, call)
                if side is Side.CALLER:
                    call.cancel(self.clock.now())
                else:
                    call.decline(self.clock.now())
                return call
            reason = EndReason.HANGUP_CALLER if side is Side.CALLER else EndReason.HANGUP_CALLEE
            await finish(tx, call, reason, self.clock.now())
            return call

        return await self.store.transact(command)

    async def miss_if_unanswered(self, call_id: UUID) -> None:
        """The ring timeout: a call still ringing at its deadline is missed."""

        async def command(tx: Transaction) -> None:
            call = await tx.get(call_id, Call)
            if call is None or call.status is not CallStatus.RINGING:
                return
            if self.clock.now() < call.ring_deadline:
                return
            await release_lines(tx, call)
            call.miss(self.clock.now())

        await self.store.transact(command)

    async def set_availability(self, user_id: UUID, *, calls: bool, roulette: bool) -> None:
        """Whether a streamer takes direct calls and is in the roulette."""

        async def command(tx: Transaction) -> None:
            availability = await tx.get(availability_id_of(user_id), Availability)
            if availability is None:
                tx.add(Availability(user_id=user_id, calls=calls, roulette=roulette))
            else:
                availability.change(calls, roulette)

        await self.store.transact(command)

    # --- media --------------------------------------------------------------------------

    async def report_media(
        self, call_id: UUID, side: Side, *, joined: bool, seq: int | None = None
    ) -> Call:
        """A party joined or left the channel (an Agora webhook, or the app itself)."""

        async def command(tx: Transaction) -> Call:
            call = await tx.get(call_id, Call, fresh=True)
            if call is None:
                raise UnknownCallError(f"no call {call_id}")
            if call.status is CallStatus.RINGING:
                raise CallStateError("the call has not been answered")
            now = self.clock.now()
            if joined:
                call.media_joined(side, now, seq)
            else:
                call.media_left(side, now, seq)
            return call

        return await self.store.transact(command)

    async def receive_notice(self, notice: Notice, call_id: UUID | None, side: Side | None) -> bool:
        """Apply an Agora channel notice once (by noticeId); False for a duplicate."""
        joined = notice.kind in ("joined", "channel_created")

        async def command(tx: Transaction) -> bool:
            if await tx.get(notice_id_of(notice.notice_id), MediaNotice) is not None:
                return False
            call = await tx.get(call_id, Call, fresh=True) if call_id is not None else None
            tx.add(MediaNotice(notice.notice_id, notice.event_type, notice.channel, notice.uid))
            if call is None or call.status is CallStatus.RINGING:
                return True
            now = self.clock.now()
            sides = [side] if side is not None else []
            if notice.kind == "channel_destroyed":
                sides = [Side.CALLER, Side.STREAMER]
            for party in sides:
                if notice.kind == "channel_created":
                    continue
                if joined:
                    call.media_joined(party, now, notice.client_seq)
                else:
                    call.media_left(party, now, notice.client_seq)
            return True

        return await self.store.transact(command)

    async def check_media(self, call_id: UUID) -> None:
        """Media deadlines: nobody joined in time after answering (no_media, refunded), or
        a party of a connected call has been gone for too long (timeout)."""

        async def command(tx: Transaction) -> None:
            call = await tx.get(call_id, Call)
            if call is None or not call.is_open:
                return
            now = self.clock.now()
            if call.status is CallStatus.ACCEPTED:
                assert call.media_deadline is not None
                if now >= call.media_deadline:
                    await finish(tx, call, EndReason.NO_MEDIA, self.clock.now())
                return
            gone = [t for t in call.absent_since.values() if t is not None]
            if call.status is CallStatus.CONNECTED and gone:
                if now >= min(gone) + self.timings.media_seconds:
                    await finish(tx, call, EndReason.TIMEOUT, self.clock.now())

        await self.store.transact(command)

    async def join_media(
        self, user_id: UUID, call_id: UUID, access: MediaAccess, *, report: bool
    ) -> MediaPass:
        """A pass into the call's channel for one of its parties (`report`: their app says
        it joined, where the apps rather than Agora report media)."""
        call = await self.store.load(call_id, fresh=True)
        if not isinstance(call, Call) or user_id not in (call.caller_id, call.callee_id):
            raise UnknownCallError(f"no call {call_id}")
        if report:
            call = await self.report_media(call.id, call.side_of(user_id), joined=True)
        return access.pass_for(call, user_id, self.clock.now())

    async def leave_media(self, user_id: UUID, call_id: UUID) -> Call:
        """A party's app says it left the channel (where the apps report media)."""
        call = await self.store.load(call_id)
        if not isinstance(call, Call) or user_id not in (call.caller_id, call.callee_id):
            raise UnknownCallError(f"no call {call_id}")
        return await self.report_media(call_id, call.side_of(user_id), joined=False)

    # --- money --------------------------------------------------------------------------

    async def bill(self, call_id: UUID) -> Call | None:
        """Charge the caller and credit the streamer for every checkpoint due by now, each
        exactly once; end the call when the caller cannot pay; warn one interval ahead."""

        async def command(tx: Transaction) -> Call | None:
            call = await tx.get(call_id, Call)
            if call is None or call.status is not CallStatus.CONNECTED:
                return call
            assert call.connected_at is not None
            now = self.clock.now()
            seconds = now - call.connected_at
            caller_due = call.billable(Side.CALLER, seconds, inclusive=True)
            streamer_due = call.billable(Side.STREAMER, seconds, inclusive=True)
            await load_for(
                tx, call, charge_keys(call, caller_due, streamer_due), many=len(caller_due) > 1
            )
            for checkpoint in caller_due:
                try:
                    await charge(tx, call, Side.CALLER, checkpoint.index, now)
                except InsufficientFundsError:
                    cut = checkpoint.at_second
                    await finish(tx, call, EndReason.INSUFFICIENT_FUNDS, now, cut=cut)
                    return call
            for checkpoint in streamer_due:
                await charge(tx, call, Side.STREAMER, checkpoint.index, now)
            await warn_if_short(tx, call, now)
            return call

        return await self.store.transact(command)

    async def warn_if_short(self, call_id: UUID) -> None:
        """endingSoon when the caller's wallet (after a spend elsewhere) no longer covers the
        call's next checkpoint; once per checkpoint."""

        async def command(tx: Transaction) -> None:
            call = await tx.get(call_id, Call, fresh=True)
            if call is None or call.status not in (CallStatus.ACCEPTED, CallStatus.CONNECTED):
                return
            await warn_if_short(tx, call, self.clock.now())

        await self.store.transact(command)

    async def end_call(self, call_id: UUID, reason: EndReason) -> Call | None:
        """The server ends an open call (operator, block); ringing calls are cancelled."""

        async def command(tx: Transaction) -> Call | None:
            call = await tx.get(call_id, Call, fresh=True)
            if call is None or not call.is_open:
                return call
            if call.status is CallStatus.RINGING:
                await release_lines(tx, call)
                call.cancel(self.clock.now())
                return call
            await finish(tx, call, reason, self.clock.now())
            return call

        return await self.store.transact(command)


async def _load_ring(
    tx: Transaction, caller_id: UUID, callee_id: UUID, kind: CallKind, reachable: bool
) -> Ring:
    """Everything the ring rules look at, loaded before anything changes."""
    wallet = await tx.get(AccountRef.wallet(caller_id).account_id, Account)
    return Ring(
        caller_id=caller_id,
        kind=kind,
        callee=await tx.get(callee_id, User),
        reachable=reachable,
        blocked=await blocked_between(tx, caller_id, callee_id),
        availability=await tx.get(availability_id_of(callee_id), Availability),
        caller_line=await tx.get(line_id_of(caller_id), Line),
        callee_line=await tx.get(line_id_of(callee_id), Line),
        tariff=await tx.get(tariff_id_of(kind), Tariff),
        coins=wallet.coins if wallet is not None else 0,
    )


async def _party_call(tx: Transaction, call_id: UUID, user_id: UUID) -> Call:
    # The meter (another process) changes a connected call every checkpoint: read it fresh.
    call = await tx.get(call_id, Call, fresh=True)
    if call is None or user_id not in (call.caller_id, call.callee_id):
        raise UnknownCallError(f"no call {call_id}")
    return call
