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
from eventlog.rates import RateLimits
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
    """No valid token: the client is told one of a few short reasons, never the verifier's
    own text (it may quote the token, or a claim the caller made up, at any length)."""

    REASONS = (
        "missing token",
        "token too large",
        "token expired",
        "token for another project",
        "cannot verify token now",
    )

    def __init__(self, reason: str) -> None:
        shown = next((known for known in self.REASONS if reason.startswith(known)), None)
        message = f"not authenticated: {shown or 'invalid token'}"
        super().__init__(message, extensions={"code": "UNAUTHENTICATED"})


class InvalidArgumentError(GraphQLError):
    """An argument that cannot be used at all (an unknown cursor): a request error, with a
    short message of the resolver's own words."""

    def __init__(self, message: str) -> None:
        super().__init__(message, extensions={"code": "BAD_USER_INPUT"})


Authenticate = Callable[[str | None], Awaitable[Viewer]]


class Context(BaseContext, Generic[S]):
    """Per request (or per websocket): the services a resolver may use, and the viewer.
    A domain's resolvers see it as `Context[TheirServices]`: the running olo's services
    record has every domain's fields."""

    def __init__(
        self,
        services: S,
        hub: StreamHub,
        authenticate: Authenticate,
        rates: RateLimits | None = None,
    ):
        super().__init__()
        self.services = services
        self.hub = hub
        self._authenticate = authenticate
        self._rates = rates
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

    async def rate_limited(self, action: str) -> RateLimited | None:
        """Spend one of the viewer's budget for `action` (the mutation's name); what the
        client is told when none is left. Resolvers ask before building their command, so a
        limited call changes nothing."""
        if self._rates is None:
            return None
        viewer = await self.viewer()
        limited = await self._rates.hit(viewer.user_id, action)
        if limited is None:
            return None
        return RateLimited(
            message=f"{action} is limited to {limited.limit}; try again later",
            retry_after_seconds=limited.retry_after_seconds,
        )


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


@strawberry.type(
    description="Too many of these from you for now: try again after `retryAfterSeconds`."
)
class RateLimited:
    message: str
    retry_after_seconds: int


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
        said = message or f"{shown(value)} is not a {what}"
        return InvalidInput(message=short(said), field=field)


def shown(value: str, limit: int = 40) -> str:
    """`value` quoted for a message, cut to `limit` characters: a client's input is echoed
    only as far as it helps to recognise it."""
    return repr(value) if len(value) <= limit else repr(value[:limit]) + "…"


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
                    typed = table[kind](error)
                    if isinstance(getattr(typed, "message", None), str):
                        typed.message = short(typed.message)  # a domain error may quote input
                    return typed
        raise
    return view(result)


MAX_MESSAGE_CHARS = 160


def short(message: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """`message`, cut to `limit` characters (a client's own huge input is never echoed)."""
    return message if len(message) <= limit else message[: limit - 1] + "…"
