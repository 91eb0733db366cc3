"""The committed SDL is the API contract the app is built against: it must match the code."""

from __future__ import annotations

from pathlib import Path

from cli import schema_sdl

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_committed_schema_graphql_is_current() -> None:
    assert SCHEMA_FILE.read_text() == schema_sdl(), (
        "schema.graphql is stale: run `make schema` and commit it"
    )


def test_contract_operations_exist() -> None:
    sdl = schema_sdl()
    for operation in ("me:", "balanceHistory(", "updateProfile(", "purchaseCoins(", "balance:"):
        assert operation in sdl, operation
