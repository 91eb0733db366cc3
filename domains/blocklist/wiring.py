"""The blocklist domain's parts: blocks and their reasons."""

from __future__ import annotations

from dataclasses import dataclass

from domains.blocklist.projection import BlocklistProjection
from domains.blocklist.queries import BlocklistQueries
from domains.blocklist.schema import BlocklistMutation, BlocklistQuery
from domains.blocklist.service import BlocklistService
from eventlog.wiring import Core, Domain, Parts


@dataclass(frozen=True)
class BlocklistServices:
    blocklist: BlocklistService
    blocklist_queries: BlocklistQueries


DOMAIN: Domain[BlocklistServices] = Domain(
    "blocklist",
    projections=(BlocklistProjection,),
    query=(BlocklistQuery,),
    mutation=(BlocklistMutation,),
)


def wire(core: Core) -> Parts[BlocklistServices]:
    return Parts(
        BlocklistServices(BlocklistService(core.store), BlocklistQueries(core.pool)),
    )
