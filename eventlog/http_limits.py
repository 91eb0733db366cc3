"""What one HTTP connection or request may cost: bodies are bounded before they are read,
headers must arrive in time and within a size, and a process holds a bounded number of
connections. uvicorn closes a keep-alive connection that goes idle after a response, but
not one that never sends a request (19,990 such sockets used the descriptors up)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from eventlog.settings import Settings

JSON_TOO_DEEP = "the request body nests too deeply"


class BodyTooLargeError(Exception):
    """A request body went past the limit while it was being received."""


class BodyLimit:
    """ASGI middleware: a body over `max_bytes` on a path under `prefixes` gets 413, by its
    Content-Length before anything is read, or as soon as the streamed chunks pass it."""

    def __init__(self, app: ASGIApp, max_bytes: int, prefixes: tuple[str, ...]) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.prefixes = prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefixes):
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await _refuse(send, 413, "request body too large")
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLargeError
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracked_send)
        except BodyTooLargeError:
            if not started:
                await _refuse(send, 413, "request body too large")


async def _refuse(send: Send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def decode_json(data: str | bytes) -> Any:
    """`json.loads`, except that a body nesting deeper than the interpreter's recursion limit
    is malformed JSON (a client's mistake, 400) rather than a RecursionError (500)."""
    try:
        return json.loads(data)
    except RecursionError:
        raise json.JSONDecodeError(JSON_TOO_DEEP, "", 0) from None


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, plus: a connection must complete each request's headers
    within `header_seconds` of opening (or of the request's first byte), the request line and
    headers may hold at most `max_header_bytes` (else 431), and a connection beyond
    `max_connections` is closed at once. Configured by subclassing (`guarded_protocol`)."""

    header_seconds: float = 10.0
    max_header_bytes: int = 16 * 1024
    max_connections: int = 4096

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_timer: asyncio.TimerHandle | None = None
        self._header_bytes = 0
        self._headers_too_large = False
        if len(self.connections) > self.max_connections:
            self.logger.warning("connection refused: %d connections open", len(self.connections))
            transport.close()
            return
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_bytes = 0
        if self._header_timer is None:
            self._arm_header_timer()

    def on_url(self, url: bytes) -> None:
        self._count_header_bytes(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_header_bytes(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm_header_timer()
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        if not self._headers_too_large:
            super().send_400_response(msg)
            return
        body = b"request headers too large"
        self.transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            b"content-type: text/plain; charset=utf-8\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(body), body)
        )
        self.transport.close()

    def _count_header_bytes(self, size: int) -> None:
        self._header_bytes += size
        if self._header_bytes > self.max_header_bytes:
            self._headers_too_large = True
            raise ValueError("request headers too large")  # httptools: a parser error

    def _arm_header_timer(self) -> None:
        self._header_timer = self.loop.call_later(self.header_seconds, self._header_timeout)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timeout(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.close()


def guarded_protocol(settings: Settings) -> type[GuardedHttpToolsProtocol]:
    """The protocol class with the settings' limits."""
    return type(
        "OloHttpProtocol",
        (GuardedHttpToolsProtocol,),
        {
            "header_seconds": settings.header_timeout_seconds,
            "max_header_bytes": settings.max_header_bytes,
            "max_connections": settings.max_connections,
        },
    )


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options for olo's limits (`uvicorn.run(app, **server_options(settings))`)."""
    return {
        "http": guarded_protocol(settings),
        "timeout_keep_alive": settings.keep_alive_seconds,
        "limit_concurrency": settings.limit_concurrency,
        "h11_max_incomplete_event_size": settings.max_header_bytes,
    }
