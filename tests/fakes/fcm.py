"""A loopback fake of FCM for tests: Google's OAuth2 token endpoint (service-account JWT
bearer grant, checked against the fake's own key) and the FCM v1 `messages:send` endpoint.

    async with FakeFcm() as fcm:
        sender = FcmSender(credentials.Certificate(fcm.service_account()), fcm.project_id,
                           fcm.base_url)
        ...
        assert fcm.messages == [{"token": "...", "data": {...}, ...}]
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
from typing import Any
from urllib.parse import parse_qs

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from google.auth import jwt

from fakes import LoopbackServer

_FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
_GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
_STATUS = {500: "INTERNAL", 503: "UNAVAILABLE"}


def _error(code: int, status: str, message: str, details: list[Any] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details is not None:
        body["details"] = details
    return JSONResponse({"error": body}, status_code=code)


class FakeFcm(LoopbackServer):
    """FCM on 127.0.0.1: issues OAuth2 tokens, records sent messages, fails on demand."""

    def __init__(self, project_id: str = "demo-olo") -> None:
        super().__init__()
        self.project_id = project_id
        self.messages: list[dict[str, Any]] = []  # accepted messages, as FCM received them
        self.requests = 0  # every messages:send request, failed ones included
        self.tokens_issued = 0
        self.unregistered: set[str] = set()  # answered 404 UNREGISTERED
        self.malformed: set[str] = set()  # answered 400 "not a valid FCM registration token"
        self.delay_seconds = 0.0  # how long messages:send hangs before answering
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._access_tokens: set[str] = set()
        self._failures: list[int] = []
        self._ids = itertools.count(1)
        self.app = FastAPI()
        self.app.post("/token")(self._token)
        self.app.post("/v1/projects/{project}/messages:send")(self._send)

    def fail_next(self, n: int, status: int = 503) -> None:
        """Answer the next `n` messages:send requests with HTTP `status` (500 or 503)."""
        self._failures = [status] * n

    def service_account(self) -> dict[str, Any]:
        """A service-account JSON whose token_uri is this fake, signed with the fake's key."""
        pem = self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        return {
            "type": "service_account",
            "project_id": self.project_id,
            "private_key_id": "fake-key-1",
            "private_key": pem,
            "client_email": f"push@{self.project_id}.iam.gserviceaccount.com",
            "client_id": "1",
            "token_uri": f"{self.base_url}/token",
        }

    async def _token(self, request: Request) -> JSONResponse:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return JSONResponse({"error": "unsupported_grant_type"}, 400)
        public = self._key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        try:
            # google-auth addresses the assertion to Google's token endpoint wherever it posts it
            jwt.decode(str(form.get("assertion")), certs=public, audience=_GOOGLE_TOKEN_URI)
        except ValueError as error:
            return JSONResponse({"error": "invalid_grant", "error_description": str(error)}, 400)
        token = secrets.token_urlsafe(16)
        self._access_tokens.add(token)
        self.tokens_issued += 1
        return JSONResponse({"access_token": token, "expires_in": 3600, "token_type": "Bearer"})

    async def _send(self, project: str, request: Request) -> JSONResponse:
        self.requests += 1
        body = await request.json()  # received whole before answering, as FCM would
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        if self._failures:
            status = self._failures.pop(0)
            return _error(status, _STATUS.get(status, "UNKNOWN"), "The service is unavailable.")
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme != "Bearer" or token not in self._access_tokens:
            return _error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
        if project != self.project_id:
            return _error(403, "PERMISSION_DENIED", f"Permission denied on project {project}.")
        message = body.get("message", {})
        refusal = self._refusal(message)
        if refusal is not None:
            return refusal
        self.messages.append(message)
        return JSONResponse({"name": f"projects/{project}/messages/{next(self._ids)}"})

    def _refusal(self, message: dict[str, Any]) -> JSONResponse | None:
        """FCM's answer to a message it would not deliver (None if it would)."""
        target = message.get("token")
        if not isinstance(target, str) or target in self.malformed:
            text = "The registration token is not a valid FCM registration token"
            return _error(
                400,
                "INVALID_ARGUMENT",
                text,
                [
                    {"@type": _FCM_ERROR, "errorCode": "INVALID_ARGUMENT"},
                    {
                        "@type": "type.googleapis.com/google.rpc.BadRequest",
                        "fieldViolations": [{"field": "message.token", "description": text}],
                    },
                ],
            )
        if target in self.unregistered:
            return _error(
                404,
                "NOT_FOUND",
                "Requested entity was not found.",
                [{"@type": _FCM_ERROR, "errorCode": "UNREGISTERED"}],
            )
        if not all(isinstance(v, str) for v in message.get("data", {}).values()):
            return _error(400, "INVALID_ARGUMENT", "Invalid value at 'message.data': not a string")
        return None
