"""The interaction domain's parts: the per-pair read model and its queries."""

from __future__ import annotations

from domains.interaction.projection import InteractionProjection
from domains.interaction.queries import InteractionQueries
from domains.interaction.schema import InteractionQuery
from domains.interaction.services import InteractionServices
from domains.profile.services import ProfileServices
from eventlog.wiring import Core, Domain, Parts

DOMAIN: Domain[InteractionServices] = Domain(
    "interaction",
    projections=(InteractionProjection,),
    query=(InteractionQuery,),
)


def wire(core: Core, profile: ProfileServices) -> Parts[InteractionServices]:
    return Parts(InteractionServices(InteractionQueries(core.pool), profile.profiles))
