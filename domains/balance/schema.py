"""GraphQL for coins: `me { balance }`, `balanceHistory`, and the live `balance` stream."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from enum import Enum

import strawberry
from strawberry.types import Info

from domains.balance.aggregate import AccountKind
from domains.balance.changes import BalanceChanged
from domains.balance.projection import BALANCE_CHANNEL
from domains.balance.queries import HistoryEntry
from domains.balance.services import BalanceServices
from domains.profile.schema import OwnProfile
from eventlog.api import Context, InvalidArgumentError
from eventlog.hub import RESYNC


@strawberry.type(description="Coins in your wallet, with the log position they are as of.")
class Balance:
    coins: int
    version: int = strawberry.field(description="How many changes the wallet has seen.")
    position: int = strawberry.field(description="Log position of the latest change.")


@strawberry.enum(description="Which of your accounts: your wallet, or a streamer's earnings.")
class BalanceAccount(Enum):
    WALLET = "wallet"
    EARNINGS = "earnings"


@strawberry.type(description="One movement of coins in or out of your wallet (or earnings).")
class BalanceEntry:
    delta: int
    balance: int
    reason: str
    at: datetime
    position: int
    cursor: str


@strawberry.type
class BalanceHistoryPage:
    entries: list[BalanceEntry]
    next_cursor: str | None = strawberry.field(
        description="Pass as `after` for older entries; null on the last page (and always "
        "with `afterPosition`: page on with the last entry's position)."
    )


@strawberry.type(description="You: your profile and your balance.")
class Me(OwnProfile):
    """The blocklist domain adds your standing and serves `me` (it is the higher layer)."""

    @strawberry.field
    async def balance(self, info: Info[Context[BalanceServices], None]) -> Balance:
        viewer = await info.context.viewer()
        b = await info.context.services.balance_queries.balance(viewer.user_id)
        return Balance(coins=b.coins, version=b.version, position=b.position)


def _entry(r: HistoryEntry) -> BalanceEntry:
    return BalanceEntry(
        delta=r.delta,
        balance=r.balance,
        reason=r.reason,
        at=r.at,
        position=r.position,
        cursor=str(r.version),
    )


def _cursor_version(after: str | None) -> int | None:
    if after is None:
        return None
    if not after.isdigit():
        raise InvalidArgumentError("`after` must be a cursor returned by balanceHistory")
    return int(after)


@strawberry.type
class BalanceQuery:
    @strawberry.field(
        description="Your wallet's movements, newest first; with `afterPosition`, the ones "
        "after that log position, oldest first (what the `balance` stream skipped); "
        "`account: EARNINGS`: a streamer's earnings instead (calls, gifts, payouts, fines)."
    )
    async def balance_history(
        self,
        info: Info[Context[BalanceServices], None],
        first: int = 20,
        after: str | None = None,
        after_position: int | None = None,
        account: BalanceAccount = BalanceAccount.WALLET,
    ) -> BalanceHistoryPage:
        viewer = await info.context.viewer()
        first = max(1, min(first, 100))
        queries = info.context.services.balance_queries
        kind = AccountKind(account.value)
        if after_position is not None:
            rows = await queries.history_after(
                viewer.user_id, after_position, kind=kind, limit=first
            )
            return BalanceHistoryPage(entries=[_entry(r) for r in rows], next_cursor=None)
        rows = await queries.history(
            viewer.user_id, kind=kind, before_version=_cursor_version(after), limit=first + 1
        )
        entries = [_entry(r) for r in rows[:first]]
        return BalanceHistoryPage(
            entries=entries, next_cursor=entries[-1].cursor if len(rows) > first else None
        )


@strawberry.type
class BalanceSubscription:
    @strawberry.subscription(
        description="Your balance now, then its latest state as it changes. Changes committed "
        "together, or while you read slowly, arrive as one item: a `version` more than one "
        "past the previous item's shows the gap; `balanceHistory(afterPosition:)` with the "
        "previous item's `position` lists the movements in between."
    )
    async def balance(
        self, info: Info[Context[BalanceServices], None]
    ) -> AsyncGenerator[Balance, None]:
        viewer = await info.context.viewer()
        queries = info.context.services.balance_queries
        stream = info.context.hub.subscribe(BALANCE_CHANNEL, str(viewer.user_id))
        try:
            current = await queries.balance(viewer.user_id)
            yield Balance(coins=current.coins, version=current.version, position=current.position)
            version = current.version
            async for change in stream:
                if change is RESYNC:
                    now = await queries.balance(viewer.user_id)
                    kind, latest = (
                        "wallet",
                        Balance(coins=now.coins, version=now.version, position=now.position),
                    )
                else:
                    changed = BalanceChanged.from_json(change.data)
                    kind, latest = (
                        changed.kind,
                        Balance(
                            coins=changed.coins, version=changed.version, position=changed.position
                        ),
                    )
                if kind != "wallet" or latest.version <= version:
                    continue
                version = latest.version
                yield latest
        finally:
            stream.close()
