"""The blocklist domain's parts: blocks and their reasons, suspensions and fines."""

from __future__ import annotations

from domains.blocklist.projection import BlocklistProjection, SuspensionsProjection
from domains.blocklist.queries import BlocklistQueries
from domains.blocklist.review import ReviewService
from domains.blocklist.schema import BlocklistMutation, BlocklistQuery
from domains.blocklist.service import BlocklistService, ReviewRule
from domains.blocklist.services import BlocklistServices
from eventlog.wiring import Core, Domain, Parts

DOMAIN: Domain[BlocklistServices] = Domain(
    "blocklist",
    projections=(BlocklistProjection, SuspensionsProjection),
    query=(BlocklistQuery,),
    mutation=(BlocklistMutation,),
)


def wire(core: Core) -> Parts[BlocklistServices]:
    settings = core.settings
    rule = ReviewRule(settings.suspend_after_blocks, settings.suspend_window_hours * 3600)
    return Parts(
        BlocklistServices(
            BlocklistService(core.store, core.clock, rule),
            BlocklistQueries(core.pool),
            ReviewService(core.store, core.clock),
        ),
    )
