"""What one GraphQL operation may cost, and what a client is told when something fails.

Every limit is checked before the expensive step it protects: the query's length and tokens
while parsing (graphql-core stops at the limit), aliases and depth before the standard
validation rules (whose overlapping-fields rule is quadratic in a document's aliases: 100,000
of them froze the process for 9.8 s). Errors reach a client as a short message and a typed
`extensions.code`; an unexpected exception's text never does (it is logged)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import strawberry
from graphql import (
    ASTValidationRule,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSyntaxError,
    InlineFragmentNode,
    OperationDefinitionNode,
    ValidationContext,
    validate,
)
from strawberry.extensions import (
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.types import ExecutionContext

from eventlog.api import SyntaxReportingParserCache, short
from eventlog.settings import Settings

log = logging.getLogger("olo.graphql")

QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
BAD_USER_INPUT = "BAD_USER_INPUT"
INTERNAL = "INTERNAL"

CACHE_SIZE = 1000
_VARIABLE = re.compile(r"Variable '\$\w{1,64}'")


@dataclass(frozen=True)
class QueryLimits:
    """Bounds on one operation's document (defaults: the settings' defaults)."""

    chars: int = 5000
    tokens: int = 500
    aliases: int = 50
    depth: int = 12
    fields: int = 100

    @classmethod
    def from_settings(cls, settings: Settings) -> QueryLimits:
        return cls(
            chars=settings.graphql_max_chars,
            tokens=settings.graphql_max_tokens,
            aliases=settings.graphql_max_aliases,
            depth=settings.graphql_max_depth,
            fields=settings.graphql_max_fields,
        )

    def extensions(self) -> list[Callable[[], SchemaExtension]]:
        """The schema extensions enforcing these limits, the caches and the error masking, in
        order (a fresh instance of each per operation)."""
        rules = (
            *MaxAliasesLimiter(self.aliases).validation_rules,
            *QueryDepthLimiter(self.depth).validation_rules,
            max_fields_rule(self.fields),
        )
        return [
            lambda: MaxTokensLimiter(self.tokens),
            lambda: LimitedParserCache(self.chars, maxsize=CACHE_SIZE),
            lambda: LimitedValidationCache(rules, maxsize=CACHE_SIZE),
            ClientErrors,
        ]


class LimitedParserCache(SyntaxReportingParserCache):
    """The parser cache, with the query's length bounded too, before anything looks at it (a
    quarter megabyte of comments or of one string literal is no token bomb, yet lexing it in
    Python, or printing its first line in an error, holds the event loop for milliseconds)."""

    def __init__(self, max_chars: int, maxsize: int) -> None:
        super().__init__(maxsize=maxsize)
        self.max_chars = max_chars

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query is not None and len(context.query) > self.max_chars:
            _stand_in_for_too_large(context)
            yield
            return
        try:
            context.graphql_document = self.cached_parse_document(
                context.query, **context.parse_options
            )
        except GraphQLSyntaxError as error:
            if "Parsing aborted" in error.message:  # over the token or the nesting limit
                _stand_in_for_too_large(context)
        yield


# Strawberry parses a query the cache could not, to report the error on every transport
# (see SyntaxReportingParserCache). For a query over a limit it parses this stand-in
# instead, which fails at once with a limit error ("the query is too large" to the client),
# rather than lexing the query up to the limit a second time.
_TOO_LARGE = "{ too_large }"


def _stand_in_for_too_large(context: Any) -> None:
    context.query = _TOO_LARGE
    context.parse_options["max_tokens"] = 0


@cache
def _limit_check(maxsize: int) -> Callable[..., list[GraphQLError]]:
    return lru_cache(maxsize=maxsize)(validate)


def max_fields_rule(limit: int) -> type[ASTValidationRule]:
    """A validation rule: the operations select at most `limit` fields, each fragment counted
    wherever it is spread. The standard rule that checks that fields can merge compares
    every pair of same-named fields: 300 copies of one field took 60-480 ms, 100 about 10."""

    class MaxFields(ASTValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            document = context.document
            fragments = {
                d.name.value: d
                for d in document.definitions
                if isinstance(d, FragmentDefinitionNode)
            }
            counted: dict[str, int] = {}

            def count(owner: Any, seen: frozenset[str]) -> int:
                total = 0
                for selection in owner.selection_set.selections if owner.selection_set else ():
                    if isinstance(selection, FieldNode):
                        # Introspection's own fields are not counted (GraphiQL's query has
                        # ~250; production has no introspection).
                        inner = selection.name.value.startswith("__")
                        total += 1 + (0 if inner else count(selection, seen))
                    elif isinstance(selection, InlineFragmentNode):
                        total += count(selection, seen)
                    elif isinstance(selection, FragmentSpreadNode):
                        name = selection.name.value
                        if name in seen or name not in fragments:
                            continue  # a cycle or an unknown fragment: other rules say so
                        if name not in counted:
                            counted[name] = count(fragments[name], seen | {name})
                        total += counted[name]
                    if total > limit:
                        break
                return total

            selected = sum(
                count(d, frozenset())
                for d in document.definitions
                if isinstance(d, OperationDefinitionNode)
            )
            if selected > limit:
                context.report_error(GraphQLError(f"more than {limit} fields selected"))

    return MaxFields


class LimitedValidationCache(ValidationCache):
    """The validation cache, after the alias and depth rules have passed on their own; a
    document over a limit is refused without running the standard rules at all."""

    def __init__(self, limits: tuple[type[ASTValidationRule], ...], maxsize: int) -> None:
        super().__init__(maxsize=maxsize)
        self.limits = limits
        self.check_limits = _limit_check(maxsize)

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        refused = self.check_limits(context.schema._schema, context.graphql_document, self.limits)
        if refused:
            context.pre_execution_errors = [_with_code(e, QUERY_TOO_COMPLEX) for e in refused]
            yield
            return
        yield from super().on_validate()


class ClientErrors(MaskErrors):
    """Every error as a client may see it: a short message and `extensions.code`. Errors of
    the request (syntax, validation, limits, variables) and errors raised with a code keep
    their (shortened) message; anything else is a bug, shown as `INTERNAL` (strawberry has
    logged the original before this runs)."""

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        return [client_error(error) for error in errors]


class BugLoggingSchema(strawberry.Schema):
    """strawberry's Schema, logging with their tracebacks only the errors that are bugs
    (`INTERNAL` to the client). A client's own mistakes (bad tokens, syntax, limits) are
    logged at debug level and cut short: printed in full with the query's excerpt, each
    refused bomb cost milliseconds and a log line per request."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        bugs = []
        for error in errors:
            code = (client_error(error).extensions or {}).get("code")
            if code == INTERNAL:
                bugs.append(error)
            else:
                log.debug("request refused (%s): %s", code, short(error.message))
        super().process_errors(bugs, execution_context)


def client_error(error: GraphQLError) -> GraphQLError:
    """`error` as a client sees it (see `ClientErrors`)."""
    original = error.original_error
    if (error.extensions or {}).get("code"):
        return _with_code(error, str((error.extensions or {})["code"]))
    if isinstance(original, RecursionError):
        return _replaced(error, "the query nests too deeply", QUERY_TOO_COMPLEX)
    if error.path is not None:
        return _replaced(error, "internal error", INTERNAL)
    if isinstance(error, GraphQLSyntaxError) or isinstance(original, GraphQLSyntaxError):
        if "Parsing aborted" in error.message:  # over the length, token or nesting limit
            return _replaced(error, "the query is too large", QUERY_TOO_COMPLEX)
        return _with_code(error, PARSE_FAILED)
    if variable := _VARIABLE.match(error.message):
        if original is None or type(original) is GraphQLError:
            return _with_code(error, BAD_USER_INPUT)  # graphql-core's words, cut short
        # A scalar's own words may be Python's (int(), UUID()) and quote the value.
        return _replaced(error, f"{variable[0]} has an invalid value", BAD_USER_INPUT)
    if original is None or isinstance(original, GraphQLError):
        return _with_code(error, VALIDATION_FAILED)
    return _replaced(error, "internal error", INTERNAL)


def _with_code(error: GraphQLError, code: str) -> GraphQLError:
    return _replaced(error, error.message, code)


def _replaced(error: GraphQLError, message: str, code: str) -> GraphQLError:
    extensions: dict[str, Any] = {**(error.extensions or {}), "code": code}
    return GraphQLError(
        short(message),
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions=extensions,
    )
