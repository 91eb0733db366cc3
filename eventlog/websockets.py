"""Caps on /graphql websockets: at most so many open in one process, and so many per user.
A refused socket is closed with a graphql-transport-ws style 4xxx code and a reason."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from starlette.websockets import WebSocket
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

# Close codes (4000-4999: the application's own; graphql-transport-ws uses 44xx itself).
SERVER_FULL = (4503, "Too many connections on this server")
USER_FULL = (4430, "Too many connections for this user")
# Where a refusal decided during `connection_init` waits for strawberry's close (ASGI scope).
_REFUSAL = "olo.websocket.refusal"


@dataclass
class Connection:
    """One open websocket; whose it is once its `connection_init` authenticated."""

    user_id: UUID | None = None


class ConnectionGate:
    """Counts this process's open websockets, in total and per authenticated user."""

    def __init__(self, total: int, per_user: int) -> None:
        self.total = total
        self.per_user = per_user
        self._open = 0
        self._users: Counter[UUID] = Counter()

    @property
    def open(self) -> int:
        return self._open

    def enter(self) -> Connection | None:
        """A new socket, or None when the process already holds its cap."""
        if self._open >= self.total:
            return None
        self._open += 1
        return Connection()

    def claim(self, connection: Connection, user_id: UUID) -> bool:
        """Count the socket as `user_id`'s; False when they already hold their cap."""
        if connection.user_id is not None:
            return connection.user_id == user_id
        if self._users[user_id] >= self.per_user:
            return False
        self._users[user_id] += 1
        connection.user_id = user_id
        return True

    def leave(self, connection: Connection) -> None:
        self._open -= 1
        if connection.user_id is not None:
            self._users[connection.user_id] -= 1
            if self._users[connection.user_id] <= 0:
                del self._users[connection.user_id]


async def refuse(scope: Any, receive: Any, send: Any, code: int, reason: str) -> None:
    """Complete the handshake only to close with `code`: a browser sees no HTTP status."""
    websocket = WebSocket(scope, receive, send)
    protocol = GRAPHQL_TRANSPORT_WS_PROTOCOL
    subprotocol = protocol if protocol in (scope.get("subprotocols") or []) else None
    await websocket.accept(subprotocol=subprotocol)
    await websocket.close(code=code, reason=reason)


def refuse_after_init(websocket: WebSocket, code: int, reason: str) -> None:
    """Make strawberry's close of a rejected `connection_init` (always 4403 Forbidden) say
    `code` and `reason` instead."""
    websocket.scope[_REFUSAL] = (code, reason)


class RefusingWebSocketAdapter(ASGIWebSocketAdapter):
    """strawberry's websocket adapter, closing with the refusal set by `refuse_after_init`."""

    async def close(self, code: int, reason: str) -> None:
        refusal = self.ws.scope.pop(_REFUSAL, None)
        if refusal is not None:
            code, reason = refusal
        await super().close(code, reason)
