"""The profile domain's services and queries as one typed record: what its resolvers, higher
domains, tests and tools reach it by (`services.profiles`)."""

from __future__ import annotations

from dataclasses import dataclass

from domains.profile.auth import TokenVerifier
from domains.profile.queries import ProfileQueries
from domains.profile.service import ProfileService


@dataclass(frozen=True)
class ProfileServices:
    profiles: ProfileService
    profile_queries: ProfileQueries
    auth: TokenVerifier
