"""FCM v1 through firebase-admin: Android data messages, iOS VoIP through APNs headers."""

from __future__ import annotations

import asyncio
import datetime
import time
import uuid
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import firebase_admin
import google.auth.exceptions
from firebase_admin import credentials, exceptions, messaging
from requests.adapters import HTTPAdapter

from domains.notification.push import (
    IOS_BUNDLE_ID,
    Push,
    PushResult,
    PushStatus,
    Target,
    short_text,
)
from eventlog.settings import Settings

GOOGLE_FCM_URL = "https://fcm.googleapis.com"


def _skip_access_boundary_lookup(credential: object) -> None:
    """google-auth looks up a service account's "regional access boundary" at
    iamcredentials.googleapis.com in a background thread after fetching a token. Against a
    FCM that is not Google's (a loopback fake) that is a request to the outside world: a
    no-op boundary valid for a year tells google-auth it has nothing to look up."""
    set_boundary = getattr(credential, "_set_regional_access_boundary", None)
    if set_boundary is not None:
        expiry = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
        set_boundary({"encodedLocations": "0x0", "expiry": expiry + datetime.timedelta(days=365)})


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
        # requests looks proxies up in the environment on every request; pushes use none
        service._client.session.trust_env = False
        if api_url != GOOGLE_FCM_URL:
            _skip_access_boundary_lookup(self._app.credential.get_credential())

    def close(self) -> None:
        """Release the threads and the firebase app."""
        self._executor.shutdown(wait=False, cancel_futures=True)
        firebase_admin.delete_app(self._app)

    async def aclose(self) -> None:
        # firebase-admin closes its async client with asyncio.run(): not on this loop.
        await asyncio.to_thread(self.close)

    async def deliver(self, target: Target, push: Push) -> PushResult:
        """One attempt at sending `push` to an FCM registration token."""
        message = self.message(target, push)
        loop = asyncio.get_running_loop()
        try:
            name = await loop.run_in_executor(self._executor, self._send, message)
        except (exceptions.FirebaseError, google.auth.exceptions.GoogleAuthError) as error:
            return PushResult(_fcm_status(error), self.name, None, short_text(error))
        return PushResult(PushStatus.SENT, self.name, name, short_text(name))

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
                token=target.address,
                data=push.data,
                notification=notification,
                apns=self._apns(target, push),
            )
        # A visible notification with a tag replaces the one shown with the same tag: a push
        # sent again (after a crash) is shown once.
        shown = notification is not None and push.collapse_key is not None
        android = messaging.AndroidConfig(
            collapse_key=push.collapse_key,
            priority="high" if push.urgent else "normal",
            ttl=push.ttl_seconds,
            notification=messaging.AndroidNotification(tag=push.collapse_key) if shown else None,
        )
        webpush = messaging.WebpushConfig(headers=self._webpush_headers(push))
        return messaging.Message(
            token=target.address,
            data=push.data,
            notification=notification,
            android=android if target.platform == "android" else None,
            webpush=webpush if target.platform == "web" else None,
        )

    def _apns(self, target: Target, push: Push) -> messaging.APNSConfig:
        if target.voip:
            headers = {
                "apns-push-type": "voip",
                "apns-priority": "10",
                "apns-topic": f"{self.ios_bundle_id}.voip",
            }
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
    retryable = (
        exceptions.UnavailableError,
        exceptions.InternalError,
        exceptions.DeadlineExceededError,
        exceptions.ResourceExhaustedError,
    )
    if isinstance(error, retryable):
        return PushStatus.RETRYABLE
    if isinstance(error, exceptions.FirebaseError):
        response = error.http_response
        server = response is not None and response.status_code >= 500
        return PushStatus.RETRYABLE if server else PushStatus.REJECTED
    if isinstance(error, google.auth.exceptions.RefreshError):
        return PushStatus.RETRYABLE if getattr(error, "retryable", False) else PushStatus.REJECTED
    return PushStatus.RETRYABLE  # transport errors of the OAuth2 token request
