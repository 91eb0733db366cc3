"""/graphql: strawberry's ASGI app with a fresh olo context per request (per socket), and
this process's caps on open websockets."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

import strawberry
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.types.unset import UNSET, UnsetType

from eventlog.api import Context, NotAuthenticatedError
from eventlog.http_limits import decode_json
from eventlog.websockets import (
    SERVER_FULL,
    USER_FULL,
    ConnectionGate,
    RefusingWebSocketAdapter,
    refuse,
    refuse_after_init,
)

log = logging.getLogger("olo")


class HasContext(Protocol):
    """The running olo, as the endpoint needs it."""

    def context(self) -> Context[Any]: ...


class GraphQLEndpoint(GraphQL[Context[Any], None]):
    """/graphql over HTTP and websockets, with a fresh olo context per request (per socket),
    and this process's caps on open websockets."""

    websocket_adapter_class = RefusingWebSocketAdapter

    def __init__(
        self,
        running: Callable[[], HasContext],
        schema: strawberry.Schema,
        gate: ConnectionGate,
        **options: Any,
    ):
        super().__init__(schema, **options)
        self._running = running
        self._gate = gate

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            return await super().__call__(scope, receive, send)
        connection = self._gate.enter()
        if connection is None:
            return await refuse(scope, receive, send, *SERVER_FULL)
        scope["olo.connection"] = connection
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._gate.leave(connection)

    def decode_json(self, data: str | bytes) -> object:
        return decode_json(data)  # too deeply nested: a 400 like any other malformed body

    async def get_context(self, request: Any, response: Any) -> Context[Any]:
        context = self._running().context()
        context.request, context.response = request, response
        return context

    async def on_ws_connect(self, context: Context[Any]) -> UnsetType | dict[str, object]:
        """Count the socket as its user's; over their cap it is closed (4430). A socket
        whose token does not authenticate stays uncounted: its operations say why."""
        try:
            viewer = await context.viewer()
        except NotAuthenticatedError:
            return UNSET
        except Exception:
            # Registering the user failed (the database, say): as before these caps, the
            # socket stays and its operations report the error; it is not counted meanwhile.
            log.warning("websocket user not counted: authentication failed", exc_info=True)
            return UNSET
        websocket = context.request
        assert isinstance(websocket, WebSocket)
        if not self._gate.claim(websocket.scope["olo.connection"], viewer.user_id):
            refuse_after_init(websocket, *USER_FULL)
            raise ConnectionRejectionError()
        return UNSET
