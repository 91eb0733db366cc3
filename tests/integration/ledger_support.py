"""The ledger recomputed from the raw log, independent of the store's cache and of the
projection: what an auditor would do with `eventlog_events` and the library's mapper."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent

from domains.balance.aggregate import AccountKind, account_id_of
from domains.balance.service import AccountRef, BalanceService, TransferReceipt, move
from eventlog.database import Connection
from eventlog.store import EventStore, Transaction

OPENED = "olo.balance:Account.Opened"
DEBITED = "olo.balance:Account.Debited"
CREDITED = "olo.balance:Account.Credited"
TRANSFER_MADE = "olo.balance:Transfer.Made"


def wallet_id(user_id: UUID) -> UUID:
    return account_id_of(user_id, AccountKind.WALLET)


def earnings_id(user_id: UUID) -> UUID:
    return account_id_of(user_id, AccountKind.EARNINGS)


async def transfer(
    service: BalanceService, key: str, source: UUID, target: UUID, amount: int
) -> TransferReceipt:
    """Wallet to wallet."""
    return await service.transfer(
        key=key,
        source=AccountRef.wallet(source),
        target=AccountRef.wallet(target),
        amount=amount,
        reason="transfer",
    )


async def pay(
    store: EventStore,
    key: str,
    source: UUID,
    target: UUID,
    amount: int,
    *,
    handed: asyncio.Event,
    after: asyncio.Event | None = None,
) -> TransferReceipt:
    """A wallet-to-wallet transfer that signals when its events are handed to the writer
    (and, if asked, starts only once another command has handed over its own)."""

    async def command(tx: Transaction) -> TransferReceipt:
        if after is not None:
            await after.wait()
        receipt = await move(
            tx,
            key=key,
            source=AccountRef.wallet(source),
            target=AccountRef.wallet(target),
            amount=amount,
            reason="transfer",
        )
        handed.set()  # transact() submits the events as soon as this returns, before any await
        return receipt

    return await store.transact(command)


@dataclass
class LedgerReplay:
    """Every account's story as the log tells it."""

    coins: dict[UUID, int] = field(default_factory=dict)  # user account -> last balance
    events: dict[UUID, int] = field(default_factory=dict)  # user account -> debits + credits
    ledger: dict[UUID, int] = field(default_factory=lambda: defaultdict(int))  # by transfers
    transfers: set[UUID] = field(default_factory=set)
    breaks: list[str] = field(default_factory=list)  # balances that do not follow from before
    lowest: int = 0  # the lowest balance any user account ever had

    def check(self, account: UUID, version: int, topic: str, event: Any) -> None:
        if topic == OPENED:
            if account in self.coins or version != 1:
                self.breaks.append(f"{account} v{version}: opened twice or late")
            self.coins[account] = 0
            self.events[account] = 0
            return
        before = self.coins.get(account)
        delta = -event.amount if topic == DEBITED else event.amount
        if before is None or event.balance != before + delta:
            self.breaks.append(
                f"{account} v{version}: {before} {delta:+d} recorded as {event.balance}"
            )
        self.coins[account] = event.balance
        self.events[account] = self.events.get(account, 0) + 1
        self.lowest = min(self.lowest, event.balance)


async def replay_ledger(conn: Connection, mapper: Mapper[Any]) -> LedgerReplay:
    """Decode every ledger event in version order and check each balance against the last."""
    rows = await conn.fetch(
        "SELECT originator_id, originator_version, topic, state FROM eventlog_events "
        "WHERE topic = ANY($1::text[]) ORDER BY originator_id, originator_version",
        [OPENED, DEBITED, CREDITED, TRANSFER_MADE],
    )
    replay = LedgerReplay()
    for oid, version, topic, state in rows:
        event: Any = mapper.to_domain_event(StoredEvent(oid, version, topic, state))
        if topic == TRANSFER_MADE:
            replay.transfers.add(oid)
            replay.ledger[event.source] -= event.amount
            replay.ledger[event.target] += event.amount
        else:
            replay.check(oid, version, topic, event)
    return replay


async def version_holes(conn: Connection) -> list[UUID]:
    """Aggregates whose stored versions are not exactly 1..n."""
    rows = await conn.fetch(
        "SELECT originator_id FROM eventlog_events GROUP BY originator_id "
        "HAVING min(originator_version) <> 1 OR max(originator_version) <> count(*) "
        "OR count(DISTINCT originator_version) <> count(*)"
    )
    return [r[0] for r in rows]
