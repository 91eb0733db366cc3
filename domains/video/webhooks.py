"""`/webhooks/agora`: Agora's Notification Callback Service says who joined or left a call's
channel. Forged bodies are refused; each notice counts once; a party's reports are ordered
by their clientSeq."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from domains.video.aggregate import CallError
from domains.video.agora import (
    SIGNATURE_HEADER,
    MalformedNoticeError,
    call_of,
    parse_notice,
    side_for,
    verify_signature,
)
from domains.video.service import CallService


def agora_webhooks(calls: Callable[[], CallService], secret: str) -> APIRouter:
    """The route; `calls` gives the running call service (it starts with the app)."""
    router = APIRouter()

    @router.post("/webhooks/agora")
    async def agora(request: Request) -> JSONResponse:
        body = await request.body()
        if not verify_signature(body, request.headers.get(SIGNATURE_HEADER), secret):
            return JSONResponse({"error": "bad signature"}, status_code=401)
        try:
            notice = parse_notice(body)
        except MalformedNoticeError as error:
            return JSONResponse({"error": str(error)}, status_code=400)
        side = side_for(notice.uid) if notice.uid is not None else None
        try:
            applied = await calls().receive_notice(notice, call_of(notice.channel), side)
        except CallError as error:
            return JSONResponse({"status": "ignored", "reason": str(error)})
        return JSONResponse({"status": "ok" if applied else "duplicate"})

    return router
