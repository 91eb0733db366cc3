"""The billing domain's services and queries as one typed record: what its resolvers, higher
domains, tests and tools reach it by (`services.tariffs`)."""

from __future__ import annotations

from dataclasses import dataclass

from domains.billing.queries import TariffQueries
from domains.billing.service import TariffService


@dataclass(frozen=True)
class BillingServices:
    tariffs: TariffService
    tariff_queries: TariffQueries
