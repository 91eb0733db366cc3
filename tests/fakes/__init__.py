"""Fakes of outside services, each a real HTTP server on 127.0.0.1 inside the test's event
loop, so olo's real HTTP clients are exercised."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Self

import uvicorn
from fastapi import FastAPI


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """Serve an app under uvicorn in this event loop on a loopback port; yield its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", ws="websockets-sansio"
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        # Bounded, but not tight: olo's shutdown lets pushes under way finish (up to the push
        # deadline) and closes the providers' threads, which on a slow 2-core machine has
        # taken over 15 s (a teardown error in CI, the test itself passed).
        await asyncio.wait_for(task, timeout=45)


class LoopbackServer:
    """A fake service's FastAPI `app`, served on 127.0.0.1 for the `async with` block."""

    app: FastAPI
    base_url = ""

    def __init__(self) -> None:
        self._stack = contextlib.AsyncExitStack()

    async def __aenter__(self) -> Self:
        self.base_url = await self._stack.enter_async_context(serving(self.app))
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._stack.aclose()
