"""Which provider carries a push to a device, and sending it with bounded retries."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Literal

from domains.notification.fcm import FcmSender
from domains.notification.onesignal import OneSignalSender
from domains.notification.push import Push, PushResult, PushSender, PushStatus, Target
from domains.profile.queries import DeviceRecord
from eventlog.settings import Settings


class PushRouter:
    """Picks a provider per device and sends with bounded retries and exponential backoff."""

    def __init__(
        self,
        fcm: PushSender | None,
        onesignal: PushSender | None,
        preferred: Literal["fcm", "onesignal"] = "fcm",
        *,
        attempts: int = 4,
        deadline_seconds: float = 5.0,
        backoff_seconds: float = 0.2,
        in_flight: int = 64,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.fcm, self.onesignal, self.preferred = fcm, onesignal, preferred
        # As many pushes at the providers at once as they have threads / connections: time
        # spent queueing inside this process never counts against a push's deadline.
        self._slots = asyncio.Semaphore(in_flight)
        self.attempts = max(1, attempts)
        self.deadline_seconds = deadline_seconds
        self.backoff_seconds = backoff_seconds
        self.sleep = sleep

    @classmethod
    def from_settings(cls, settings: Settings) -> PushRouter:
        """The router over the providers `settings` configure."""
        width = settings.push_connections
        return cls(
            FcmSender.from_settings(settings, threads=width),
            OneSignalSender.from_settings(settings, connections=width),
            settings.push_provider,
            attempts=settings.push_attempts,
            in_flight=width,
        )

    async def aclose(self) -> None:
        """Release the providers' connections and threads."""
        for sender in (self.fcm, self.onesignal):
            if sender is not None:
                await sender.aclose()

    def route(self, device: DeviceRecord, push: Push) -> tuple[PushSender, Target] | None:
        """Which provider and address carry `push` to `device` (None: no way to reach it)."""
        if device.platform == "ios" and push.kind == "incoming_call" and device.voip_token:
            # VoIP wakes the app into CallKit even when it was killed; prefer it for ringing
            if self.onesignal and device.onesignal_id:
                return self.onesignal, Target("ios", device.onesignal_id, voip=True)
            if self.fcm and device.fcm_token:
                return self.fcm, Target("ios", device.fcm_token, voip=True)
        by_fcm = (self.fcm, device.fcm_token) if self.fcm and device.fcm_token else None
        by_onesignal = (
            (self.onesignal, device.onesignal_id)
            if self.onesignal and device.onesignal_id
            else None
        )
        first, second = (
            (by_onesignal, by_fcm) if self.preferred == "onesignal" else (by_fcm, by_onesignal)
        )
        chosen = first or second
        if chosen is None:
            return None
        sender, address = chosen
        assert sender is not None and address is not None
        return sender, Target(device.platform, address)

    async def send(self, device: DeviceRecord, push: Push) -> PushResult:
        """Send `push` to `device`, retrying provider trouble until attempts or time run out."""
        chosen = self.route(device, push)
        if chosen is None:
            return PushResult(PushStatus.UNREACHABLE, "none", None, "no provider for this device")
        async with self._slots:
            return await self._send(*chosen, push)

    async def _send(self, sender: PushSender, target: Target, push: Push) -> PushResult:
        deadline = time.monotonic() + self.deadline_seconds
        result = PushResult(PushStatus.RETRYABLE, sender.name, None, "not attempted", 0)
        for attempt in range(1, self.attempts + 1):
            result = await self._attempt(sender, target, push, deadline - time.monotonic())
            result = replace(result, attempts=attempt)
            delay = self.backoff_seconds * 2 ** (attempt - 1)
            if result.status is not PushStatus.RETRYABLE:
                return result
            if attempt == self.attempts or time.monotonic() + delay >= deadline:
                return result
            await self.sleep(delay)
        return result

    async def _attempt(
        self, sender: PushSender, target: Target, push: Push, remaining: float
    ) -> PushResult:
        try:
            async with asyncio.timeout(max(remaining, 0.01)):
                return await sender.deliver(target, push)
        except TimeoutError:
            return PushResult(PushStatus.RETRYABLE, sender.name, None, "timed out")
