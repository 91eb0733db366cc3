"""What one client may cost everyone else: query bombs are refused with a typed error while a
bystander is answered, bodies and headers are bounded, connections that send nothing are
closed, and no error text tells a client anything internal."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import strawberry
from fakes import serving
from graphql_client import ME, data_of, post, post_raw, token_for

from app import Extension, create_app
from eventlog.http_limits import server_options
from eventlog.settings import Settings
from eventlog.wiring import Domain

ALIAS_BOMB = "{ me { " + " ".join(f"a{i}: id" for i in range(60)) + " } }"
FIELD_BOMB = "{ " + "me { id } " * 101 + "}"
DEPTH_BOMB = "{ me " + "{ balance " * 30 + "{ coins }" + " }" * 31
TOKEN_BOMB = "{me{" + "id," * 1000 + "}}"
NESTED_BOMB = "{a" * 900 + "}" * 900
LONG_BOMB = "{ me { id } }\n" + "# padding\n" * 20_000  # ~200 KB, under the body limit
BOMBS = {
    "aliases": ALIAS_BOMB,
    "fields": FIELD_BOMB,
    "depth": DEPTH_BOMB,
    "tokens": TOKEN_BOMB,
    "nesting": NESTED_BOMB,
    "length": LONG_BOMB,
}


def _codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors") or ()]


async def _bystander(api: str, token: str, rounds: int) -> list[dict[str, Any]]:
    return [data_of(await post(api, ME, token=token))["me"] for _ in range(rounds)]


@pytest.mark.parametrize("bomb", BOMBS.values(), ids=BOMBS.keys())
async def test_a_query_bomb_is_refused_while_a_bystander_is_answered(api: str, bomb: str) -> None:
    mallory, ann = token_for("mallory-bomb"), token_for("ann-bystander")
    data_of(await post(api, ME, token=ann))  # registered before the bombs
    bombs = [post_raw(api, bomb, token=mallory) for _ in range(5)]
    results = await asyncio.gather(_bystander(api, ann, 5), *bombs)
    assert len(results[0]) == 5  # every `me` of the bystander was answered
    for response in results[1:]:
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["data"] is None
        assert _codes(body) == ["QUERY_TOO_COMPLEX"], body
        assert len(response.text) < 1000


async def test_limit_errors_say_which_limit_in_a_short_message(api: str) -> None:
    mallory = token_for("mallory-words")
    aliases = (await post(api, ALIAS_BOMB, token=mallory))["errors"][0]["message"]
    assert aliases == "60 aliases found. Allowed: 50"
    fields = (await post(api, FIELD_BOMB, token=mallory))["errors"][0]["message"]
    assert fields == "more than 100 fields selected"
    depth = (await post(api, DEPTH_BOMB, token=mallory))["errors"][0]["message"]
    assert "exceeds maximum operation depth of 12" in depth
    tokens = (await post(api, TOKEN_BOMB, token=mallory))["errors"][0]["message"]
    assert tokens == "the query is too large"


async def test_a_body_over_the_limit_is_refused_with_413_unread(api: str) -> None:
    big = {"query": "{ me { id } }", "variables": {"pad": "x" * 300_000}}
    async with httpx.AsyncClient(base_url=api, timeout=10) as client:
        declared = await client.post("/graphql", json=big)
        webhook = await client.post("/webhooks/agora", content=b"{" + b" " * 300_000 + b"}")

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
            yield b'{"query": "{ me { id } }", "variables": {"pad": "'
            for _ in range(40):
                yield b"x" * 10_000
            yield b'"}}'

        streamed = await client.post(
            "/graphql", content=chunks(), headers={"content-type": "application/json"}
        )
        fine = await client.post("/graphql", json={"query": "{ me { id } }"})
    assert (declared.status_code, declared.json()) == (413, {"error": "request body too large"})
    assert webhook.status_code == 413
    assert streamed.status_code == 413
    assert fine.status_code == 200  # under the limit: answered (UNAUTHENTICATED, no token)
    assert _codes(fine.json()) == ["UNAUTHENTICATED"]


async def test_deeply_nested_or_malformed_json_is_a_short_400(api: str) -> None:
    nested = b'{"query": "{ me { id } }", "variables": {"a": ' + b"[" * 200_000 + b"]}}"
    async with httpx.AsyncClient(base_url=api, timeout=10) as client:
        for body in (nested, b'{"query": ', b"\xff\xfe", b"[" * 100_000):
            response = await client.post(
                "/graphql", content=body, headers={"content-type": "application/json"}
            )
            assert response.status_code == 400, (body[:20], response.status_code)
            assert len(response.text) < 200
            assert "Recursion" not in response.text and "Traceback" not in response.text


async def test_a_huge_garbage_token_gets_a_short_unauthenticated_error(api: str) -> None:
    for garbage in ("x" * 10_000, "a.b.c" + "%" * 3000, "eyJ" + "A" * 8000 + ".e30.sig"):
        body = await post(api, ME, token=garbage)
        assert _codes(body) == ["UNAUTHENTICATED"], body
        message = body["errors"][0]["message"]
        assert message in ("not authenticated: invalid token", "not authenticated: token too large")
        assert len(str(body)) < 300


async def test_bad_arguments_get_typed_short_errors_without_python_text(api: str) -> None:
    ann = token_for("ann-args")
    history = "query($first: Int!) { balanceHistory(first: $first) { nextCursor } }"
    not_int = await post(api, history, {"first": "12abc" * 1000}, ann)
    assert _codes(not_int) == ["BAD_USER_INPUT"], not_int
    message = not_int["errors"][0]["message"]
    assert len(message) < 200 and "invalid literal" not in message
    cursor = await post(api, '{ balanceHistory(first: 2, after: "x") { nextCursor } }', token=ann)
    assert _codes(cursor) == ["BAD_USER_INPUT"]
    assert "cursor" in cursor["errors"][0]["message"]
    call = await post(
        api,
        "mutation($id: String!) { requestCall(calleeId: $id) { __typename"
        " ... on InvalidInput { message field } } }",
        {"id": "not-a-uuid-" * 5000},
        ann,
    )
    refused = data_of(call)["requestCall"]
    assert (refused["__typename"], refused["field"]) == ("InvalidInput", "calleeId")
    assert len(refused["message"]) < 200 and "hexadecimal" not in refused["message"]
    syntax = await post(api, '{ me(x: "' + "y" * 2_000 + '" ', token=ann)
    assert _codes(syntax) == ["GRAPHQL_PARSE_FAILED"]
    assert len(syntax["errors"][0]["message"]) < 200


@strawberry.type
class CrashingQuery:
    @strawberry.field
    async def crash(self) -> int:
        raise RuntimeError("secret: /srv/olo/db.py password=hunter2 None")

    @strawberry.field
    async def nothing(self) -> int:
        return None  # type: ignore[return-value]  # a bug: non-null field returns None


CRASHING = Domain[Any]("test_crashing", query=(CrashingQuery,))


async def test_a_crashing_resolver_is_a_masked_internal_error(
    settings: Settings, database_url: str
) -> None:
    app = create_app(settings, database_url, extensions=[Extension(CRASHING)])
    async with serving(app) as api:
        for query in ("{ crash }", "{ nothing }"):
            body = await post(api, query)
            assert body["data"] is None
            assert body["errors"] == [
                {
                    "message": "internal error",
                    "locations": [{"line": 1, "column": 3}],
                    "path": [query.strip("{ }")],
                    "extensions": {"code": "INTERNAL"},
                }
            ]


async def test_metrics_want_the_bearer_token_when_one_is_set(database_url: str) -> None:
    guarded = Settings(
        mode="development", metrics_token="scrape-me", leadership_poll_seconds=0.2, db_pool_max=3
    )
    async with serving(create_app(guarded, database_url, run_worker=False)) as api:
        async with httpx.AsyncClient(base_url=api) as client:
            anonymous = await client.get("/metrics")
            wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
            right = await client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
            health = await client.get("/healthz")
    assert (anonymous.status_code, wrong.status_code) == (401, 401)
    assert right.status_code == 200 and "olo_writer_commands_total" in right.text
    assert health.status_code == 200


async def test_metrics_are_not_served_in_production_without_a_token(database_url: str) -> None:
    production = Settings(
        mode="production",
        firebase_project_id="olo-production",
        agora_app_certificate="0f" * 16,
        agora_ncs_secret="ncs-production-secret",
        agora_customer_id="customer",
        agora_customer_secret="customer-secret",
        leadership_poll_seconds=0.2,
        db_pool_max=3,
    )
    async with serving(create_app(production, database_url, run_worker=False)) as api:
        async with httpx.AsyncClient(base_url=api) as client:
            assert (await client.get("/metrics")).status_code == 404


@contextlib.asynccontextmanager
async def _guarded(settings: Settings, database_url: str) -> AsyncIterator[tuple[str, int]]:
    app = create_app(settings, database_url, run_worker=False)
    async with serving(app, **server_options(settings)) as api:
        yield api, int(api.rsplit(":", 1)[1])


async def _closed_within(sock: socket.socket, seconds: float) -> bool:
    """Whether the server closes `sock` (EOF or reset) within `seconds`."""
    loop = asyncio.get_running_loop()
    try:
        data = await asyncio.wait_for(loop.sock_recv(sock, 1024), seconds)
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
    return data == b""


async def test_connections_that_send_no_request_are_closed_and_health_still_answers(
    database_url: str,
) -> None:
    settings = Settings(mode="development", header_timeout_seconds=1.0, db_pool_max=3)
    async with _guarded(settings, database_url) as (api, port):
        idle = []
        for _ in range(50):
            sock = socket.socket()
            sock.setblocking(False)
            await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
            idle.append(sock)
        slow = idle[-1]  # starts a request and never finishes its headers
        await asyncio.get_running_loop().sock_sendall(slow, b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        try:
            async with httpx.AsyncClient(base_url=api, timeout=5) as client:
                assert (await client.get("/healthz")).status_code == 200
            closed = await asyncio.gather(*(_closed_within(s, 15.0) for s in idle))
            assert all(closed), f"{closed.count(False)} of {len(idle)} idle sockets still open"
            async with httpx.AsyncClient(base_url=api, timeout=5) as client:
                assert (await client.get("/healthz")).status_code == 200
        finally:
            for sock in idle:
                sock.close()


async def test_connections_beyond_the_bound_are_closed_at_once(database_url: str) -> None:
    settings = Settings(
        mode="development", max_connections=5, header_timeout_seconds=30, db_pool_max=3
    )
    async with _guarded(settings, database_url) as (_api, port):
        loop = asyncio.get_running_loop()
        socks = []
        try:
            for _ in range(8):
                sock = socket.socket()
                sock.setblocking(False)
                await loop.sock_connect(sock, ("127.0.0.1", port))
                socks.append(sock)
                await asyncio.sleep(0.05)  # accepted in order
            closed = await asyncio.gather(*(_closed_within(s, 2.0) for s in socks))
            assert closed == [False] * 5 + [True] * 3
        finally:
            for sock in socks:
                sock.close()


async def test_headers_over_the_limit_get_431(database_url: str) -> None:
    settings = Settings(mode="development", db_pool_max=3)
    async with _guarded(settings, database_url) as (api, _port):
        async with httpx.AsyncClient(base_url=api, timeout=10) as client:
            huge = await client.post(
                "/graphql",
                json={"query": ME},
                headers={"Authorization": "Bearer " + "x" * 1_000_000},
            )
            fine = await client.post(
                "/graphql", json={"query": ME}, headers={"Authorization": "Bearer garbage"}
            )
    assert huge.status_code == 431
    assert len(huge.content) < 100
    assert _codes(fine.json()) == ["UNAUTHENTICATED"]
