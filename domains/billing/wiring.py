"""The billing domain's parts: tariffs, versioned and editable live."""

from __future__ import annotations

from domains.billing.projection import TariffProjection
from domains.billing.queries import TariffQueries
from domains.billing.schema import BillingQuery
from domains.billing.service import TariffService
from domains.billing.services import BillingServices
from eventlog.wiring import Core, Domain, Parts

DOMAIN: Domain[BillingServices] = Domain(
    "billing", projections=(TariffProjection,), query=(BillingQuery,)
)


def wire(core: Core) -> Parts[BillingServices]:
    return Parts(
        BillingServices(TariffService(core.store), TariffQueries(core.pool)),
    )
