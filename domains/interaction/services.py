"""The interaction domain's queries as one typed record: what its resolvers, higher domains
(the gallery), mission control, tests and tools reach it by (`services.interactions`)."""

from __future__ import annotations

from dataclasses import dataclass

from domains.interaction.queries import InteractionQueries
from domains.profile.service import ProfileService


@dataclass(frozen=True)
class InteractionServices:
    interactions: InteractionQueries
    profiles: ProfileService  # the profile domain's: `interaction` of an unknown user is NotFound
