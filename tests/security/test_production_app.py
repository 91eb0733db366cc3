"""olo served in production mode (the default): real token verification, no sandbox store, no
GraphiQL, introspection or OpenAPI pages; and the same app in development mode for contrast."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fakes import serving
from fakes.google_certs import FakeGoogleCerts

from app import create_app
from domains.profile.auth import MAX_TOKEN_BYTES, mint_emulator_token
from eventlog.settings import Settings

PROJECT = "olo-prod-test"
ME = "{ me { id email balance { coins } } }"
PURCHASE = (
    'mutation { purchaseCoins(packId: "coins_100", store: "sandbox", receipt: "txn-1") {'
    " __typename ... on InvalidInput { message field } } }"
)
INTROSPECTION = "{ __schema { queryType { name } } }"


def production_settings(certs_url: str) -> Settings:
    """Production with every secret set to a non-development value."""
    return Settings(
        mode="production",
        firebase_project_id=PROJECT,
        firebase_certs_url=certs_url,
        agora_app_certificate="0f" * 16,
        agora_ncs_secret="ncs-production-secret",
        agora_customer_id="customer",
        agora_customer_secret="customer-secret",
        leadership_poll_seconds=0.2,
    )


@pytest.fixture
async def google(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeGoogleCerts]:
    monkeypatch.delenv("FIREBASE_AUTH_EMULATOR_HOST", raising=False)
    async with FakeGoogleCerts() as certs:
        yield certs


@pytest.fixture
async def production(google: FakeGoogleCerts, database_url: str) -> AsyncIterator[str]:
    app = create_app(production_settings(google.certs_url), database_url, run_worker=False)
    async with serving(app) as base_url:
        yield base_url


async def _post(base: str, query: str, token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.post(f"{base}/graphql", json={"query": query}, headers=headers)


def _unauthenticated(body: dict[str, Any]) -> str:
    assert body["data"] is None, body
    [error] = body["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED", body
    message = error["message"]
    assert isinstance(message, str) and len(message) <= 200, message
    return message


async def test_a_google_signed_token_is_accepted(production: str, google: FakeGoogleCerts) -> None:
    body = (await _post(production, ME, google.id_token("alice", PROJECT))).json()
    assert body.get("errors") is None, body
    assert body["data"]["me"]["email"] == "alice@example.com"


async def test_unsigned_and_expired_tokens_are_unauthenticated(
    production: str, google: FakeGoogleCerts
) -> None:
    unsigned = mint_emulator_token("demo-alice", PROJECT)  # what development accepts
    # refused (firebase-admin: no "kid" header), with one of the short reasons, not its text
    assert _unauthenticated((await _post(production, ME, unsigned)).json()) == (
        "not authenticated: invalid token"
    )
    expired = google.id_token("alice", PROJECT, iat=1_700_000_000, exp=1_700_003_600)
    assert "expired" in _unauthenticated((await _post(production, ME, expired)).json())


async def test_an_oversize_token_is_refused_and_not_echoed(
    production: str, google: FakeGoogleCerts
) -> None:
    token = "eyJ" + "A" * MAX_TOKEN_BYTES + ".e30.sig"
    response = await _post(production, ME, token)
    assert "too large" in _unauthenticated(response.json())
    assert "A" * 100 not in response.text
    assert google.fetches == 0


async def test_the_sandbox_store_is_off(production: str, google: FakeGoogleCerts) -> None:
    body = (await _post(production, PURCHASE, google.id_token("alice", PROJECT))).json()
    assert body["data"]["purchaseCoins"] == {
        "__typename": "InvalidInput",
        "message": "store 'sandbox' is not enabled here",
        "field": "store",
    }
    balance = (await _post(production, ME, google.id_token("alice", PROJECT))).json()
    assert balance["data"]["me"]["balance"]["coins"] == 0


async def test_no_graphiql_introspection_or_openapi(production: str) -> None:
    async with httpx.AsyncClient(base_url=production, timeout=10) as client:
        page = await client.get("/graphql", headers={"Accept": "text/html"})
        assert "graphiql" not in page.text.lower()
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert (await client.get(path)).status_code == 404, path
        assert (await client.get("/healthz")).status_code == 200
    body = (await _post(production, INTROSPECTION)).json()
    assert body.get("data") is None
    assert "introspection" in body["errors"][0]["message"].lower()


async def test_development_serves_graphiql_introspection_and_openapi(api: str) -> None:
    async with httpx.AsyncClient(base_url=api, timeout=10) as client:
        page = await client.get("/graphql", headers={"Accept": "text/html"})
        assert "graphiql" in page.text.lower()
        for path in ("/docs", "/openapi.json"):
            assert (await client.get(path)).status_code == 200, path
    body = (await _post(api, INTROSPECTION)).json()
    assert body["data"] == {"__schema": {"queryType": {"name": "Query"}}}
