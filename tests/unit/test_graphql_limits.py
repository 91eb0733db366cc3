"""The GraphQL limits and the client's view of errors, on a small schema with olo's
extensions: each bomb is refused with QUERY_TOO_COMPLEX before the step it would make
expensive, and no error carries Python's or a library's text."""

from __future__ import annotations

import time
import tracemalloc
import uuid
from typing import Any

import strawberry

from app import build_schema
from eventlog.api import NotAuthenticatedError
from eventlog.graphql_limits import QueryLimits


@strawberry.type
class Item:
    name: str

    @strawberry.field
    def child(self) -> Item:
        return Item(name=self.name + "'")


@strawberry.type
class Query:
    @strawberry.field
    def item(self) -> Item:
        return Item(name="a")

    @strawberry.field
    def by_id(self, id: uuid.UUID) -> str:
        return str(id)

    @strawberry.field
    def count(self, n: int) -> int:
        return n

    @strawberry.field
    def crash(self) -> int:
        raise ValueError("invalid literal for int() with base 10: 'secret'")

    @strawberry.field
    def denied(self) -> int:
        raise NotAuthenticatedError("invalid token: " + "x" * 100_000)


SCHEMA = strawberry.Schema(Query, extensions=QueryLimits().extensions())


async def _errors(query: str, variables: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    result = await SCHEMA.execute(query, variable_values=variables)
    assert result.errors, result
    return [{"message": e.message, "code": (e.extensions or {}).get("code")} for e in result.errors]


async def test_an_alias_bomb_is_refused_before_the_quadratic_validation() -> None:
    # Aliases of one field, within the token limit: graphql-core's overlapping-fields rule
    # compares every pair; the alias limit answers before it runs.
    bomb = "{ item { " + " ".join(f"a{i}: name" for i in range(60)) + " } }"
    tracemalloc.start()
    started = time.perf_counter()
    errors = await _errors(bomb)
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert {"message": "60 aliases found. Allowed: 50", "code": "QUERY_TOO_COMPLEX"} in errors
    assert elapsed < 5 and peak < 50 * 2**20  # generous: only a runaway would fail


async def test_depth_tokens_length_and_nesting_are_bounded() -> None:
    deep = "{ item " + "{ child " * 20 + "{ name }" + " }" * 21
    assert (await _errors(deep))[0]["code"] == "QUERY_TOO_COMPLEX"
    tokens = "{ item { " + "name " * 1000 + "} }"
    assert await _errors(tokens) == [
        {"message": "the query is too large", "code": "QUERY_TOO_COMPLEX"}
    ]
    long = "{ item { name } }" + " " * 10_000
    assert await _errors(long) == [
        {"message": "the query is too large", "code": "QUERY_TOO_COMPLEX"}
    ]
    nested = "{a" * 900 + "}" * 900
    assert await _errors(nested) == [
        {"message": "the query is too large", "code": "QUERY_TOO_COMPLEX"}
    ]
    copies = "{ item { " + "name " * 101 + "} }"
    assert await _errors(copies) == [
        {"message": "more than 100 fields selected", "code": "QUERY_TOO_COMPLEX"}
    ]
    spread = "fragment F on Item { name name name name } { " + "item { ...F } " * 30 + "}"
    assert (await _errors(spread))[0]["message"] == "more than 100 fields selected"


async def test_the_real_schema_accepts_introspection_under_the_limits() -> None:
    from graphql import get_introspection_query

    result = await build_schema().execute(get_introspection_query(descriptions=True))
    assert result.errors is None


async def test_unexpected_exceptions_are_masked_and_coded_ones_kept_short() -> None:
    assert await _errors("{ crash }") == [{"message": "internal error", "code": "INTERNAL"}]
    denied = await _errors("{ denied }")
    assert denied == [{"message": "not authenticated: invalid token", "code": "UNAUTHENTICATED"}]


async def test_bad_values_are_user_errors_without_python_text() -> None:
    by_id = await _errors("query($id: UUID!) { byId(id: $id) }", {"id": "zz" * 1000})
    assert by_id == [{"message": "Variable '$id' has an invalid value", "code": "BAD_USER_INPUT"}]
    count = await _errors("query($n: Int!) { count(n: $n) }", {"n": "1" * 100_000 + "x"})
    assert count[0]["code"] == "BAD_USER_INPUT" and len(count[0]["message"]) <= 160
    unknown = await _errors("{ nope" + "x" * 2_000 + " }")
    assert unknown[0]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert len(unknown[0]["message"]) <= 160
    syntax = await _errors('{ item(x: "' + "y" * 2_000 + '" ')
    assert syntax[0]["code"] == "GRAPHQL_PARSE_FAILED" and len(syntax[0]["message"]) <= 160
