"""The balance domain's parts: the coin ledger, its read models and the balance stream."""

from __future__ import annotations

from dataclasses import dataclass

from domains.balance.policy import WelcomeBonusPolicy
from domains.balance.projection import BALANCE_CHANNEL, BalanceProjection
from domains.balance.queries import BalanceQueries
from domains.balance.schema import BalanceQuery, BalanceSubscription
from domains.balance.service import BalanceService
from eventlog.store import EventStore
from eventlog.wiring import Core, Domain, Parts


@dataclass(frozen=True)
class BalanceServices:
    balance: BalanceService
    balance_queries: BalanceQueries
    store: EventStore


DOMAIN: Domain[BalanceServices] = Domain(
    "balance",
    projections=(BalanceProjection,),
    channels=(BALANCE_CHANNEL,),
    query=(BalanceQuery,),
    subscription=(BalanceSubscription,),
)


def wire(core: Core) -> Parts[BalanceServices]:
    balance = BalanceService(core.store)
    return Parts(
        BalanceServices(balance, BalanceQueries(core.pool), core.store),
        policies=(WelcomeBonusPolicy(balance, core.settings.welcome_bonus_coins),),
    )
