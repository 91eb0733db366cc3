"""The profile domain's parts: users, roles and devices."""

from __future__ import annotations

from domains.profile.auth import TokenVerifier
from domains.profile.projection import ProfileProjection
from domains.profile.queries import ProfileQueries
from domains.profile.schema import ProfileMutation
from domains.profile.service import ProfileService
from domains.profile.services import ProfileServices
from eventlog.wiring import Core, Domain, Parts

DOMAIN: Domain[ProfileServices] = Domain(
    "profile",
    projections=(ProfileProjection,),
    mutation=(ProfileMutation,),
)


def wire(core: Core) -> Parts[ProfileServices]:
    settings = core.settings
    auth = TokenVerifier(
        settings.firebase_project_id,
        emulator=settings.emulator_host is not None,
        credentials_file=settings.firebase_credentials_file,
        certs_url=settings.firebase_certs_url,
        verified_cache_size=settings.verified_tokens_max,
        verified_cache_bytes=settings.verified_tokens_max_bytes,
    )
    return Parts(
        ProfileServices(
            ProfileService(core.store, settings.push_providers),
            ProfileQueries(core.pool, settings.push_providers),
            auth,
        ),
    )
