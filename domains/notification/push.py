"""Push providers: FCM (firebase-admin) and OneSignal (onesignal-sdk), chosen per device by
`PushRouter`, which retries provider trouble with backoff inside a bounded time."""

from __future__ import annotations

import asyncio
import datetime
import time
import uuid
import warnings
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Literal, Protocol

import firebase_admin
import google.auth.exceptions
import httpx
from firebase_admin import credentials, exceptions, messaging
from onesignal_sdk.client import AsyncClient
from onesignal_sdk.error import OneSignalHTTPError
from requests.adapters import HTTPAdapter

from domains.profile.queries import DeviceRecord
from eventlog.settings import Settings

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

    @classmethod
    def incoming_call(cls, call_id: str, title: str, body: str, **data: str) -> Push:
        """A ringing push: data-only, high priority, short-lived."""
        payload = {"kind": "incoming_call", "call_id": call_id, "title": title, "body": body}
        return cls("incoming_call", title, body, {**payload, **data}, True, call_id,
                   CALL_TTL_SECONDS)

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


def _short(text: object, limit: int = 300) -> str:
    return str(text)[:limit]


GOOGLE_FCM_URL = "https://fcm.googleapis.com"


def _skip_access_boundary_lookup(credential: object) -> None:
    """google-auth looks up a service account's "regional access boundary" at
    iamcredentials.googleapis.com in a background thread after fetching a token. Against a
    FCM that is not Google's (a loopback fake) that is a request to the outside world: a
    no-op boundary valid for a year tells google-auth it has nothing to look up."""
    set_boundary = getattr(credential, "_set_regional_access_boundary", None)
    if set_boundary is not None:
        expiry = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
        set_boundary(
            {"encodedLocations": "0x0", "expiry": expiry + datetime.timedelta(days=365)}
        )


class FcmSender:
    """FCM v1 through firebase-admin; its blocking calls run in this sender's own threads."""

    name = "fcm"

    def __init__(
        self,
        credential: credentials.Base,
        project_id: str,
        api_url: str,
        *,
        ios_bundle_id: str = IOS_BUNDLE_ID,
        timeout_seconds: float = 3.0,
        threads: int = 32,
        clock: Callable[[], float] = time.time,
    ) -> None:
        options = {"projectId": project_id, "httpTimeout": timeout_seconds}
        self._app = firebase_admin.initialize_app(credential, options, f"push-{uuid.uuid4()}")
        self._point_at(api_url.rstrip("/"), project_id, threads)
        # Own threads: a hanging FCM occupies these, never the loop or the default executor.
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="fcm")
        self.ios_bundle_id = ios_bundle_id
        self.clock = clock

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> FcmSender | None:
        """An FCM sender when a service account is configured, else None."""
        if settings.firebase_credentials_file is None:
            return None
        credential = credentials.Certificate(str(settings.firebase_credentials_file))
        return cls(credential, settings.firebase_project_id, settings.fcm_api_url, **options)

    def _point_at(self, api_url: str, project_id: str, threads: int) -> None:
        # firebase-admin has no option for the FCM endpoint, so its service is aimed at
        # `api_url` (a loopback fake in tests); its own 5xx retries (up to ~7 s of sleeps) are
        # turned off so PushRouter's bounded retries are the only ones.
        service = messaging._get_messaging_service(self._app)
        service._fcm_url = f"{api_url}/v1/projects/{project_id}/messages:send"
        adapter = HTTPAdapter(pool_connections=threads, pool_maxsize=threads, max_retries=0)
        service._client.session.mount(api_url, adapter)
        if api_url != GOOGLE_FCM_URL:
            _skip_access_boundary_lookup(self._app.credential.get_credential())

    def close(self) -> None:
        """Release the threads and the firebase app."""
        self._executor.shutdown(wait=False, cancel_futures=True)
        firebase_admin.delete_app(self._app)

    async def deliver(self, target: Target, push: Push) -> PushResult:
        """One attempt at sending `push` to an FCM registration token."""
        message = self.message(target, push)
        loop = asyncio.get_running_loop()
        try:
            name = await loop.run_in_executor(self._executor, self._send, message)
        except (exceptions.FirebaseError, google.auth.exceptions.GoogleAuthError) as error:
            return PushResult(_fcm_status(error), self.name, None, _short(error))
        return PushResult(PushStatus.SENT, self.name, name, _short(name))

    def _send(self, message: messaging.Message) -> str:
        return messaging.send(message, app=self._app)

    def message(self, target: Target, push: Push) -> messaging.Message:
        """The FCM message for this device and push."""
        data_only = push.kind != "alert"
        notification = None if data_only else messaging.Notification(push.title, push.body)
        # Devices register FCM registration tokens; firebase-admin 7 nudges towards
        # installation ids (`fid`), which olo's apps do not report.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return self._message(target, push, notification)

    def _message(
        self, target: Target, push: Push, notification: messaging.Notification | None
    ) -> messaging.Message:
        if target.platform == "ios":
            return messaging.Message(
                token=target.address, data=push.data, notification=notification,
                apns=self._apns(target, push),
            )
        android = messaging.AndroidConfig(
            collapse_key=push.collapse_key,
            priority="high" if push.urgent else "normal",
            ttl=push.ttl_seconds,
        )
        webpush = messaging.WebpushConfig(headers=self._webpush_headers(push))
        return messaging.Message(
            token=target.address, data=push.data, notification=notification,
            android=android if target.platform == "android" else None,
            webpush=webpush if target.platform == "web" else None,
        )

    def _apns(self, target: Target, push: Push) -> messaging.APNSConfig:
        if target.voip:
            headers = {"apns-push-type": "voip", "apns-priority": "10",
                       "apns-topic": f"{self.ios_bundle_id}.voip"}
        elif push.kind == "alert":
            headers = {"apns-push-type": "alert", "apns-priority": "10" if push.urgent else "5"}
        else:  # APNs accepts a background (content-available) push only at priority 5
            headers = {"apns-push-type": "background", "apns-priority": "5"}
        if push.ttl_seconds is not None:
            headers["apns-expiration"] = str(int(self.clock()) + push.ttl_seconds)
        if push.collapse_key and not target.voip:
            headers["apns-collapse-id"] = push.collapse_key
        aps = messaging.Aps(content_available=push.kind != "alert")
        return messaging.APNSConfig(headers=headers, payload=messaging.APNSPayload(aps))

    def _webpush_headers(self, push: Push) -> dict[str, str]:
        headers = {"Urgency": "high" if push.urgent else "normal"}
        if push.ttl_seconds is not None:
            headers["TTL"] = str(push.ttl_seconds)
        return headers


def _fcm_status(error: Exception) -> PushStatus:
    """FCM's error as a push status: which mean the token is dead, which are worth a retry."""
    if isinstance(error, messaging.UnregisteredError | messaging.SenderIdMismatchError):
        return PushStatus.INVALID_TOKEN
    if isinstance(error, exceptions.NotFoundError):
        return PushStatus.INVALID_TOKEN
    if isinstance(error, exceptions.InvalidArgumentError):
        # INVALID_ARGUMENT also covers bad payloads; only a bad token means pruning
        token = "registration token" in str(error).lower() or "message.token" in str(error)
        return PushStatus.INVALID_TOKEN if token else PushStatus.REJECTED
    retryable = (exceptions.UnavailableError, exceptions.InternalError,
                 exceptions.DeadlineExceededError, exceptions.ResourceExhaustedError)
    if isinstance(error, retryable):
        return PushStatus.RETRYABLE
    if isinstance(error, exceptions.FirebaseError):
        response = error.http_response
        server = response is not None and response.status_code >= 500
        return PushStatus.RETRYABLE if server else PushStatus.REJECTED
    if isinstance(error, google.auth.exceptions.RefreshError):
        return PushStatus.RETRYABLE if getattr(error, "retryable", False) else PushStatus.REJECTED
    return PushStatus.RETRYABLE  # transport errors of the OAuth2 token request


INVALID_ID_KEYS = ("invalid_player_ids", "invalid_subscription_ids", "invalid_aliases",
                   "invalid_external_user_ids")


class OneSignalSender:
    """OneSignal's create-notification API through onesignal-sdk's AsyncClient."""

    name = "onesignal"

    def __init__(self, app_id: str, api_key: str, api_root: str, *,
                 timeout_seconds: float = 3.0) -> None:
        self.client = AsyncClient(app_id, api_key, options={"API_ROOT": api_root.rstrip("/")})
        self.timeout_seconds = timeout_seconds

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> OneSignalSender | None:
        """A OneSignal sender when an app id and key are configured, else None."""
        if not (settings.onesignal_app_id and settings.onesignal_api_key):
            return None
        return cls(settings.onesignal_app_id, settings.onesignal_api_key,
                   settings.onesignal_api_root, **options)

    def body(self, target: Target, push: Push) -> dict[str, Any]:
        """The create-notification body (the SDK adds app_id) for this device and push."""
        body: dict[str, Any] = {
            "include_subscription_ids": [target.address],
            "data": push.data,
            "priority": 10 if push.urgent else 5,
        }
        if push.kind == "alert":
            body.update(headings={"en": push.title}, contents={"en": push.body})
        else:
            body["content_available"] = True
        if target.voip:
            body["apns_push_type_override"] = "voip"
        if push.ttl_seconds is not None:
            body["ttl"] = push.ttl_seconds
        if push.collapse_key and push.kind == "alert":
            body["collapse_id"] = push.collapse_key
        return body

    async def deliver(self, target: Target, push: Push) -> PushResult:
        """One attempt at sending `push` to a OneSignal subscription."""
        try:
            async with asyncio.timeout(self.timeout_seconds):
                response = await self.client.send_notification(self.body(target, push))
        except (TimeoutError, httpx.TransportError, ValueError) as error:
            # ValueError: a non-JSON answer, which comes from a proxy in trouble
            return PushResult(PushStatus.RETRYABLE, self.name, None, _short(repr(error)))
        except OneSignalHTTPError as error:
            status = error.status_code
            retry = status >= 500 or status == 429
            return PushResult(PushStatus.RETRYABLE if retry else _onesignal_refusal(error.message),
                              self.name, None, _short(f"{status}: {error.message}"))
        return _onesignal_result(response.body)


def _onesignal_refusal(message: str) -> PushStatus:
    dead = "not subscribed" in message.lower() or "invalid" in message.lower()
    return PushStatus.INVALID_TOKEN if dead else PushStatus.REJECTED


def _onesignal_result(body: Any) -> PushResult:
    """A 2xx answer: OneSignal reports unknown subscriptions inside a successful response."""
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, dict) and any(errors.get(key) for key in INVALID_ID_KEYS):
        return PushResult(PushStatus.INVALID_TOKEN, "onesignal", None, _short(body))
    if isinstance(errors, list) and errors:
        return PushResult(_onesignal_refusal(str(errors[0])), "onesignal", None, _short(body))
    message_id = body.get("id") if isinstance(body, dict) else None
    if not message_id:
        return PushResult(PushStatus.REJECTED, "onesignal", None, _short(body))
    return PushResult(PushStatus.SENT, "onesignal", str(message_id), _short(body))


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
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.fcm, self.onesignal, self.preferred = fcm, onesignal, preferred
        self.attempts = max(1, attempts)
        self.deadline_seconds = deadline_seconds
        self.backoff_seconds = backoff_seconds
        self.sleep = sleep

    @classmethod
    def from_settings(cls, settings: Settings) -> PushRouter:
        """The router over the providers `settings` configure."""
        return cls(FcmSender.from_settings(settings), OneSignalSender.from_settings(settings),
                   settings.push_provider, attempts=settings.push_attempts)

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
            (self.onesignal, device.onesignal_id) if self.onesignal and device.onesignal_id
            else None
        )
        first, second = (by_onesignal, by_fcm) if self.preferred == "onesignal" else (
            by_fcm, by_onesignal)
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
        sender, target = chosen
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
