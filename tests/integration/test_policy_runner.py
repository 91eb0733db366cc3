"""Policies with tracking: a crash between effect and tracking, a replay, or two runners at
once never give a welcome bonus twice."""

from __future__ import annotations

import asyncio
import contextlib
from uuid import UUID

import asyncpg
import pytest

from app import Olo, start
from domains.balance.aggregate import Account, AccountKind, PlatformAccount, account_id_of
from domains.balance.policy import WelcomeBonusPolicy
from domains.balance.projection import BalanceProjection
from domains.balance.service import AccountRef
from eventlog.policy import PolicyRunner
from eventlog.projection import LostTrackingError, ProjectionRunner
from eventlog.settings import Settings

BONUS = 50


def welcome_runner(olo: Olo, coins: int = BONUS) -> PolicyRunner:
    policy = WelcomeBonusPolicy(olo.services.balance, coins)
    return PolicyRunner(policy, olo.pool, olo.event_log.mapper)


async def run_to_head(runner: PolicyRunner) -> None:
    await runner.prepare()
    for _ in range(100):
        if await runner.run_page() == 0:
            return
    raise AssertionError("the policy never reached the head of the log")


async def register(olo: Olo, *uids: str) -> list[UUID]:
    return [await olo.services.profiles.register(uid) for uid in uids]


async def tracked(pg: asyncpg.Connection) -> int:
    position = await pg.fetchval(
        "SELECT position FROM olo_tracking WHERE name = 'balance.welcome_bonus'"
    )
    return int(position or 0)


async def head(pg: asyncpg.Connection) -> int:
    return int(await pg.fetchval("SELECT coalesce(max(notification_id), 0) FROM eventlog_events"))


async def transfers_with_key(pg: asyncpg.Connection, key: str) -> int:
    return int(
        await pg.fetchval(
            "SELECT count(*) FROM eventlog_events WHERE topic = 'olo.balance:Transfer.Made' "
            "AND convert_from(state, 'UTF8')::jsonb ->> 'key' = $1",
            key,
        )
    )


async def assert_welcomed_once(olo: Olo, pg: asyncpg.Connection, users: list[UUID]) -> None:
    """Each user: 50 coins in the log, one welcome transfer, one credit on the wallet."""
    balance = olo.services.balance
    for user in users:
        assert await balance.coins(AccountRef.wallet(user)) == BONUS
        assert await transfers_with_key(pg, f"welcome/{user}") == 1
        credits = await pg.fetchval(
            "SELECT count(*) FROM eventlog_events WHERE originator_id = $1 "
            "AND topic = 'olo.balance:Account.Credited'",
            account_id_of(user, AccountKind.WALLET),
        )
        assert credits == 1
    made = await pg.fetchval(
        "SELECT count(*) FROM eventlog_events WHERE topic = 'olo.balance:Transfer.Made'"
    )
    assert made == len(users)


async def assert_projected(olo: Olo, users: list[UUID]) -> None:
    """What the app shows: balances and a ledger that sums to zero."""
    projection = ProjectionRunner(BalanceProjection(), olo.pool, olo.event_log.mapper)
    await projection.prepare()
    await projection.catch_up()
    queries = olo.services.balance_queries
    assert [(await queries.balance(u)).coins for u in users] == [BONUS] * len(users)
    assert await queries.ledger_total() == 0
    promotions = await olo.pool.fetchval(
        "SELECT coins FROM balance_ledger WHERE account_id = $1",
        PlatformAccount.PROMOTIONS.account_id,
    )
    assert promotions == -BONUS * len(users)


async def test_a_newly_registered_user_gets_the_welcome_bonus(
    olo: Olo, pg: asyncpg.Connection
) -> None:
    [ann] = await register(olo, "ann")

    await run_to_head(welcome_runner(olo))

    await assert_welcomed_once(olo, pg, [ann])


async def test_a_command_that_cannot_be_saved_leaves_no_phantom_coins(olo: Olo) -> None:
    """Ids read with asyncpg (as policies and queries read them) are passed to commands."""
    [ann] = await register(olo, "ann")
    balance = olo.services.balance
    await balance.grant(ann, 100, key="grant/ann")
    newcomer = await olo.pool.fetchval("SELECT gen_random_uuid()")

    with contextlib.suppress(Exception):
        await balance.transfer(
            key="gift/1",
            source=AccountRef.wallet(ann),
            target=AccountRef.wallet(newcomer),
            amount=30,
            reason="gift",
        )

    wallet_id = account_id_of(ann, AccountKind.WALLET)
    stored: object = await asyncio.to_thread(lambda: olo.event_log.repository.get(wallet_id))
    assert isinstance(stored, Account)
    assert await balance.coins(AccountRef.wallet(ann)) == stored.coins


class WorkerDied(Exception):
    pass


async def test_a_crash_after_the_bonus_before_tracking_pays_no_one_twice(
    olo: Olo, pg: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = await register(olo, "ann", "bo", "cy", "dee")
    crashing = welcome_runner(olo)
    await crashing.prepare()

    async def die(*args: object) -> None:
        raise WorkerDied("killed between the effects and the tracking update")

    monkeypatch.setattr("eventlog.policy.advance_tracking", die)
    with pytest.raises(WorkerDied):
        await crashing.run_page()
    monkeypatch.undo()

    # The bonuses were paid, but the position says nothing was handled.
    assert await tracked(pg) == 0
    await assert_welcomed_once(olo, pg, users)

    await run_to_head(welcome_runner(olo))

    assert await tracked(pg) == await head(pg)
    await assert_welcomed_once(olo, pg, users)
    await assert_projected(olo, users)


async def test_effects_handled_by_hand_are_not_repeated_by_a_fresh_runner(
    olo: Olo, pg: asyncpg.Connection
) -> None:
    users = await register(olo, "ann", "bo", "cy")
    policy = WelcomeBonusPolicy(olo.services.balance, BONUS)
    rows = await pg.fetch(
        "SELECT notification_id, originator_id FROM eventlog_events "
        "WHERE topic = 'olo.profile:User.Registered' ORDER BY notification_id"
    )
    for row in rows[:2]:  # the worker died after handling two events of its page
        stored = await asyncio.to_thread(olo.event_log.events.get, row["originator_id"])
        await policy.handle(next(iter(stored)), row["notification_id"])
    assert await tracked(pg) == 0

    await run_to_head(PolicyRunner(policy, olo.pool, olo.event_log.mapper))

    await assert_welcomed_once(olo, pg, users)


async def test_a_replay_from_zero_changes_nothing_and_newcomers_still_get_the_bonus(
    olo: Olo, pg: asyncpg.Connection
) -> None:
    users = await register(olo, "ann", "bo")
    await run_to_head(welcome_runner(olo))
    await pg.execute("UPDATE olo_tracking SET position = 0 WHERE name = 'balance.welcome_bonus'")

    users += await register(olo, "cy")
    await run_to_head(welcome_runner(olo))

    assert await tracked(pg) == await head(pg)
    await assert_welcomed_once(olo, pg, users)
    await assert_projected(olo, users)


async def test_two_workers_running_the_policy_at_once_pay_each_user_once(
    olo: Olo, pg: asyncpg.Connection, settings: Settings, database_url: str
) -> None:
    users = await register(olo, *(f"user-{i}" for i in range(12)))
    other = await start(settings, database_url)  # a second process: its own writer and pool
    try:
        runners = [welcome_runner(olo), welcome_runner(other)]
        for runner in runners:
            await runner.prepare()

        results = await asyncio.gather(*(r.run_page() for r in runners), return_exceptions=True)

        assert [type(r) for r in results if isinstance(r, BaseException)] == [LostTrackingError]
        await assert_welcomed_once(olo, pg, users)
    finally:
        await other.close()
    await run_to_head(welcome_runner(olo))
    await assert_welcomed_once(olo, pg, users)
    await assert_projected(olo, users)


async def test_no_bonus_configured_moves_no_coins(olo: Olo, pg: asyncpg.Connection) -> None:
    await register(olo, "ann", "bo")

    await run_to_head(welcome_runner(olo, coins=0))

    assert await tracked(pg) == await head(pg)
    assert await pg.fetchval("SELECT count(*) FROM eventlog_events") == 2


class _Recording:
    """A policy that takes its time over each event and notes what overlapped."""

    name = "test.recording"
    topics = frozenset({"olo.profile:User.Registered", "olo.profile:User.RoleChanged"})

    def __init__(self, concurrency: int) -> None:
        self.concurrency = concurrency
        self.seen: dict[UUID, list[str]] = {}
        self.busy = 0
        self.most_at_once = 0

    async def handle(self, event: object, position: int) -> None:
        self.busy += 1
        self.most_at_once = max(self.most_at_once, self.busy)
        await asyncio.sleep(0.01)
        user = event.originator_id  # type: ignore[attr-defined]
        self.seen.setdefault(user, []).append(type(event).__name__)
        self.busy -= 1


@pytest.mark.parametrize("concurrency", [1, 8])
async def test_a_concurrent_policy_keeps_each_aggregates_events_in_order(
    olo: Olo, concurrency: int
) -> None:
    from domains.profile.aggregate import Role

    users = await register(olo, *(f"c{i}" for i in range(20)))
    for user in users:
        await olo.services.profiles.set_role(user, Role.STREAMER)
    policy = _Recording(concurrency)
    await run_to_head(PolicyRunner(policy, olo.pool, olo.event_log.mapper))

    assert policy.seen == {user: ["Registered", "RoleChanged"] for user in users}
    assert policy.most_at_once == concurrency  # 1: one at a time; 8: as many as allowed
