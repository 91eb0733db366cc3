"""GraphQL for users: the viewer's own profile and `updateProfile`."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.types import Info
from strawberry.utils.str_converters import to_camel_case

from domains.profile.aggregate import InvalidProfileError, User
from domains.profile.service import ProfileService
from eventlog.api import Context, InvalidInput


@strawberry.type(description="A user's public profile, as anyone sees it.")
class PublicProfile:
    id: strawberry.ID
    role: str
    display_name: str
    bio: str | None
    avatar_url: str | None
    country: str | None


@strawberry.type(description="Your own profile: public fields and private ones only you see.")
class OwnProfile(PublicProfile):
    email: str | None
    phone: str | None
    birth_date: str | None


def own_profile_fields(user: User) -> dict[str, Any]:
    return {
        "id": strawberry.ID(str(user.id)),
        "role": str(user.role),
        "display_name": user.public.get("display_name", ""),
        "bio": user.public.get("bio"),
        "avatar_url": user.public.get("avatar_url"),
        "country": user.public.get("country"),
        "email": user.private.get("email"),
        "phone": user.private.get("phone"),
        "birth_date": user.private.get("birth_date"),
    }


@strawberry.input(description="Fields to change; leave a field out to keep it.")
class ProfileInput:
    display_name: str | None = strawberry.UNSET
    bio: str | None = strawberry.UNSET
    avatar_url: str | None = strawberry.UNSET
    country: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    birth_date: str | None = strawberry.UNSET


@strawberry.type
class ProfileUpdated:
    profile: OwnProfile


UpdateProfileResult = Annotated[
    ProfileUpdated | InvalidInput, strawberry.union("UpdateProfileResult")
]

_PUBLIC = ("display_name", "bio", "avatar_url", "country")
_PRIVATE = ("email", "phone", "birth_date")


@strawberry.type
class ProfileMutation:
    @strawberry.mutation(description="Change your own profile.")
    async def update_profile(
        self, info: Info[Context, None], input: ProfileInput
    ) -> UpdateProfileResult:
        viewer = await info.context.viewer()
        given = {k: v for k, v in vars(input).items() if v is not strawberry.UNSET}
        if given.get("display_name", "x") is None:
            return InvalidInput(message="displayName cannot be removed", field="displayName")
        try:
            user = await info.context.get(ProfileService).update_profile(
                viewer.user_id,
                public={k: v for k, v in given.items() if k in _PUBLIC},
                private={k: v for k, v in given.items() if k in _PRIVATE},
            )
        except InvalidProfileError as error:
            field = to_camel_case(error.field)
            return InvalidInput(message=f"{field}: {error.reason}", field=field)
        return ProfileUpdated(profile=OwnProfile(**own_profile_fields(user)))
