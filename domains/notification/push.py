"""What a push is, whatever carries it: the push, a device address, a provider's answer, and
the sender protocol that `fcm.FcmSender` and `onesignal.OneSignalSender` implement
(`router.PushRouter` picks one per device and retries within a bounded time)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, Protocol

IOS_BUNDLE_ID = "app.olo"  # VoIP pushes go to the APNs topic "<bundle id>.voip"
CALL_TTL_SECONDS = 30  # a ringing push is worthless once the ring has timed out
ENDED_TTL_SECONDS = 60

PushKind = Literal["incoming_call", "call_ended", "alert"]


@dataclass(frozen=True)
class Push:
    """What to tell a device; `collapse_key` (a call's id) lets "ended" replace ringing."""

    kind: PushKind
    title: str = ""
    body: str = ""
    data: dict[str, str] = field(default_factory=dict)
    urgent: bool = False
    collapse_key: str | None = None
    ttl_seconds: int | None = None
    # The notification's id: providers that deduplicate (OneSignal's idempotency key) send
    # a push again after a crash only once; the app dedupes by `notification_id` in `data`.
    id: str | None = None

    @classmethod
    def incoming_call(cls, call_id: str, title: str, body: str, **data: str) -> Push:
        """A ringing push: data-only, high priority, short-lived."""
        payload = {"kind": "incoming_call", "call_id": call_id, "title": title, "body": body}
        return cls(
            "incoming_call", title, body, {**payload, **data}, True, call_id, CALL_TTL_SECONDS
        )

    @classmethod
    def call_ended(cls, call_id: str, reason: str) -> Push:
        """Dismisses ringing for `call_id` on a device."""
        payload = {"kind": "call_ended", "call_id": call_id, "reason": reason}
        return cls("call_ended", "", "", payload, True, call_id, ENDED_TTL_SECONDS)

    @classmethod
    def alert(cls, title: str, body: str, collapse_key: str | None = None, **data: str) -> Push:
        """A visible notification (chat message, gift, ...)."""
        return cls("alert", title, body, {"kind": "alert", **data}, False, collapse_key)


class PushStatus(StrEnum):
    SENT = "sent"
    RETRYABLE = "retryable"  # provider trouble (5xx, timeout): worth trying again later
    INVALID_TOKEN = "invalid_token"  # the provider disowns the address: prune the device
    REJECTED = "rejected"  # refused for good, not the token's fault (payload, credentials)
    UNREACHABLE = "unreachable"  # no configured provider can address this device


@dataclass(frozen=True)
class PushResult:
    status: PushStatus
    provider: str  # "fcm", "onesignal" or "none"
    message_id: str | None = None
    response: str = ""  # the provider's answer, shortened
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return self.status is PushStatus.SENT

    @property
    def prune(self) -> bool:
        return self.status is PushStatus.INVALID_TOKEN


@dataclass(frozen=True)
class Target:
    """One device address at one provider; `voip` means an iOS PushKit (VoIP) push."""

    platform: str
    address: str
    voip: bool = False


class PushSender(Protocol):
    name: str

    async def deliver(self, target: Target, push: Push) -> PushResult: ...

    async def aclose(self) -> None: ...


def short_text(text: object, limit: int = 300) -> str:
    return str(text)[:limit]
