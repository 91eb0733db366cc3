"""OneSignal through onesignal-sdk's AsyncClient (API_ROOT configurable)."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID, uuid5

import httpx
from onesignal_sdk.client import AsyncClient
from onesignal_sdk.error import OneSignalHTTPError
from onesignal_sdk.response import OneSignalResponse

from domains.notification.push import Push, PushResult, PushStatus, Target, short_text
from eventlog.settings import Settings

INVALID_ID_KEYS = (
    "invalid_player_ids",
    "invalid_subscription_ids",
    "invalid_aliases",
    "invalid_external_user_ids",
)


class PooledAsyncClient(AsyncClient):
    """onesignal-sdk's AsyncClient, sending on one pooled httpx client. The SDK's own
    `send_notification` opens a new httpx client for every request (a TLS context and a
    connection each): 47 pushes/s at 95% of a core, measured with bench/notifications.py."""

    def __init__(
        self, app_id: str, api_key: str, options: dict[str, str], http: httpx.AsyncClient
    ) -> None:
        super().__init__(app_id, api_key, options=options)
        self.http = http

    async def send_notification(self, notification_body: dict[str, Any]) -> OneSignalResponse:
        request = self._kwargs_send_notification(notification_body)
        response = await self.http.request(
            request["method"],
            request["url"],
            headers={"Authorization": f"Basic {request['token']}"},
            json=request["payload"],
        )
        if response.status_code >= 300:
            raise OneSignalHTTPError(response)
        return OneSignalResponse(response)


class OneSignalSender:
    """OneSignal's create-notification API through onesignal-sdk's AsyncClient."""

    name = "onesignal"

    def __init__(
        self,
        app_id: str,
        api_key: str,
        api_root: str,
        *,
        timeout_seconds: float = 3.0,
        connections: int = 100,
    ) -> None:
        http = httpx.AsyncClient(
            timeout=timeout_seconds,
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        )
        options = {"API_ROOT": api_root.rstrip("/")}
        self.client = PooledAsyncClient(app_id, api_key, options, http)
        self.timeout_seconds = timeout_seconds

    async def aclose(self) -> None:
        await self.client.http.aclose()

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> OneSignalSender | None:
        """A OneSignal sender when an app id and key are configured, else None."""
        if not (settings.onesignal_app_id and settings.onesignal_api_key):
            return None
        return cls(
            settings.onesignal_app_id,
            settings.onesignal_api_key,
            settings.onesignal_api_root,
            **options,
        )

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
        if push.id is not None:
            # OneSignal sends one notification per idempotency key (kept 30 days)
            body["idempotency_key"] = str(uuid5(UUID(push.id), target.address))
        return body

    async def deliver(self, target: Target, push: Push) -> PushResult:
        """One attempt at sending `push` to a OneSignal subscription."""
        try:
            async with asyncio.timeout(self.timeout_seconds):
                response = await self.client.send_notification(self.body(target, push))
        except (TimeoutError, httpx.TransportError, ValueError) as error:
            # ValueError: a non-JSON answer, which comes from a proxy in trouble
            return PushResult(PushStatus.RETRYABLE, self.name, None, short_text(repr(error)))
        except OneSignalHTTPError as error:
            status = error.status_code
            retry = status >= 500 or status == 429
            return PushResult(
                PushStatus.RETRYABLE if retry else _onesignal_refusal(error.message),
                self.name,
                None,
                short_text(f"{status}: {error.message}"),
            )
        return _onesignal_result(response.body)


def _onesignal_refusal(message: str) -> PushStatus:
    dead = "not subscribed" in message.lower() or "invalid" in message.lower()
    return PushStatus.INVALID_TOKEN if dead else PushStatus.REJECTED


def _onesignal_result(body: Any) -> PushResult:
    """A 2xx answer: OneSignal reports unknown subscriptions inside a successful response."""
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, dict) and any(errors.get(key) for key in INVALID_ID_KEYS):
        return PushResult(PushStatus.INVALID_TOKEN, "onesignal", None, short_text(body))
    if isinstance(errors, list) and errors:
        return PushResult(_onesignal_refusal(str(errors[0])), "onesignal", None, short_text(body))
    message_id = body.get("id") if isinstance(body, dict) else None
    if not message_id:
        return PushResult(PushStatus.REJECTED, "onesignal", None, short_text(body))
    return PushResult(PushStatus.SENT, "onesignal", str(message_id), short_text(body))
