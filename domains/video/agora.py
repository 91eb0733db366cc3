"""Agora, the media service of calls: channel names and uids, RTC tokens, the Notification
Callback Service (NCS) webhooks that say who joined or left a channel, and the kicking-rule
REST call that removes a user from a channel.

Pure adapter code: no web framework and no event log; the call service decides when to use it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

import httpx
from agora_token_builder.RtcTokenBuilder import Role_Publisher, RtcTokenBuilder

from domains.video.aggregate import Side

log = logging.getLogger(__name__)

CHANNEL_PREFIX = "call-"
MAX_UID = 2**32 - 1  # Agora uids are unsigned 32-bit; 0 means "any uid" in a token

# Every call has its own channel, so a uid only has to be unique within one call: each side
# gets a fixed uid. That can never collide (hashing user ids could, 1 in 2^32 per call), a
# webhook's uid tells the side without a lookup, and a kicking rule on (channel, uid) removes
# exactly one party of one call.
_UIDS = {Side.CALLER: 1, Side.STREAMER: 2}
_SIDES = {uid: side for side, uid in _UIDS.items()}


def channel_of(call_id: UUID) -> str:
    """The Agora channel name of a call (64 bytes at most, as Agora requires)."""
    return CHANNEL_PREFIX + call_id.hex


def call_of(channel: str) -> UUID | None:
    """The call a channel belongs to; None for a channel olo did not name."""
    if not channel.startswith(CHANNEL_PREFIX):
        return None
    try:
        return UUID(hex=channel.removeprefix(CHANNEL_PREFIX))
    except ValueError:
        return None


def uid_for(side: Side) -> int:
    """The Agora uid of one side of a call."""
    return _UIDS[Side(side)]


def side_for(uid: int) -> Side | None:
    """The side of a call an Agora uid stands for; None for a uid olo never issued."""
    return _SIDES.get(uid)


class RtcTokens:
    """Issues Agora RTC tokens: publisher privileges in one channel for one uid, until a time."""

    def __init__(self, app_id: str, certificate: str) -> None:
        self._app_id = app_id
        self._certificate = certificate

    def issue(self, channel: str, uid: int, expires_at: int) -> str:
        """A token letting `uid` join and publish in `channel` until `expires_at` (unix s)."""
        if not 0 < uid <= MAX_UID:
            raise ValueError(f"an Agora uid is 1..{MAX_UID}, not {uid}")  # 0 would be any uid
        if expires_at <= 0:
            raise ValueError(f"privileges must expire at a unix time, not {expires_at}")
        token = RtcTokenBuilder.buildTokenWithUid(
            self._app_id, self._certificate, channel, uid, Role_Publisher, expires_at
        )
        return str(token)


# NCS: https://docs.agora.io/en/api-reference/api-ref/rtc/channel-event-types
NoticeKind = Literal["channel_created", "channel_destroyed", "joined", "left"]
SIGNATURE_HEADER = "Agora-Signature-V2"

_KINDS: dict[int, NoticeKind] = {
    101: "channel_created",
    102: "channel_destroyed",
    103: "joined",  # broadcaster joins (live broadcasting profile)
    104: "left",  # broadcaster leaves
    105: "joined",  # audience joins
    106: "left",  # audience leaves
    107: "joined",  # user joins (communication profile)
    108: "left",  # user leaves (communication profile)
    111: "joined",  # role switched to broadcaster: publishes media again
    112: "left",  # role switched to audience: publishes no media any more
}
_PARTY_EVENTS = frozenset(_KINDS) - {101, 102}


class MalformedNoticeError(Exception):
    """An NCS body that is not a channel notice olo understands."""


@dataclass(frozen=True)
class Notice:
    """One NCS channel notice: what happened in which channel, to whom, in which order."""

    notice_id: str  # Agora may deliver a notice more than once: dedupe by this
    product_id: int
    event_type: int
    notify_ms: int
    channel: str
    uid: int | None  # None for channel events (101, 102)
    client_seq: int | None  # orders one uid's joins and leaves; notices may arrive out of order
    ts: int | None  # unix seconds when it happened in the channel

    @property
    def kind(self) -> NoticeKind:
        return _KINDS[self.event_type]


def verify_signature(body: bytes, signature: str | None, secret: str) -> bool:
    """Whether `signature` (the Agora-Signature-V2 header) is the HMAC-SHA256 of `body`."""
    if not signature or not secret:  # an empty secret would let anyone sign
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.strip().lower().encode())


def parse_notice(body: bytes) -> Notice:
    """The notice in an NCS request body; MalformedNoticeError if it is not one."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        raise MalformedNoticeError("not JSON") from error
    document = _object(data, "body")
    payload = _object(document.get("payload"), "payload")
    event_type = _int(document, "eventType")
    if event_type not in _KINDS:
        raise MalformedNoticeError(f"unknown eventType {event_type}")
    party = event_type in _PARTY_EVENTS
    channel = payload.get("channelName")
    if not isinstance(channel, str) or not channel:
        raise MalformedNoticeError("payload.channelName must be a non-empty string")
    notice_id = document.get("noticeId")
    if not isinstance(notice_id, str) or not notice_id:
        raise MalformedNoticeError("noticeId must be a non-empty string")
    return Notice(
        notice_id=notice_id,
        product_id=_int(document, "productId"),
        event_type=event_type,
        notify_ms=_int(document, "notifyMs"),
        channel=channel,
        uid=_maybe_int(payload, "uid", required=party),
        client_seq=_maybe_int(payload, "clientSeq", required=party),
        ts=_maybe_int(payload, "ts", required=False),
    )


def _object(value: object, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedNoticeError(f"{name} must be a JSON object")
    return value


def _int(data: dict[str, Any], key: str) -> int:
    value = data.get(key)
    # JSON true/false are ints to Python; they are not numbers here
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise MalformedNoticeError(f"{key} must be a non-negative integer, not {value!r}")
    return value


def _maybe_int(data: dict[str, Any], key: str, *, required: bool) -> int | None:
    if data.get(key) is None and not required:
        return None
    return _int(data, key)


class AgoraRestError(Exception):
    """Agora's REST API refused a request or could not be reached."""

    def __init__(self, message: str, status: int | None = None, *, passing: bool = False) -> None:
        super().__init__(message)
        self.status = status  # None when no HTTP answer came
        self.passing = passing  # a failure that may pass (5xx, 429, network): worth retrying


class AgoraRest:
    """Agora's channel management REST API (basic auth with the customer id and secret)."""

    def __init__(
        self,
        base_url: str,
        app_id: str,
        customer_id: str,
        customer_secret: str,
        *,
        timeout: float = 5.0,
        attempts: int = 3,
        backoff: float = 0.2,
    ) -> None:
        self._app_id = app_id
        self._attempts = max(1, attempts)
        self._backoff = backoff
        self._client = httpx.AsyncClient(
            base_url=base_url,
            auth=httpx.BasicAuth(customer_id, customer_secret),
            timeout=timeout,
            headers={"Accept": "application/json"},
        )

    async def kick(self, channel: str, uid: int, seconds: int) -> int:
        """Remove `uid` from `channel` and keep it out for `seconds`; the kicking rule's id."""
        answer = await self._post(
            "/dev/v1/kicking-rule",
            {
                "appid": self._app_id,
                "cname": channel,
                "uid": uid,
                "time_in_seconds": seconds,
                "privileges": ["join_channel"],
            },
        )
        rule_id = answer.get("id")
        if answer.get("status") != "success" or not isinstance(rule_id, int):
            raise AgoraRestError(f"kicking-rule answer without a rule id: {answer!r}")
        return rule_id

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._client.aclose()

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        # A bad request or bad credentials would fail the same way again: not retried. A retried
        # POST may create a second rule for the same (channel, uid): harmless, both expire.
        attempt = 1
        while True:
            try:
                return await self._post_once(path, body)
            except AgoraRestError as error:
                if not error.passing or attempt >= self._attempts:
                    raise
                log.warning("Agora: %s (attempt %d): retrying", error, attempt)
            await asyncio.sleep(self._backoff * 2 ** (attempt - 1))
            attempt += 1

    async def _post_once(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response = await self._client.post(path, json=body)
        except httpx.TransportError as error:
            message = f"POST {path}: {type(error).__name__}: {error}"
            raise AgoraRestError(message, passing=True) from error
        status = response.status_code
        if not response.is_success:
            message = f"POST {path}: HTTP {status}: {response.text[:200]}"
            raise AgoraRestError(message, status, passing=status == 429 or status >= 500)
        try:
            answer = response.json()
        except ValueError as error:
            raise AgoraRestError(f"POST {path}: the answer is not JSON", status) from error
        if not isinstance(answer, dict):
            raise AgoraRestError(f"POST {path}: the answer is not an object", status)
        return answer
