"""Reads of the balance read models."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from domains.balance.aggregate import AccountKind, account_id_of

_HISTORY_COLUMNS = "position, version, delta, balance, reason, transfer_id, counterparty, at"


@dataclass(frozen=True)
class Balance:
    coins: int
    version: int
    position: int


@dataclass(frozen=True)
class HistoryEntry:
    position: int
    version: int
    delta: int
    balance: int
    reason: str
    transfer_id: UUID
    counterparty: UUID
    at: datetime


class BalanceQueries:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def balance(self, owner_id: UUID, kind: AccountKind = AccountKind.WALLET) -> Balance:
        row = await self.pool.fetchrow(
            "SELECT coins, version, position FROM balance_accounts WHERE account_id = $1",
            account_id_of(owner_id, kind),
        )
        return Balance(row[0], row[1], row[2]) if row else Balance(0, 0, 0)

    async def history(
        self,
        owner_id: UUID,
        *,
        kind: AccountKind = AccountKind.WALLET,
        before_version: int | None = None,
        limit: int = 20,
    ) -> list[HistoryEntry]:
        """Newest first; `before_version` is the cursor of the previous page."""
        rows = await self.pool.fetch(
            f"SELECT {_HISTORY_COLUMNS} FROM balance_history "
            "WHERE account_id = $1 AND version < $2 "
            "ORDER BY version DESC LIMIT $3",
            account_id_of(owner_id, kind),
            before_version if before_version is not None else 2**62,
            limit,
        )
        return [HistoryEntry(*r) for r in rows]

    async def history_after(
        self,
        owner_id: UUID,
        position: int,
        *,
        kind: AccountKind = AccountKind.WALLET,
        limit: int = 20,
    ) -> list[HistoryEntry]:
        """Oldest first, the movements after log `position` (what a stream skipped)."""
        rows = await self.pool.fetch(
            f"SELECT {_HISTORY_COLUMNS} FROM balance_history "
            "WHERE account_id = $1 AND position > $2 "
            "ORDER BY version LIMIT $3",
            account_id_of(owner_id, kind),
            position,
            limit,
        )
        return [HistoryEntry(*r) for r in rows]

    async def ledger_total(self) -> int:
        """The sum over every account of the ledger: zero, always."""
        return int(await self.pool.fetchval("SELECT coalesce(sum(coins), 0) FROM balance_ledger"))
