"""Commands on tariffs: publish the seed once, revise live (a new version each time)."""

from __future__ import annotations

from domains.billing.aggregate import (
    SEED_CALLER,
    SEED_STREAMER,
    SUPERSEDED_SEEDS,
    CallKind,
    Schedule,
    Tariff,
    tariff_id_of,
)
from eventlog.store import AggregateStore, Transaction


class TariffService:
    def __init__(self, store: AggregateStore) -> None:
        self.store = store

    async def ensure_seeded(self) -> None:
        """Publish the seed tariff for every call kind that has none yet, and as a new
        version where an earlier seed is still current (operators' edits are kept)."""
        for kind in CallKind:

            async def command(tx: Transaction, kind: CallKind = kind) -> None:
                tariff = await tx.get(tariff_id_of(kind), Tariff)
                if tariff is None:
                    tx.add(Tariff.publish(kind, SEED_CALLER, SEED_STREAMER))
                elif (tariff.caller, tariff.streamer) in SUPERSEDED_SEEDS:
                    tariff.revise(SEED_CALLER, SEED_STREAMER)

            await self.store.transact(command)

    async def revise(self, kind: CallKind, caller: Schedule, streamer: Schedule) -> int:
        """Set a call kind's schedules; returns the new version. Raises InvalidTariffError."""

        async def command(tx: Transaction) -> int:
            tariff = await tx.get(tariff_id_of(kind), Tariff)
            if tariff is None:
                tariff = Tariff.publish(kind, caller, streamer)
                tx.add(tariff)
            else:
                tariff.revise(caller, streamer)
            return tariff.version

        return await self.store.transact(command)
