"""What every domain's GraphQL schema shares: the request context, the viewer, and the
typed errors that are results rather than exceptions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from uuid import UUID

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache
from strawberry.fastapi import BaseContext
from strawberry.utils.str_converters import to_camel_case

from eventlog.hub import StreamHub
from eventlog.text import InvalidTextError

T = TypeVar("T")
S = TypeVar("S")
R = TypeVar("R")


@dataclass(frozen=True)
class Viewer:
    """The authenticated user making a request."""

    user_id: UUID
    firebase_uid: str


class NotAuthenticatedError(GraphQLError):
    def __init__(self, reason: str) -> None:
        super().__init__(f"not authenticated: {reason}", extensions={"code": "UNAUTHENTICATED"})


Authenticate = Callable[[str | None], Awaitable[Viewer]]


class Context(BaseContext, Generic[S]):
    """Per request (or per websocket): the services a resolver may use, and the viewer.
    A domain's resolvers see it as `Context[TheirServices]`: the running olo's services
    record has every domain's fields."""

    def __init__(self, services: S, hub: StreamHub, authenticate: Authenticate):
        super().__init__()
        self.services = services
        self.hub = hub
        self._authenticate = authenticate
        self._viewer: Viewer | None = None

    def _token(self) -> str | None:
        header: str | None = None
        if self.request is not None:
            header = self.request.headers.get("authorization")
        params = self.connection_params
        if not header and isinstance(params, dict):
            header = params.get("Authorization") or params.get("authorization")
            header = header or (f"Bearer {params['token']}" if params.get("token") else None)
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        return token.strip() if scheme.lower() == "bearer" else None

    async def viewer(self) -> Viewer:
        """The authenticated user; raises a GraphQL UNAUTHENTICATED error otherwise."""
        if self._viewer is None:
            self._viewer = await self._authenticate(self._token())
        return self._viewer


class SyntaxReportingParserCache(ParserCache):
    """strawberry's ParserCache, except that a syntax error is left for strawberry to parse
    and report: raised from the cache it escapes the subscription path, and a websocket
    client would get a bare `complete` instead of the error."""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        try:
            context.graphql_document = self.cached_parse_document(
                context.query, **context.parse_options
            )
        except GraphQLError:
            pass
        yield


@strawberry.type(description="The thing asked for does not exist (or is not yours to see).")
class NotFound:
    message: str


@strawberry.type(description="You may not do this.")
class Forbidden:
    message: str


@strawberry.type(description="The input was not acceptable; `field` says which part.")
class InvalidInput:
    message: str
    field: str | None = None


def parse_uuid(
    value: str, field: str, what: str, *, message: str | None = None
) -> UUID | InvalidInput:
    """`value` as an id, or what the client is told: `field` is the argument, `what` the
    kind of id (`message` only where a resolver has always said it otherwise)."""
    try:
        return UUID(value)
    except ValueError:
        return InvalidInput(message=message or f"{value!r} is not a {what}", field=field)


# Domain error class -> the typed result the client gets instead (a union member).
ErrorResults = Mapping[type[Exception], Callable[[Any], Any]]


def invalid_text(error: InvalidTextError) -> InvalidInput:
    """Text refused by eventlog/text.py, as the client is told: the field in camelCase."""
    field = to_camel_case(error.field)
    return InvalidInput(message=f"{field}: {error.reason}", field=field)


# Every mutation may answer these, whatever its domain's table says: text validation is one
# step shared by every service.
SHARED_ERRORS: ErrorResults = {InvalidTextError: invalid_text}


async def result_of(command: Awaitable[T], view: Callable[[T], R], errors: ErrorResults) -> R | Any:
    """What a mutation answers: the command's result as `view` shows it, or the typed
    result of its domain error (the error's most specific class in `errors`, else in
    SHARED_ERRORS); an error in neither is a bug, raised as a GraphQL error."""
    try:
        result = await command
    except Exception as error:
        for table in (errors, SHARED_ERRORS):
            for kind in type(error).__mro__:
                if kind in table:
                    return table[kind](error)
        raise
    return view(result)
