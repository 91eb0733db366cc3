"""The gift domain's parts: the catalog, sending gifts, and the streamer's notification."""

from __future__ import annotations

from domains.gift.catalog import GiftCatalogService
from domains.gift.policy import GiftReceivedPolicy
from domains.gift.projection import GiftCatalogProjection, GiftSendProjection
from domains.gift.queries import GiftQueries
from domains.gift.schema import GiftMutation, GiftQuery
from domains.gift.service import GiftService
from domains.gift.services import GiftServices
from domains.notification.services import NotificationServices
from eventlog.wiring import Core, Domain, Parts

DOMAIN: Domain[GiftServices] = Domain(
    "gift",
    projections=(GiftCatalogProjection, GiftSendProjection),
    query=(GiftQuery,),
    mutation=(GiftMutation,),
)


def wire(core: Core, notification: NotificationServices) -> Parts[GiftServices]:
    return Parts(
        GiftServices(
            GiftService(core.store, core.clock),
            GiftCatalogService(core.store),
            GiftQueries(core.pool),
        ),
        policies=(GiftReceivedPolicy(notification.notifications),),
    )
