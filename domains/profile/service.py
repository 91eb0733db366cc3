"""Commands on users: registration on first sight, profile edits, roles."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domains.profile.aggregate import (
    Device,
    Role,
    User,
    check_device,
    device_id_of,
    user_id_of,
)
from eventlog.store import AggregateStore, Transaction


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
        """The user's id; registers them the first time their Firebase uid is seen."""
        if firebase_uid in self._known:
            return user_id_of(firebase_uid)

        async def command(tx: Transaction) -> UUID:
            user = await tx.get(user_id_of(firebase_uid), User)
            if user is None:
                name = (display_name or "").strip()[:40] or f"user-{firebase_uid[:6]}"
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

        async def command(tx: Transaction) -> User:
            user = await tx.get(user_id, User)
            if user is None:
                raise UserNotFoundError(str(user_id))
            user.update(public, private)
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
        tokens = {"fcm_token": fcm_token, "onesignal_id": onesignal_id, "voip_token": voip_token}
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
