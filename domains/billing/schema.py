"""GraphQL for tariffs."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from domains.billing.aggregate import Schedule
from domains.billing.services import BillingServices
from eventlog.api import Context


@strawberry.type(description="`coins` are due once a call has been connected `atSecond` s.")
class TariffCheckpoint:
    at_second: int
    coins: int


@strawberry.type(description="Checkpoints, then `repeatCoins` every `repeatEvery` s.")
class TariffSchedule:
    checkpoints: list[TariffCheckpoint]
    repeat_every: int
    repeat_coins: int

    @classmethod
    def of(cls, schedule: Schedule) -> TariffSchedule:
        return cls(
            checkpoints=[TariffCheckpoint(at_second=a, coins=c) for a, c in schedule.checkpoints],
            repeat_every=schedule.repeat_every,
            repeat_coins=schedule.repeat_coins,
        )


@strawberry.type(description="What a call of this kind costs the caller and earns the streamer.")
class CallTariff:
    kind: str
    version: int
    caller: TariffSchedule
    streamer: TariffSchedule


@strawberry.type
class BillingQuery:
    @strawberry.field(description="The current tariff of each call kind.")
    async def tariffs(self, info: Info[Context[BillingServices], None]) -> list[CallTariff]:
        await info.context.viewer()
        return [
            CallTariff(
                kind=t.kind,
                version=t.version,
                caller=TariffSchedule.of(t.caller),
                streamer=TariffSchedule.of(t.streamer),
            )
            for t in await info.context.services.tariff_queries.current()
        ]
