"""Races on calls, on real PostgreSQL: many callers ringing one streamer at once, and a
caller hanging up while answering happens."""

from __future__ import annotations

import asyncio

from app import Olo
from domains.balance.service import AccountRef
from domains.profile.aggregate import Role
from domains.video.aggregate import Call, CallStatus, Side
from domains.video.lines import Line, line_id_of
from domains.video.ringing import CalleeUnavailableError


async def test_ten_callers_at_once_ring_a_streamer_once(olo: Olo) -> None:
    profiles, calls = olo.services.profiles, olo.services.calls
    await olo.services.tariffs.ensure_seeded()
    streamer = await profiles.register("star")
    await profiles.set_role(streamer, Role.STREAMER)
    await olo.services.presence.connected(streamer)
    callers = [await profiles.register(f"fan-{i}") for i in range(10)]
    for caller in callers:
        await olo.services.balance.grant(caller, 100, key=f"race/{caller}")

    results = await asyncio.gather(
        *(calls.request_call(c, streamer) for c in callers), return_exceptions=True
    )

    rang = [r for r in results if isinstance(r, Call)]
    assert len(rang) == 1, results
    assert all(isinstance(r, CalleeUnavailableError) for r in results if r not in rang)
    line = await olo.store.load(line_id_of(streamer), fresh=True)
    assert isinstance(line, Line) and line.call_id == rang[0].id
    # nobody paid for ringing; the one call is still ringing
    for caller in callers:
        assert await olo.services.balance.coins(AccountRef.wallet(caller)) == 100
    call = await olo.store.load(rang[0].id, fresh=True)
    assert isinstance(call, Call) and call.status is CallStatus.RINGING


async def test_hanging_up_while_the_streamer_answers_charges_nothing_twice(olo: Olo) -> None:
    profiles, calls = olo.services.profiles, olo.services.calls
    await olo.services.tariffs.ensure_seeded()
    streamer = await profiles.register("star")
    await profiles.set_role(streamer, Role.STREAMER)
    await olo.services.presence.connected(streamer)
    caller = await profiles.register("fan")
    await olo.services.balance.grant(caller, 100, key="race/fan")
    for _ in range(5):
        call = await calls.request_call(caller, streamer)
        outcomes = await asyncio.gather(
            calls.accept_call(streamer, call.id),
            calls.hang_up(caller, call.id),
            return_exceptions=True,
        )
        final = await olo.store.load(call.id, fresh=True)
        assert isinstance(final, Call) and not final.is_open, outcomes
        # answered then ended before connecting (refund), or cancelled while ringing
        assert final.coins[Side.CALLER] == 0, (final.status, final.coins)
    assert await olo.services.balance.coins(AccountRef.wallet(caller)) == 100
