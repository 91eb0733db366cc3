"""The balance domain's parts: the coin ledger, its read models and the balance stream."""

from __future__ import annotations

from domains.balance.policy import WelcomeBonusPolicy
from domains.balance.projection import BALANCE_CHANNEL, BalanceProjection
from domains.balance.queries import BalanceQueries
from domains.balance.schema import BalanceQuery, BalanceSubscription
from domains.balance.service import BalanceService
from domains.balance.services import BalanceServices
from domains.profile.services import ProfileServices
from eventlog.wiring import Core, Domain, Parts

DOMAIN: Domain[BalanceServices] = Domain(
    "balance",
    projections=(BalanceProjection,),
    channels=(BALANCE_CHANNEL,),
    query=(BalanceQuery,),
    subscription=(BalanceSubscription,),
)


def wire(core: Core, profile: ProfileServices) -> Parts[BalanceServices]:
    balance = BalanceService(core.store)
    return Parts(
        BalanceServices(balance, BalanceQueries(core.pool), profile.profiles),
        policies=(WelcomeBonusPolicy(balance, core.settings.welcome_bonus_coins),),
    )
