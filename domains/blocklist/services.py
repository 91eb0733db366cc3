"""The blocklist domain's services and queries as one typed record: what its resolvers, higher
domains, tests and tools reach it by (`services.blocklist`, `services.review`)."""

from __future__ import annotations

from dataclasses import dataclass

from domains.blocklist.queries import BlocklistQueries
from domains.blocklist.review import ReviewService
from domains.blocklist.service import BlocklistService


@dataclass(frozen=True)
class BlocklistServices:
    blocklist: BlocklistService
    blocklist_queries: BlocklistQueries
    review: ReviewService
