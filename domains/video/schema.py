"""GraphQL for calls: ring, answer, join the media channel, hang up; the `calls` history;
the live `callEvents` and `earnings` streams."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Annotated
from uuid import UUID

import strawberry
from strawberry.types import Info

from domains.billing.aggregate import CallKind
from domains.blocklist.schema import Suspended
from domains.video.access import MediaPass
from domains.video.aggregate import Call, CallError, Side
from domains.video.changes import CallChanged, EarningsChanged
from domains.video.projection import CALLS_CHANNEL, EARNINGS_CHANNEL
from domains.video.results import (
    VIDEO_ERRORS,
    Blocked,
    CalleeUnavailable,
    CallNotPossible,
    InsufficientFunds,
)
from domains.video.service import CallService
from domains.video.services import VideoServices
from eventlog.api import Context, InvalidInput, NotFound, RateLimited, parse_uuid, result_of
from eventlog.hub import RESYNC


@strawberry.type(description="A call as it stands.")
class CallView:
    id: strawberry.ID
    kind: str
    status: str
    caller_id: strawberry.ID
    callee_id: strawberry.ID
    requested_at: float
    accepted_at: float | None
    connected_at: float | None
    ended_at: float | None
    end_reason: str | None
    coins_charged: int = strawberry.field(description="Coins the caller paid for this call.")
    coins_earned: int = strawberry.field(description="Coins the streamer earned from it.")
    tariff_version: int | None


def call_view(call: Call) -> CallView:
    return CallView(
        id=strawberry.ID(str(call.id)),
        kind=call.kind.value,
        status=call.status.value,
        caller_id=strawberry.ID(str(call.caller_id)),
        callee_id=strawberry.ID(str(call.callee_id)),
        requested_at=call.requested_at,
        accepted_at=call.accepted_at,
        connected_at=call.connected_at,
        ended_at=call.ended_at,
        end_reason=call.end_reason.value if call.end_reason else None,
        coins_charged=call.coins[Side.CALLER],
        coins_earned=call.coins[Side.STREAMER],
        tariff_version=call.tariff_version,
    )


@strawberry.type(description="How to join the call's Agora channel; the token ends with paid time.")
class MediaJoin:
    app_id: str
    channel: str
    uid: int
    token: str
    expires_at: int


RequestCallResult = Annotated[
    CallView
    | CalleeUnavailable
    | InsufficientFunds
    | Blocked
    | Suspended
    | CallNotPossible
    | InvalidInput
    | NotFound
    | RateLimited,
    strawberry.union("RequestCallResult"),
]
CallResult = Annotated[
    CallView | CallNotPossible | InvalidInput | NotFound, strawberry.union("CallResult")
]
AcceptCallResult = Annotated[
    CallView | Suspended | CallNotPossible | InvalidInput | NotFound,
    strawberry.union("AcceptCallResult"),
]
JoinCallResult = Annotated[
    MediaJoin | CallNotPossible | InvalidInput | NotFound, strawberry.union("JoinCallResult")
]


@strawberry.type(description="A gift sent during the call (its coins are the event's `coins`).")
class CallGift:
    id: strawberry.ID
    name: str
    sender_id: strawberry.ID


@strawberry.type(description="Something happened to one of your calls.")
class CallEvent:
    type: str = strawberry.field(
        description="incoming, accepted, declined, missed, cancelled, connected, charged, "
        "endingSoon, tokenRenewed, ended, gift (with `gift` and its `coins`); rouletteMatched "
        "(callId: the answered call) and rouletteExhausted (callId: the roulette id; reason: "
        "no_streamer, insufficient_funds or caller_busy)"
    )
    call_id: strawberry.ID
    at: float
    position: int
    reason: str | None = None
    side: str | None = None
    coins: int | None = None
    media: MediaJoin | None = strawberry.field(default=None, description="With tokenRenewed.")
    gift: CallGift | None = strawberry.field(default=None, description="With gift.")


@strawberry.type(
    description="A streamer's earnings: the last credit, the call's and today's totals."
)
class Earnings:
    call_id: strawberry.ID | None
    coins: int
    call_total: int = strawberry.field(description="The call's checkpoint earnings (0: a gift).")
    today: int = strawberry.field(description="Today's earnings (UTC), calls and gifts.")
    position: int
    source: str = strawberry.field(default="call", description="call or gift")
    gift_name: str | None = strawberry.field(default=None, description="With a gift.")


@strawberry.type(description="A tariff checkpoint of your side charged (caller) or earned.")
class ChargedCheckpoint:
    at_second: int = strawberry.field(description="Connected seconds it falls due at.")
    coins: int


@strawberry.type(description="One of your calls, from your side.")
class CallRecord:
    id: strawberry.ID
    peer_id: strawberry.ID
    peer_name: str | None
    side: str
    kind: str
    status: str
    requested_at: float
    connected_at: float | None
    ended_at: float | None
    duration_seconds: float
    coins: int = strawberry.field(description="Charged to you (caller) or earned (streamer).")
    end_reason: str | None
    billed_seconds: float | None = strawberry.field(
        description="Connected seconds the coins pay for (set when the call ends; short of "
        "durationSeconds when the caller could not pay a checkpoint)."
    )
    checkpoints: list[ChargedCheckpoint] = strawberry.field(
        description="Your side's checkpoints charged or earned, in order; their coins add up to "
        "`coins`."
    )


def _call_id(value: str) -> UUID | InvalidInput:
    return parse_uuid(value, "callId", "call id")


async def _on_device(
    info: Info[Context[VideoServices], None],
    call_id: str,
    device_id: str | None,
    run: Callable[[CallService, UUID, UUID, UUID | None], Awaitable[Call]],
) -> CallView | Suspended | CallNotPossible | InvalidInput | NotFound:
    """A call command the app sends from one of the user's devices (`deviceId`, optional)."""
    device = None if device_id is None else parse_uuid(device_id, "deviceId", "device id")
    if isinstance(device, InvalidInput):
        return device
    return await _call_command(info, call_id, lambda s, u, c: run(s, u, c, device))


def _media(p: MediaPass) -> MediaJoin:
    return MediaJoin(
        app_id=p.app_id, channel=p.channel, uid=p.uid, token=p.token, expires_at=p.expires_at
    )


async def _call_command(
    info: Info[Context[VideoServices], None],
    call_id: str,
    run: Callable[[CallService, UUID, UUID], Awaitable[Call]],
) -> CallView | CallNotPossible | InvalidInput | NotFound:
    viewer = await info.context.viewer()
    parsed = _call_id(call_id)
    if isinstance(parsed, InvalidInput):
        return parsed
    service = info.context.services.calls
    return await result_of(run(service, viewer.user_id, parsed), call_view, VIDEO_ERRORS)


@strawberry.type
class VideoQuery:
    @strawberry.field(description="Your calls, newest first, as caller and as streamer.")
    async def calls(
        self, info: Info[Context[VideoServices], None], first: int = 20, before: float | None = None
    ) -> list[CallRecord]:
        viewer = await info.context.viewer()
        rows = await info.context.services.call_queries.history(
            viewer.user_id, limit=max(1, min(first, 100)), before=before
        )
        return [
            CallRecord(
                id=strawberry.ID(str(r.call_id)),
                peer_id=strawberry.ID(str(r.peer_id)),
                peer_name=r.peer_name,
                side=r.side,
                kind=r.kind,
                status=r.status,
                requested_at=r.requested_at,
                connected_at=r.connected_at,
                ended_at=r.ended_at,
                duration_seconds=r.duration_seconds,
                coins=r.coins,
                end_reason=r.end_reason,
                billed_seconds=r.billed_seconds,
                checkpoints=[
                    ChargedCheckpoint(at_second=c.at_second, coins=c.coins) for c in r.checkpoints
                ],
            )
            for r in rows
        ]


@strawberry.type
class VideoMutation:
    @strawberry.mutation(description="Call a streamer (`kind`: direct).")
    async def request_call(
        self, info: Info[Context[VideoServices], None], callee_id: str
    ) -> RequestCallResult:
        viewer = await info.context.viewer()
        callee = parse_uuid(callee_id, "calleeId", "user id")
        if isinstance(callee, InvalidInput):
            return callee
        if limited := await info.context.rate_limited("requestCall"):
            return limited
        service = info.context.services.calls
        ringing = service.request_call(viewer.user_id, callee, kind=CallKind.DIRECT)
        return await result_of(ringing, call_view, VIDEO_ERRORS)

    @strawberry.mutation(
        description="Answer a call ringing for you (the connect charge is taken); `deviceId` "
        "(from registerDevice) stops the ringing on your other devices but this one."
    )
    async def accept_call(
        self, info: Info[Context[VideoServices], None], call_id: str, device_id: str | None = None
    ) -> AcceptCallResult:
        return await _on_device(info, call_id, device_id, CallService.accept_call)

    @strawberry.mutation(description="Decline a call ringing for you (on device `deviceId`).")
    async def decline_call(
        self, info: Info[Context[VideoServices], None], call_id: str, device_id: str | None = None
    ) -> CallResult:
        declined = await _on_device(info, call_id, device_id, CallService.decline_call)
        assert not isinstance(declined, Suspended)  # declining is no suspended user's act
        return declined

    @strawberry.mutation(description="End (or cancel) a call; it is settled to the second.")
    async def hang_up(self, info: Info[Context[VideoServices], None], call_id: str) -> CallResult:
        return await _call_command(info, call_id, lambda s, u, c: s.hang_up(u, c))

    @strawberry.mutation(description="Get into the call's media channel (Agora token).")
    async def join_call(
        self, info: Info[Context[VideoServices], None], call_id: str
    ) -> JoinCallResult:
        return await _join(info, call_id, report=True)

    @strawberry.mutation(description="A fresh token for the call's channel, valid to paid time.")
    async def renew_call_token(
        self, info: Info[Context[VideoServices], None], call_id: str
    ) -> JoinCallResult:
        return await _join(info, call_id, report=False)

    @strawberry.mutation(description="You left the call's media channel (clients-report mode).")
    async def leave_call(
        self, info: Info[Context[VideoServices], None], call_id: str
    ) -> CallResult:
        if info.context.services.settings.media_events != "clients":
            return CallNotPossible(message="Agora reports who leaves; hang up to end the call")
        return await _call_command(info, call_id, lambda s, u, c: s.leave_media(u, c))

    @strawberry.mutation(description="Whether you take direct calls, and join the roulette.")
    async def set_availability(
        self, info: Info[Context[VideoServices], None], calls: bool, roulette: bool
    ) -> bool:
        viewer = await info.context.viewer()
        await info.context.services.calls.set_availability(
            viewer.user_id, calls=calls, roulette=roulette
        )
        return True


async def _join(
    info: Info[Context[VideoServices], None], call_id: str, *, report: bool
) -> JoinCallResult:
    viewer = await info.context.viewer()
    parsed = _call_id(call_id)
    if isinstance(parsed, InvalidInput):
        return parsed
    service = info.context.services.calls
    access = info.context.services.media
    report = report and info.context.services.settings.media_events == "clients"
    joining = service.join_media(viewer.user_id, parsed, access, report=report)
    return await result_of(joining, _media, VIDEO_ERRORS)


@strawberry.type
class VideoSubscription:
    @strawberry.subscription(description="Your calls' events, live; you are online while open.")
    async def call_events(
        self, info: Info[Context[VideoServices], None]
    ) -> AsyncGenerator[CallEvent, None]:
        viewer = await info.context.viewer()
        presence = info.context.services.presence
        stream = info.context.hub.subscribe(CALLS_CHANNEL, str(viewer.user_id))
        await presence.connected(viewer.user_id)
        try:
            async for change in stream:
                if change is RESYNC:
                    continue
                item = CallChanged.from_json(change.data)
                event = CallEvent(
                    type=item.type,
                    call_id=strawberry.ID(item.call_id),
                    at=item.at,
                    position=item.position,
                    reason=item.reason,
                    side=item.side,
                    coins=item.coins,
                    gift=_gift(item),
                )
                if item.type == "tokenRenewed":
                    event.media = await _renewed(info, UUID(item.call_id), viewer.user_id)
                    if event.media is None:
                        continue
                yield event
        finally:
            stream.close()
            await presence.disconnected(viewer.user_id)

    @strawberry.subscription(description="A streamer's earnings: today's total, then each credit.")
    async def earnings(
        self, info: Info[Context[VideoServices], None]
    ) -> AsyncGenerator[Earnings, None]:
        viewer = await info.context.viewer()
        queries = info.context.services.call_queries
        stream = info.context.hub.subscribe(EARNINGS_CHANNEL, str(viewer.user_id))
        try:
            today = await queries.earned_today(viewer.user_id)
            yield Earnings(call_id=None, coins=0, call_total=0, today=today, position=0)
            async for change in stream:
                if change is RESYNC:
                    continue
                credit = EarningsChanged.from_json(change.data)
                yield Earnings(
                    call_id=strawberry.ID(credit.call_id) if credit.call_id else None,
                    coins=credit.coins,
                    call_total=credit.call_total,
                    today=credit.today,
                    position=credit.position,
                    source=credit.source,
                    gift_name=credit.gift_name,
                )
        finally:
            stream.close()


def _gift(item: CallChanged) -> CallGift | None:
    if item.gift_id is None or item.gift_name is None or item.sender_id is None:
        return None
    return CallGift(
        id=strawberry.ID(item.gift_id),
        name=item.gift_name,
        sender_id=strawberry.ID(item.sender_id),
    )


async def _renewed(
    info: Info[Context[VideoServices], None], call_id: UUID, user_id: UUID
) -> MediaJoin | None:
    service = info.context.services.calls
    access = info.context.services.media
    try:
        return _media(await service.join_media(user_id, call_id, access, report=False))
    except CallError:  # over (or gone) by the time its renewal is read: nothing to send
        return None
