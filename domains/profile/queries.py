"""Reads of the users read model."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from domains.profile.projection import ProfileProjection
from eventlog.followers import log_head
from eventlog.projection import Watermark

CAUGHT_UP_WAIT = 2.0  # seconds a registration waits for the devices read model


@dataclass(frozen=True)
class Profile:
    user_id: UUID
    role: str
    public: dict[str, Any]
    private: dict[str, Any]
    registered_at: datetime


class ProfileQueries:
    def __init__(self, pool: asyncpg.Pool, push_providers: frozenset[str] = frozenset()) -> None:
        self.pool = pool
        self.push_providers = push_providers

    async def profile(self, user_id: UUID) -> Profile | None:
        row = await self.pool.fetchrow(
            "SELECT user_id, role, public, private, registered_at FROM profile_users "
            "WHERE user_id = $1",
            user_id,
        )
        return Profile(*row) if row else None

    async def caught_up(self, within: float = CAUGHT_UP_WAIT) -> bool:
        """Wait (at most `within` seconds) until the read model holds everything committed
        so far: a device is then what the next ring and the `devices` list see."""
        head = await log_head(self.pool)
        return await Watermark(self.pool, ProfileProjection.name).reached(head, within=within)

    async def has_devices(self, user_id: UUID) -> bool:
        """The user registered a device that a configured push provider can still reach (a
        VoIP token alone, or an address of a provider that is off, reaches nobody)."""
        return bool(
            await self.pool.fetchval(
                "SELECT EXISTS (SELECT 1 FROM profile_devices WHERE owner_id = $1 AND active "
                "AND ((fcm_token IS NOT NULL AND $2) OR (onesignal_id IS NOT NULL AND $3)))",
                user_id,
                "fcm" in self.push_providers,
                "onesignal" in self.push_providers,
            )
        )

    async def devices(self, user_id: UUID) -> list[DeviceRecord]:
        """A user's devices that can be reached, most recently registered first."""
        rows = await self.pool.fetch(
            "SELECT device_id, platform, fcm_token, onesignal_id, voip_token, app_version, "
            "updated_at FROM profile_devices WHERE owner_id = $1 AND active "
            "ORDER BY updated_at DESC",
            user_id,
        )
        return [DeviceRecord(*r) for r in rows]

    async def devices_of(self, user_ids: list[UUID]) -> dict[UUID, list[DeviceRecord]]:
        """`devices` of several users in one query (a user without any is left out)."""
        rows = await self.pool.fetch(
            "SELECT owner_id, device_id, platform, fcm_token, onesignal_id, voip_token, "
            "app_version, updated_at FROM profile_devices WHERE owner_id = ANY($1) AND active "
            "ORDER BY updated_at DESC",
            user_ids,
        )
        found: dict[UUID, list[DeviceRecord]] = {}
        for r in rows:
            found.setdefault(r[0], []).append(DeviceRecord(*r[1:]))
        return found


@dataclass(frozen=True)
class DeviceRecord:
    device_id: UUID
    platform: str
    fcm_token: str | None
    onesignal_id: str | None
    voip_token: str | None
    app_version: str
    updated_at: datetime
