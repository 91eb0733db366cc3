"""Commands on users: registration on first sight, profile edits, roles."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from domains.profile.aggregate import (
    APP_VERSION_LIMIT,
    PRIVATE_FIELDS,
    PUBLIC_FIELDS,
    TOKEN_LIMIT,
    Device,
    Role,
    User,
    check_device,
    device_id_of,
    user_id_of,
)
from eventlog import text
from eventlog.store import AggregateStore, Transaction

# How each profile field's text is checked (eventlog/text.py); the limits are the aggregate's.
FIELD_KINDS: dict[str, Callable[[object, str, int], str]] = {
    "display_name": text.name,
    "bio": text.multiline,
    "avatar_url": text.https_url,
    "country": text.line,
    "email": text.line,
    "phone": text.line,
    "birth_date": text.line,
}
NAME_LIMIT = PUBLIC_FIELDS["display_name"]


def checked_fields(changes: dict[str, Any], limits: dict[str, int]) -> dict[str, Any]:
    """The fields' text normalized (NFC); InvalidTextError for text that may not be saved.
    Unknown fields, None (removal) and non-text are left to the aggregate's rules."""
    return {
        field: FIELD_KINDS[field](value, field, limits[field])
        if field in limits and isinstance(value, str)
        else value
        for field, value in changes.items()
    }


def _fallback_name(firebase_uid: str) -> str:
    return text.claimed_name(f"user-{firebase_uid[:6]}", NAME_LIMIT) or "user"


def checked_tokens(tokens: dict[str, str | None]) -> dict[str, str | None]:
    return {
        field: None if value is None else text.token(value, field, TOKEN_LIMIT)
        for field, value in tokens.items()
    }


class UserNotFoundError(Exception):
    pass


class DeviceNotFoundError(Exception):
    """No such device among the user's devices."""


class ProfileService:
    def __init__(self, store: AggregateStore, push_providers: frozenset[str] = frozenset()) -> None:
        self.store = store
        self.push_providers = push_providers  # a device must have an address one of them pushes
        self._known: set[str] = set()

    async def register(
        self, firebase_uid: str, *, display_name: str | None = None, email: str | None = None
    ) -> UUID:
        """The user's id; registers them the first time their Firebase uid is seen.

        The token's name and e-mail claims are not refused (sign-in must work whatever the
        provider let a user type): the name is cleaned of control and invisible characters,
        and an e-mail that is not one acceptable line is dropped."""
        if firebase_uid in self._known:
            return user_id_of(firebase_uid)
        display_name = text.claimed_name(display_name, NAME_LIMIT)
        email = text.claimed_line(email, PRIVATE_FIELDS["email"])

        async def command(tx: Transaction) -> UUID:
            user = await tx.get(user_id_of(firebase_uid), User)
            if user is None:
                name = display_name or _fallback_name(firebase_uid)
                user = User(firebase_uid=firebase_uid, display_name=name, email=email)
                tx.add(user)
            return user.id

        user_id = await self.store.transact(command)
        self._known.add(firebase_uid)
        return user_id

    async def user(self, user_id: UUID) -> User:
        """The user as this process knows them. Raises UserNotFoundError."""
        user = await self.store.load(user_id)
        if not isinstance(user, User):
            raise UserNotFoundError(str(user_id))
        return user

    async def update_profile(
        self, user_id: UUID, *, public: dict[str, Any], private: dict[str, Any]
    ) -> User:
        """Change the user's own public and private fields."""
        checked_public = checked_fields(public, PUBLIC_FIELDS)
        checked_private = checked_fields(private, PRIVATE_FIELDS)

        async def command(tx: Transaction) -> User:
            user = await tx.get(user_id, User)
            if user is None:
                raise UserNotFoundError(str(user_id))
            user.update(checked_public, checked_private)
            return user

        return await self.store.transact(command)

    async def set_role(self, user_id: UUID, role: Role) -> None:
        """Make a user a streamer (or a plain user again)."""

        async def command(tx: Transaction) -> None:
            user = await tx.get(user_id, User)
            if user is None:
                raise UserNotFoundError(str(user_id))
            user.change_role(role)

        await self.store.transact(command)

    async def register_device(
        self,
        user_id: UUID,
        *,
        platform: str,
        fcm_token: str | None = None,
        onesignal_id: str | None = None,
        voip_token: str | None = None,
        app_version: str = "",
    ) -> UUID:
        """Make a device reachable for this user (moving it from whoever had it)."""
        tokens = checked_tokens(
            {"fcm_token": fcm_token, "onesignal_id": onesignal_id, "voip_token": voip_token}
        )
        app_version = text.version(app_version, "app_version", APP_VERSION_LIMIT)
        checked, key = check_device(platform, tokens, app_version, self.push_providers)

        async def command(tx: Transaction) -> UUID:
            device = await tx.get(device_id_of(checked, key), Device)
            if device is None:
                device = Device(
                    owner_id=user_id, platform=checked, tokens=tokens, app_version=app_version
                )
                tx.add(device)
            else:
                device.register(user_id, tokens, app_version)
            return device.id

        return await self.store.transact(command)

    async def unregister_device(self, user_id: UUID, device_id: UUID) -> None:
        """The device gets no more pushes for this user (signed out, or notifications off)."""

        async def command(tx: Transaction) -> None:
            device = await tx.get(device_id, Device)
            if device is None or device.owner_id != user_id or not device.active:
                raise DeviceNotFoundError(f"no device {device_id} of yours")
            device.unregister()

        await self.store.transact(command)

    async def prune_device(self, device_id: UUID) -> None:
        """A push provider says the device's address is dead: stop pushing to it."""

        async def command(tx: Transaction) -> None:
            device = await tx.get(device_id, Device, fresh=True)
            if device is not None:
                device.unregister()

        await self.store.transact(command)
