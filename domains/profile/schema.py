"""GraphQL for users: the viewer's own profile and `updateProfile`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import strawberry
from strawberry.types import Info
from strawberry.utils.str_converters import to_camel_case

from domains.profile.aggregate import InvalidProfileError, User
from domains.profile.service import DeviceNotFoundError
from domains.profile.services import ProfileServices
from eventlog.api import (
    Context,
    ErrorResults,
    InvalidInput,
    NotFound,
    RateLimited,
    parse_uuid,
    result_of,
)


@strawberry.type(description="A user's public profile, as anyone sees it.")
class PublicProfile:
    id: strawberry.ID
    role: str
    display_name: str
    bio: str | None
    avatar_url: str | None
    country: str | None


@strawberry.type(description="One of your devices that olo can reach by push.")
class Device:
    id: strawberry.ID
    platform: str
    app_version: str
    has_fcm_token: bool
    has_onesignal_id: bool
    has_voip_token: bool
    updated_at: datetime


@strawberry.type(description="Your own profile: public fields and private ones only you see.")
class OwnProfile(PublicProfile):
    email: str | None
    phone: str | None
    birth_date: str | None

    @strawberry.field(description="Your devices that receive pushes.")
    async def devices(self, info: Info[Context[ProfileServices], None]) -> list[Device]:
        viewer = await info.context.viewer()
        return [
            Device(
                id=strawberry.ID(str(d.device_id)),
                platform=d.platform,
                app_version=d.app_version,
                has_fcm_token=d.fcm_token is not None,
                has_onesignal_id=d.onesignal_id is not None,
                has_voip_token=d.voip_token is not None,
                updated_at=d.updated_at,
            )
            for d in await info.context.services.profile_queries.devices(viewer.user_id)
        ]


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
    ProfileUpdated | InvalidInput | RateLimited, strawberry.union("UpdateProfileResult")
]


@strawberry.input(description="How olo reaches this device: at least one push address.")
class DeviceInput:
    platform: str = strawberry.field(description="ios, android or web")
    fcm_token: str | None = None
    onesignal_id: str | None = strawberry.field(default=None, description="subscription id")
    voip_token: str | None = strawberry.field(default=None, description="iOS PushKit token")
    app_version: str = ""


@strawberry.type
class DeviceRegistered:
    device_id: strawberry.ID


@strawberry.type
class DeviceUnregistered:
    device_id: strawberry.ID


RegisterDeviceResult = Annotated[
    DeviceRegistered | InvalidInput | RateLimited, strawberry.union("RegisterDeviceResult")
]
UnregisterDeviceResult = Annotated[
    DeviceUnregistered | NotFound | InvalidInput, strawberry.union("UnregisterDeviceResult")
]


def _invalid(error: InvalidProfileError) -> InvalidInput:
    field = to_camel_case(error.field)
    return InvalidInput(message=f"{field}: {error.reason}", field=field)


PROFILE_ERRORS: ErrorResults = {
    InvalidProfileError: _invalid,
    DeviceNotFoundError: lambda e: NotFound(message=str(e)),
}

_PUBLIC = ("display_name", "bio", "avatar_url", "country")
_PRIVATE = ("email", "phone", "birth_date")


def _updated(user: User) -> ProfileUpdated:
    return ProfileUpdated(profile=OwnProfile(**own_profile_fields(user)))


@strawberry.type
class ProfileMutation:
    @strawberry.mutation(description="Change your own profile.")
    async def update_profile(
        self, info: Info[Context[ProfileServices], None], input: ProfileInput
    ) -> UpdateProfileResult:
        viewer = await info.context.viewer()
        given = {k: v for k, v in vars(input).items() if v is not strawberry.UNSET}
        if given.get("display_name", "x") is None:
            return InvalidInput(message="displayName cannot be removed", field="displayName")
        if limited := await info.context.rate_limited("updateProfile"):
            return limited
        updating = info.context.services.profiles.update_profile(
            viewer.user_id,
            public={k: v for k, v in given.items() if k in _PUBLIC},
            private={k: v for k, v in given.items() if k in _PRIVATE},
        )
        return await result_of(updating, _updated, PROFILE_ERRORS)

    @strawberry.mutation(description="Receive pushes on this device (moves it from another user).")
    async def register_device(
        self, info: Info[Context[ProfileServices], None], input: DeviceInput
    ) -> RegisterDeviceResult:
        viewer = await info.context.viewer()
        if limited := await info.context.rate_limited("registerDevice"):
            return limited
        services = info.context.services

        async def registering() -> UUID:
            device_id = await services.profiles.register_device(
                viewer.user_id,
                platform=input.platform,
                fcm_token=input.fcm_token,
                onesignal_id=input.onesignal_id,
                voip_token=input.voip_token,
                app_version=input.app_version,
            )
            await services.profile_queries.caught_up()  # the next ring can wake it
            return device_id

        return await result_of(
            registering(),
            lambda d: DeviceRegistered(device_id=strawberry.ID(str(d))),
            PROFILE_ERRORS,
        )

    @strawberry.mutation(description="No more pushes to this device for you.")
    async def unregister_device(
        self, info: Info[Context[ProfileServices], None], device_id: str
    ) -> UnregisterDeviceResult:
        viewer = await info.context.viewer()
        parsed = parse_uuid(device_id, "deviceId", "device id")
        if isinstance(parsed, InvalidInput):
            return parsed
        services = info.context.services

        async def unregistering() -> None:
            await services.profiles.unregister_device(viewer.user_id, parsed)
            await services.profile_queries.caught_up()  # no ring wakes it after this

        unregistered = DeviceUnregistered(device_id=strawberry.ID(device_id))
        return await result_of(unregistering(), lambda _: unregistered, PROFILE_ERRORS)
