"""Sending a gift: GiftService on the in-memory store. Given (earlier commands), when (one
send), then the coins moved (and the ledger still sums to zero), or the typed error and
nothing committed."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from uuid import UUID, uuid4

import pytest
from fakes.world import World, topics

from domains.balance.aggregate import Account, InsufficientFundsError, PlatformAccount, Transfer
from domains.balance.service import AccountRef
from domains.gift.aggregate import (
    CallNotOngoingError,
    GiftBlockedError,
    GiftInactiveError,
    GiftSend,
    KeyReusedError,
    NotAStreamerError,
    SelfGiftError,
    UnknownGiftError,
    gift_id_of,
)
from domains.gift.catalog import GiftCatalogService
from domains.gift.service import GiftService
from domains.video.aggregate import Side
from eventlog.text import InvalidTextError

ROSE, TEDDY = gift_id_of("rose"), gift_id_of("teddy")  # seed: 10 coins 50 %, 100 coins 60 %


async def gifted_world() -> tuple[World, GiftService, GiftCatalogService]:
    world = await World.seeded()
    catalog = GiftCatalogService(world.store)
    await catalog.ensure_seeded()
    await catalog.ensure_seeded()  # idempotent
    world.store.take_events()
    return world, GiftService(world.store, world.clock), catalog


async def coins(world: World, ref: AccountRef) -> int:
    account = await world.store.load(ref.account_id)
    return account.coins if isinstance(account, Account) else 0


def ledger(world: World) -> dict[UUID, int]:
    """Every account's coins, from the transfers alone (an independent audit)."""
    totals: dict[UUID, int] = defaultdict(int)
    for e in world.store.committed:
        if isinstance(e, Transfer.Made):
            totals[e.source] -= e.amount
            totals[e.target] += e.amount
    return totals


async def test_a_gift_moves_the_price_and_the_ledger_sums_to_zero() -> None:
    world, gifts, _ = await gifted_world()
    ann, sam = await world.user("ann", coins=150), await world.streamer("sam")
    world.store.take_events()

    sent = await gifts.send(ann, sam, TEDDY, key="k1")

    assert (sent.coins, sent.streamer_coins, sent.sender_balance, sent.replayed) == (
        100,
        60,
        50,
        False,
    )
    assert await coins(world, AccountRef.wallet(ann)) == 50
    assert await coins(world, AccountRef.earnings(sam)) == 60
    totals = ledger(world)
    assert sum(totals.values()) == 0
    assert totals[AccountRef.platform(PlatformAccount.PROMOTIONS).account_id] == -150
    assert totals[AccountRef.platform(PlatformAccount.REVENUE).account_id] == 40
    events = world.store.take_events()
    assert "olo.gift:GiftSend.Sent" in topics(events)
    (made,) = [e for e in events if isinstance(e, GiftSend.Sent)]
    assert (made.sender_id, made.recipient_id, made.gift_id, made.name, made.coins) == (
        ann,
        sam,
        TEDDY,
        "Teddy bear",
        100,
    )
    assert made.call_id is None


async def test_the_same_key_again_answers_the_first_send_and_moves_nothing() -> None:
    world, gifts, _ = await gifted_world()
    ann, sam = await world.user("ann", coins=150), await world.streamer("sam")
    first = await gifts.send(ann, sam, TEDDY, key="k1")
    world.store.take_events()

    again = await gifts.send(ann, sam, TEDDY, key="k1")  # 50 left: could not pay again anyway

    assert again.replayed and again.send_id == first.send_id and again.sender_balance == 50
    assert world.store.take_events() == []
    with pytest.raises(KeyReusedError):
        await gifts.send(ann, sam, ROSE, key="k1")


async def test_two_sends_with_one_key_at_once_charge_once() -> None:
    world, gifts, _ = await gifted_world()
    ann, sam = await world.user("ann", coins=1000), await world.streamer("sam")

    results = await asyncio.gather(*(gifts.send(ann, sam, TEDDY, key="same") for _ in range(2)))

    assert sorted(r.replayed for r in results) == [False, True]
    assert await coins(world, AccountRef.wallet(ann)) == 900


async def test_refusals_commit_nothing() -> None:
    world, gifts, catalog = await gifted_world()
    ann, sam = await world.user("ann", coins=50), await world.streamer("sam")
    bob = await world.user("bob", coins=50)
    await catalog.set_active(ROSE, False)
    await world.blocklist.block(sam, bob)
    world.store.take_events()
    heart = gift_id_of("heart")
    refusals: list[tuple[UUID, UUID, UUID, str, UUID | None, type[Exception]]] = [
        (ann, sam, TEDDY, "k", None, InsufficientFundsError),
        (ann, ann, TEDDY, "k", None, SelfGiftError),
        (ann, bob, heart, "k", None, NotAStreamerError),
        (ann, uuid4(), heart, "k", None, NotAStreamerError),
        (ann, sam, uuid4(), "k", None, UnknownGiftError),
        (ann, sam, sam, "k", None, UnknownGiftError),  # an id of something else
        (ann, sam, ROSE, "k", None, GiftInactiveError),
        (bob, sam, heart, "k", None, GiftBlockedError),
        (ann, sam, heart, "k", uuid4(), CallNotOngoingError),
        (ann, sam, heart, "has space", None, InvalidTextError),
    ]
    for sender, recipient, gift, key, call_id, error in refusals:
        with pytest.raises(error):
            await gifts.send(sender, recipient, gift, key=key, call_id=call_id)
    assert world.store.take_events() == []
    assert await coins(world, AccountRef.wallet(ann)) == 50


async def test_a_gift_in_a_call_can_warn_the_caller_at_once() -> None:
    world, gifts, _ = await gifted_world()
    ann, sam = await world.user("ann", coins=170), await world.streamer("sam")
    call = await world.calls.request_call(ann, sam)
    await world.calls.accept_call(sam, call.id)  # 9 paid, 161 left: covers the 60 at 20 s
    for side in Side:
        await world.calls.report_media(call.id, side, joined=True)
    world.store.take_events()

    sent = await gifts.send(ann, sam, TEDDY, key="k", call_id=call.id)  # 61 left

    assert sent.call_id == call.id
    assert "olo.video:Call.EndingSoon" not in topics(world.store.take_events())
    await gifts.send(ann, sam, gift_id_of("heart"), key="k2", call_id=call.id)  # 31 left
    assert "olo.video:Call.EndingSoon" in topics(world.store.take_events())
