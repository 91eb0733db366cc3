"""A loopback fake of OneSignal's create-notification API (`POST {API_ROOT}/notifications`).

async with FakeOneSignal() as onesignal:
    sender = OneSignalSender(onesignal.app_id, onesignal.api_key, onesignal.base_url)
    ...
    assert onesignal.notifications == [{"app_id": ..., "include_subscription_ids": [...]}]
"""

from __future__ import annotations

import asyncio
import hmac
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from fakes import LoopbackServer

_TARGETS = ("include_subscription_ids", "include_player_ids")


class FakeOneSignal(LoopbackServer):
    """OneSignal on 127.0.0.1: checks the app and key, records notifications, fails on demand."""

    def __init__(self, app_id: str = "olo-test-app", api_key: str = "olo-test-key") -> None:
        super().__init__()
        self.app_id = app_id
        self.api_key = api_key
        self.notifications: list[dict[str, Any]] = []  # accepted bodies, as received
        self.requests = 0  # every request, failed ones included
        self.unsubscribed: set[str] = set()  # subscription ids OneSignal does not know
        self.delay_seconds = 0.0
        self._failures: list[int] = []
        self._by_idempotency_key: dict[str, dict[str, Any]] = {}
        self.app = FastAPI()
        self.app.post("/notifications")(self._create)

    def fail_next(self, n: int, status: int = 500) -> None:
        """Answer the next `n` requests with HTTP `status`."""
        self._failures = [status] * n

    async def _create(self, request: Request) -> JSONResponse:
        self.requests += 1
        body = await request.json()  # received whole before answering, as OneSignal would
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        if self._failures:
            return JSONResponse({"errors": ["Internal server error"]}, self._failures.pop(0))
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        if scheme not in ("Basic", "Key") or not hmac.compare_digest(key, self.api_key):
            return JSONResponse(
                {
                    "errors": [
                        "Access denied.  Please include an 'Authorization: "
                        "Key' header with a valid API key"
                    ]
                },
                403,
            )
        if body.get("app_id") != self.app_id:
            return JSONResponse({"errors": ["app_id not found."]}, 400)
        ids = [i for key in _TARGETS for i in body.get(key, [])]
        if not ids:
            return JSONResponse(
                {
                    "errors": [
                        "You must include which players, segments, or tags "
                        "you wish to send this notification to."
                    ]
                },
                400,
            )
        key = body.get("idempotency_key")
        if key in self._by_idempotency_key:
            # OneSignal sends nothing again for a key it has seen and answers as it did then
            return JSONResponse(self._by_idempotency_key[key])
        return self._answer(body, ids)

    def _answer(self, body: dict[str, Any], ids: list[str]) -> JSONResponse:
        """OneSignal answers 200 even when some or all subscriptions are unknown."""
        invalid = [i for i in ids if i in self.unsubscribed]
        if len(invalid) == len(ids):
            return JSONResponse({"id": "", "errors": {"invalid_player_ids": invalid}})
        self.notifications.append(body)
        answer: dict[str, Any] = {"id": str(uuid.uuid4()), "external_id": None}
        if invalid:
            answer["errors"] = {"invalid_player_ids": invalid}
        if body.get("idempotency_key"):
            self._by_idempotency_key[body["idempotency_key"]] = answer
        return JSONResponse(answer)
