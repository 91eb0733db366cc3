"""A history between users on the real log, written through the domains' services with a
manual clock: calls (direct, roulette, declined, answered but never connected), gifts and
messages, for the interaction read model's tests."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from app import Olo
from domains.billing.aggregate import CallKind
from domains.gift.aggregate import gift_id_of
from domains.profile.aggregate import Role
from domains.video.aggregate import Call, CallStatus, Side
from eventlog.clock import ManualClock


@dataclass(frozen=True)
class People:
    ann: UUID  # a user with coins
    bob: UUID  # a streamer
    cat: UUID  # another streamer
    dan: UUID  # another user


async def people(olo: Olo) -> People:
    profiles = olo.services.profiles
    await olo.services.tariffs.ensure_seeded()
    await olo.services.gift_catalog.ensure_seeded()
    ann, bob, cat, dan = [await profiles.register(u) for u in ("ann", "bob", "cat", "dan")]
    for streamer in (bob, cat):
        await profiles.set_role(streamer, Role.STREAMER)
        await olo.services.presence.connected(streamer)
        await olo.services.calls.set_availability(streamer, calls=True, roulette=True)
    for user in (ann, dan):
        await olo.services.balance.grant(user, 1000, key=f"grant/{user}")
    return People(ann, bob, cat, dan)


async def connected_call(
    olo: Olo,
    clock: ManualClock,
    caller: UUID,
    callee: UUID,
    seconds: float,
    kind: CallKind = CallKind.DIRECT,
) -> Call:
    """A call that connects, is billed for `seconds` and is hung up by the caller."""
    calls = olo.services.calls
    call = await calls.request_call(caller, callee, kind=kind)
    await calls.accept_call(callee, call.id)
    await calls.report_media(call.id, Side.CALLER, joined=True)
    joined = await calls.report_media(call.id, Side.STREAMER, joined=True)
    assert joined.status is CallStatus.CONNECTED
    clock.advance(seconds)
    await calls.bill(call.id)
    ended = await calls.hang_up(caller, call.id)
    assert ended.status is CallStatus.ENDED
    return ended


async def unconnected_calls(olo: Olo, caller: UUID, callee: UUID) -> None:
    """A declined call, and one answered and hung up before media (its charge refunded)."""
    calls = olo.services.calls
    declined = await calls.request_call(caller, callee)
    await calls.decline_call(callee, declined.id)
    answered = await calls.request_call(caller, callee)
    await calls.accept_call(callee, answered.id)
    ended = await calls.hang_up(caller, answered.id)
    assert ended.status is CallStatus.ENDED and ended.connected_at is None


async def gift(olo: Olo, sender: UUID, recipient: UUID, code: str, key: str) -> None:
    await olo.services.gifts.send(sender, recipient, gift_id_of(code), key=key)
