"""What gets notified: NotificationService and the call notification policy on the
in-memory store. Given earlier commands, when one command (or one call event reacted to),
then the notification events committed or the typed error."""

from __future__ import annotations

import itertools
from typing import Any
from uuid import UUID

import pytest
from fakes.world import World, topics

from domains.notification.aggregate import (
    CannotMuteCallsError,
    CannotMuteError,
    Notification,
    NotificationKind,
    Preferences,
    notification_id_of,
    preferences_id_of,
)
from domains.notification.policy import CallNotificationPolicy, CallsOnUnmutePolicy
from domains.notification.service import UnknownNotificationError

INCOMING = NotificationKind.INCOMING_CALL


def _notifications(events: list[Any]) -> list[Any]:
    return [e for e in events if type(e).TOPIC.startswith("olo.notification:Notification.")]


async def _react(world: World) -> list[Any]:
    """Feed the call notification policy what was committed, as its runner would; the
    notification events that reacting committed."""
    policy = CallNotificationPolicy(world.notifications, world.balance)
    events = world.store.take_events()
    for event in events:
        if type(event).TOPIC in policy.topics:
            await policy.handle(event, 0)
    return _notifications(world.store.take_events())


async def _notification(world: World, key: str) -> Notification:
    found = await world.store.load(notification_id_of(key))
    assert isinstance(found, Notification)
    return found


async def test_one_notification_per_key_however_often_it_is_asked_for() -> None:
    world = World()
    ann = await world.user("ann")
    world.store.take_events()

    first = await world.notifications.notify(ann, INCOMING, {"callId": "c"}, key="call/c/in")
    again = await world.notifications.notify(ann, INCOMING, {"callId": "c"}, key="call/c/in")

    assert first == again == notification_id_of("call/c/in")
    [requested] = world.store.take_events()
    assert type(requested).TOPIC == "olo.notification:Notification.Requested"
    assert (requested.recipient_id, requested.ack_deadline) == (ann, world.clock.now() + 15)


async def test_a_muted_kind_is_not_recorded_at_all() -> None:
    world = World()
    ann = await world.user("ann")
    await world.notifications.set_muted(ann, NotificationKind.LOW_BALANCE, True)
    world.store.take_events()

    asked = await world.notifications.notify(
        ann, NotificationKind.LOW_BALANCE, {"coins": 1}, key="low/1"
    )

    assert asked is None
    assert world.store.take_events() == []


@pytest.mark.parametrize("online", [True, False])
async def test_incoming_calls_cannot_be_muted_by_a_streamer_who_takes_calls(online: bool) -> None:
    world = World()
    sam = await world.streamer("sam", online=online)
    world.store.take_events()

    with pytest.raises(CannotMuteCallsError):
        await world.notifications.set_muted(sam, INCOMING, True)
    assert world.store.take_events() == []

    await world.calls.set_availability(sam, calls=False, roulette=False)  # calls off
    muted = await world.notifications.set_muted(sam, INCOMING, True)
    assert muted == {INCOMING}
    assert topics(world.store.take_events())[-1] == "olo.notification:Preferences.Muted"


async def test_a_plain_user_online_or_a_streamer_with_calls_off_may_mute_incoming_calls() -> None:
    world = World()
    ann, sam = await world.user("ann"), await world.streamer("sam")
    await world.calls.set_availability(sam, calls=False, roulette=False)
    world.online.add(ann)

    for user in (ann, sam):
        assert await world.notifications.set_muted(user, INCOMING, True) == {INCOMING}


async def test_the_dismissal_of_ringing_can_never_be_muted() -> None:
    world = World()
    ann = await world.user("ann")
    with pytest.raises(CannotMuteError):
        await world.notifications.set_muted(ann, NotificationKind.RINGING_ENDED, True)


async def test_only_the_recipient_acknowledges() -> None:
    world = World()
    ann, bob = await world.user("ann"), await world.user("bob")
    await world.notifications.notify(ann, INCOMING, {}, key="k")
    world.store.take_events()

    with pytest.raises(UnknownNotificationError):
        await world.notifications.acknowledge(bob, notification_id_of("k"))
    await world.notifications.acknowledge(ann, notification_id_of("k"))
    assert topics(world.store.take_events()) == ["olo.notification:Notification.Acknowledged"]


async def _ringing(world: World) -> tuple[UUID, UUID, UUID]:
    ann, sam = await world.user("ann", coins=100), await world.streamer("sam")
    call = await world.calls.request_call(ann, sam)
    [incoming] = await _react(world)
    assert (incoming.kind, incoming.recipient_id) == (INCOMING, sam)
    return ann, sam, call.id


async def test_a_call_answered_before_any_push_withdraws_the_ring_and_pushes_nothing() -> None:
    world = await World.seeded()
    _ann, sam, call_id = await _ringing(world)

    await world.calls.accept_call(sam, call_id)

    assert topics(await _react(world)) == ["olo.notification:Notification.Withdrawn"]
    ring = await _notification(world, f"call/{call_id}/in")
    assert ring.status == "withdrawn"


async def test_a_call_answered_after_its_push_began_dismisses_the_other_devices() -> None:
    world = await World.seeded()
    _ann, sam, call_id = await _ringing(world)
    assert await world.notifications.begin_push(notification_id_of(f"call/{call_id}/in"))
    device = UUID(int=7)
    world.store.take_events()

    await world.calls.accept_call(sam, call_id, device)

    [dismissal] = await _react(world)
    assert (dismissal.kind, dismissal.recipient_id) == (NotificationKind.RINGING_ENDED, sam)
    assert dismissal.payload == {"callId": str(call_id), "reason": "answered"}
    assert dismissal.skip_device_id == device  # the device that answered keeps quiet


async def _talk_25_seconds_and_hang_up(world: World, coins: int) -> tuple[UUID, list[Any]]:
    """A direct call talked through its 20 s checkpoint (9 + 60 coins); its caller, and the
    notifications reacting to it all committed."""
    from domains.video.aggregate import Side

    ann, sam = await world.user("ann", coins=coins), await world.streamer("sam")
    call = await world.calls.request_call(ann, sam)
    await world.calls.accept_call(sam, call.id)
    for side in (Side.CALLER, Side.STREAMER):
        await world.calls.report_media(call.id, side, joined=True)
    world.clock.advance(25)
    await world.calls.bill(call.id)
    await world.calls.hang_up(ann, call.id)
    return ann, await _react(world)


@pytest.mark.parametrize(("coins", "warned"), [(133, True), (138, False)])
async def test_low_balance_after_a_call_is_what_the_next_call_s_first_minute_costs(
    coins: int, warned: bool
) -> None:
    """The seed's first minute is 9 + 60 = 69 coins: a caller left with 64 would be cut off
    at 20 s and is warned; one left with 69 is not."""
    world = await World.seeded()
    ann, notified = await _talk_25_seconds_and_hang_up(world, coins)

    low = [n for n in notified if getattr(n, "kind", None) == NotificationKind.LOW_BALANCE]
    assert [(n.recipient_id, n.payload["coins"]) for n in low] == (
        [(ann, coins - 69)] if warned else []
    )


async def test_low_balance_follows_the_current_direct_tariff() -> None:
    from domains.billing.aggregate import CallKind, Schedule

    world = await World.seeded()
    ann, notified = await _talk_25_seconds_and_hang_up(world, 169)  # 100 left
    assert not [n for n in notified if getattr(n, "kind", None) == NotificationKind.LOW_BALANCE]

    dearer = Schedule(((0, 50), (30, 100)), 60, 100)  # a first minute of 150
    await world.tariffs.revise(CallKind.DIRECT, dearer, Schedule(((20, 30),), 60, 30))
    tom = await world.streamer("tom")
    call = await world.calls.request_call(ann, tom)
    await world.calls.accept_call(tom, call.id)
    await world.calls.hang_up(ann, call.id)  # before connecting: the 50 is refunded
    notified = await _react(world)

    low = [n for n in notified if getattr(n, "kind", None) == NotificationKind.LOW_BALANCE]
    assert [(n.recipient_id, n.payload["coins"]) for n in low] == [(ann, 100)]


ORDERS = [
    *itertools.permutations(("mute", "calls_on", "online")),
    *itertools.permutations(("mute", "calls_on")),  # stays offline, rung through a device
]


@pytest.mark.parametrize("order", ORDERS, ids="-".join)
async def test_in_any_order_of_mute_calls_on_and_online_a_call_that_rings_notifies(
    order: tuple[str, ...],
) -> None:
    """One rule: incoming calls are muted only while calls are off; turning calls on
    unmutes them (the policy, and `notify` itself before the policy has run)."""
    world = await World.seeded()
    ann, sam = await world.user("ann", coins=100), await world.streamer("sam", online=False)
    world.with_devices.add(sam)
    await world.calls.set_availability(sam, calls=False, roulette=False)
    unmute = CallsOnUnmutePolicy(world.notifications)
    refused = []
    for step in order:
        if step == "mute":
            try:
                await world.notifications.set_muted(sam, INCOMING, True)
            except CannotMuteCallsError:
                refused.append(step)
        elif step == "calls_on":
            await world.calls.set_availability(sam, calls=True, roulette=False)
        else:
            world.online.add(sam)
    assert refused == (["mute"] if order.index("mute") > order.index("calls_on") else [])

    call = await world.calls.request_call(ann, sam)  # before the unmute policy has run
    incoming = [n for n in await _react(world) if getattr(n, "kind", None) == INCOMING]
    assert [(n.recipient_id, n.payload["callId"]) for n in incoming] == [(sam, str(call.id))]

    for event in world.store.take_events():
        if type(event).TOPIC in unmute.topics:
            await unmute.handle(event, 0)
    assert INCOMING not in await world.notifications.set_muted(sam, INCOMING, False)


async def test_the_policy_unmutes_when_calls_are_turned_on() -> None:
    world = World()
    sam = await world.streamer("sam", online=False)
    await world.calls.set_availability(sam, calls=False, roulette=True)
    await world.notifications.set_muted(sam, INCOMING, True)
    await world.notifications.set_muted(sam, NotificationKind.LOW_BALANCE, True)
    await world.calls.set_availability(sam, calls=False, roulette=False)
    await world.calls.set_availability(sam, calls=True, roulette=False)
    policy = CallsOnUnmutePolicy(world.notifications)
    for event in world.store.take_events():
        if type(event).TOPIC in policy.topics:
            await policy.handle(event, 0)

    assert topics(world.store.take_events()) == ["olo.notification:Preferences.Unmuted"]
    prefs = await world.store.load(preferences_id_of(sam))
    assert isinstance(prefs, Preferences) and prefs.muted == {NotificationKind.LOW_BALANCE}
