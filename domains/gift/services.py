"""The gift domain's services and queries as one typed record: what its resolvers, higher
domains, tests and tools reach it by (`services.gifts`, `services.gift_catalog`)."""

from __future__ import annotations

from dataclasses import dataclass

from domains.gift.catalog import GiftCatalogService
from domains.gift.queries import GiftQueries
from domains.gift.service import GiftService


@dataclass(frozen=True)
class GiftServices:
    gifts: GiftService
    gift_catalog: GiftCatalogService
    gift_queries: GiftQueries
