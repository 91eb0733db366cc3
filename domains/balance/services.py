"""The balance domain's services and queries as one typed record: what its resolvers, higher
domains, tests and tools reach it by (`services.balance`)."""

from __future__ import annotations

from dataclasses import dataclass

from domains.balance.queries import BalanceQueries
from domains.balance.service import BalanceService
from domains.profile.service import ProfileService


@dataclass(frozen=True)
class BalanceServices:
    balance: BalanceService
    balance_queries: BalanceQueries
    profiles: ProfileService
