"""A loopback fake of Agora for tests: the kicking-rule REST endpoint (`FakeAgora`) and a
sender of signed Notification Callback Service webhooks (`NoticeSender`).

    async with FakeAgora() as agora:
        settings.agora_rest_url = agora.base_url
        ...
        assert agora.kicks == [{"cname": "call-...", "uid": 2, "time_in_seconds": 60}]
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import time
import uuid
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from eventlog.settings import Settings
from fakes import LoopbackServer

_DEFAULTS = Settings.model_fields


def _default(name: str) -> str:
    return str(_DEFAULTS[name].default)


class FakeAgora(LoopbackServer):
    """Agora's REST API on 127.0.0.1: records kicking rules, checks basic auth, fails on demand."""

    def __init__(
        self,
        *,
        app_id: str = _default("agora_app_id"),
        customer_id: str = _default("agora_customer_id"),
        customer_secret: str = _default("agora_customer_secret"),
    ) -> None:
        super().__init__()
        self.app_id = app_id
        self._credentials = f"{customer_id}:{customer_secret}"
        self.kicks: list[dict[str, Any]] = []  # accepted rules: cname, uid, time_in_seconds
        self.requests = 0  # every kicking-rule request, failed ones included
        self._failures = 0
        self._rule_ids = itertools.count(1953)
        self.app = FastAPI()
        self.app.post("/dev/v1/kicking-rule")(self._kicking_rule)

    def fail_next(self, n: int) -> None:
        """Answer the next `n` requests with HTTP 500, as Agora does when it is in trouble."""
        self._failures = n

    async def _kicking_rule(self, request: Request) -> JSONResponse:
        self.requests += 1
        if self._failures > 0:
            self._failures -= 1
            return JSONResponse({"message": "Internal Server Error"}, status_code=500)
        if not self._authorized(request.headers.get("authorization")):
            return JSONResponse({"message": "Invalid authentication credentials"}, 401)
        try:
            body = json.loads(await request.body())
        except ValueError:
            return JSONResponse({"message": "body is not JSON"}, 400)
        problem = self._problem(body)
        if problem:
            return JSONResponse({"message": problem}, 400)
        self.kicks.append({key: body[key] for key in ("cname", "uid", "time_in_seconds")})
        return JSONResponse({"status": "success", "id": next(self._rule_ids)})

    def _authorized(self, header: str | None) -> bool:
        scheme, _, encoded = (header or "").partition(" ")
        try:
            credentials = base64.b64decode(encoded, validate=True).decode()
        except ValueError:
            return False
        return scheme.lower() == "basic" and hmac.compare_digest(credentials, self._credentials)

    def _problem(self, body: Any) -> str | None:
        """Why Agora would refuse this rule (None if it would not), for the rules olo creates."""
        if not isinstance(body, dict):
            return "body must be an object"
        if body.get("appid") != self.app_id:
            return f"unknown appid {body.get('appid')!r}"
        if not isinstance(body.get("cname"), str) or not body["cname"]:
            return "cname must be a channel name"
        uid, seconds = body.get("uid"), body.get("time_in_seconds")
        if not isinstance(uid, int) or isinstance(uid, bool) or not 0 < uid < 2**32:
            return "uid must be 1..2^32-1"
        if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds < 0:
            return "time_in_seconds must be a non-negative integer"
        if body.get("privileges") != ["join_channel"]:
            return "privileges must be ['join_channel']"
        return None


LEAVES = frozenset({104, 106, 108})


class NoticeSender:
    """Posts NCS channel notices to olo's webhook, signed as Agora signs them."""

    def __init__(self, webhook_url: str, secret: str = _default("agora_ncs_secret")) -> None:
        self.webhook_url = webhook_url
        self.secret = secret

    def notice(
        self,
        event_type: int,
        channel: str,
        uid: int | None = None,
        client_seq: int | None = None,
        notice_id: str | None = None,
        *,
        ts: int | None = None,
    ) -> bytes:
        """An NCS body as Agora sends it; a fresh noticeId unless one is given (a redelivery)."""
        payload: dict[str, Any] = {"channelName": channel}
        if uid is not None:
            payload.update(uid=uid, platform=1, clientSeq=client_seq)
        if event_type in LEAVES:
            payload.update(reason=1, duration=60)
        payload["ts"] = int(time.time()) if ts is None else ts
        document = {
            "noticeId": notice_id or f"{uuid.uuid4().int % 10**10}:{event_type}",
            "productId": 1,
            "eventType": event_type,
            "notifyMs": int(time.time() * 1000),
            "sid": uuid.uuid4().hex.upper(),
            "payload": payload,
        }
        return json.dumps(document).encode()

    async def send(self, body: bytes, *, forged: bool = False) -> httpx.Response:
        """POST the raw body with Agora's signature headers (a wrong secret's if `forged`)."""
        key = ("forged-" + self.secret if forged else self.secret).encode()
        headers = {
            "Content-Type": "application/json",
            "Agora-Signature": hmac.new(key, body, hashlib.sha1).hexdigest(),
            "Agora-Signature-V2": hmac.new(key, body, hashlib.sha256).hexdigest(),
        }
        async with httpx.AsyncClient(timeout=10.0) as client:
            return await client.post(self.webhook_url, content=body, headers=headers)
