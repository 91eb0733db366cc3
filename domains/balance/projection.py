"""Balance read models: account balances, balance history and the platform ledger."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from domains.balance.aggregate import Account, Transfer
from domains.balance.changes import BalanceChanged
from eventlog.database import Connection, SchemaConnection
from eventlog.projection import Recorded

BALANCE_CHANNEL = "olo_balance"

_TABLES = """
CREATE TABLE IF NOT EXISTS balance_accounts (
    account_id uuid PRIMARY KEY,
    owner_id uuid NOT NULL,
    kind text NOT NULL,
    coins bigint NOT NULL,
    version bigint NOT NULL,
    position bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS balance_accounts_owner ON balance_accounts (owner_id);
CREATE TABLE IF NOT EXISTS balance_history (
    account_id uuid NOT NULL,
    version bigint NOT NULL,
    position bigint NOT NULL,
    delta bigint NOT NULL,
    balance bigint NOT NULL,
    reason text NOT NULL,
    transfer_id uuid NOT NULL,
    counterparty uuid NOT NULL,
    at timestamptz NOT NULL,
    PRIMARY KEY (account_id, version)
);
CREATE TABLE IF NOT EXISTS balance_ledger (
    account_id uuid PRIMARY KEY,
    coins bigint NOT NULL,
    position bigint NOT NULL
);
"""


class BalanceProjection:
    """One handler per event kind, applied a page at a time with set-based SQL."""

    name = "balance"
    topics = frozenset(
        {
            Account.Opened.TOPIC,
            Account.Debited.TOPIC,
            Account.Credited.TOPIC,
            Transfer.Made.TOPIC,
        }
    )

    async def create_tables(self, conn: SchemaConnection) -> None:
        await conn.execute(_TABLES)

    async def clear(self, conn: Connection) -> None:
        await conn.execute("TRUNCATE balance_accounts, balance_history, balance_ledger")

    async def apply(
        self, conn: Connection, events: Sequence[Recorded]
    ) -> dict[str, list[tuple[str, Any]]]:
        opened: list[tuple[UUID, UUID, str, int]] = []
        latest: dict[UUID, tuple[int, int, int]] = {}  # account -> (coins, version, position)
        history: list[tuple[Any, ...]] = []
        ledger: dict[UUID, list[int]] = defaultdict(lambda: [0, 0])
        for recorded in events:
            e, position = recorded.event, recorded.position
            if isinstance(e, Account.Debited | Account.Credited):
                delta = -e.amount if isinstance(e, Account.Debited) else e.amount
                latest[e.originator_id] = (e.balance, e.originator_version, position)
                history.append(
                    (
                        e.originator_id,
                        e.originator_version,
                        position,
                        delta,
                        e.balance,
                        e.reason,
                        e.transfer_id,
                        e.counterparty,
                        e.timestamp,
                    )
                )
            elif isinstance(e, Account.Opened):
                opened.append((e.originator_id, e.owner_id, str(e.kind), position))
                latest.setdefault(e.originator_id, (0, e.originator_version, position))
            elif isinstance(e, Transfer.Made):
                ledger[e.source][0] -= e.amount
                ledger[e.target][0] += e.amount
                ledger[e.source][1] = ledger[e.target][1] = position
        if opened:
            await conn.executemany(
                "INSERT INTO balance_accounts (account_id, owner_id, kind, coins, version, "
                "position) VALUES ($1, $2, $3, 0, 1, $4) ON CONFLICT DO NOTHING",
                opened,
            )
        if history:
            await conn.copy_records_to_table(
                "balance_history", records=history, columns=_HISTORY_COLUMNS
            )
        if ledger:
            await conn.execute(
                "INSERT INTO balance_ledger (account_id, coins, position) "
                "SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::bigint[]) "
                "ON CONFLICT (account_id) DO UPDATE SET "
                "coins = balance_ledger.coins + excluded.coins, position = excluded.position",
                list(ledger),
                [v[0] for v in ledger.values()],
                [v[1] for v in ledger.values()],
            )
        if not latest:
            return {}
        rows = await conn.fetch(
            "UPDATE balance_accounts b SET coins = u.c, version = u.v, position = u.p "
            "FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::bigint[]) AS u(a, c, v, p) "
            "WHERE b.account_id = u.a RETURNING b.owner_id, b.kind, b.coins, b.version, b.position",
            list(latest),
            [v[0] for v in latest.values()],
            [v[1] for v in latest.values()],
            [v[2] for v in latest.values()],
        )
        return {
            BALANCE_CHANNEL: [
                (
                    str(r["owner_id"]),
                    BalanceChanged(r["kind"], r["coins"], r["version"], r["position"]).to_json(),
                )
                for r in rows
            ]
        }


_HISTORY_COLUMNS = [
    "account_id",
    "version",
    "position",
    "delta",
    "balance",
    "reason",
    "transfer_id",
    "counterparty",
    "at",
]
