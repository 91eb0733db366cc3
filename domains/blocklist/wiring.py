"""The blocklist domain's parts: blocks and their reasons."""

from __future__ import annotations

from domains.blocklist.projection import BlocklistProjection
from domains.blocklist.queries import BlocklistQueries
from domains.blocklist.schema import BlocklistMutation, BlocklistQuery
from domains.blocklist.service import BlocklistService
from domains.blocklist.services import BlocklistServices
from eventlog.wiring import Core, Domain, Parts

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
