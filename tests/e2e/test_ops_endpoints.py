"""What an operator and a developer reach over plain HTTP: health, readiness, Prometheus
metrics, and the GraphiQL page."""

from __future__ import annotations

import httpx
from graphql_client import BALANCE_SUBSCRIPTION, purchase, subscribe, token_for
from prometheus_client.parser import text_string_to_metric_families


def _samples(text: str) -> dict[str, float]:
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_healthz_and_readyz_answer_200(api: str) -> None:
    async with httpx.AsyncClient(base_url=api) as client:
        health = await client.get("/healthz")
        ready = await client.get("/readyz")
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})


async def test_metrics_count_committed_commands_and_streamed_changes(api: str) -> None:
    alice = token_for("alice-metrics")
    async with httpx.AsyncClient(base_url=api, follow_redirects=True) as client:
        before = _samples((await client.get("/metrics")).text)
        async with subscribe(api, BALANCE_SUBSCRIPTION, alice) as stream:
            await stream.next_data()  # registers alice: one command
            await purchase(api, alice, "metrics-txn-1")
            assert (await stream.next_data())["balance"]["coins"] == 100
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    after = _samples(response.text)
    assert after["olo_writer_commands_total"] >= before["olo_writer_commands_total"] + 2
    assert after["olo_writer_batches_total"] >= before["olo_writer_batches_total"] + 1
    assert after["olo_stream_delivered_total"] >= before["olo_stream_delivered_total"] + 1
    assert "olo_command_conflicts_total" in after
    # The API runs the worker too, so it leads the projections and the policy.
    leading = {
        sample.labels["job"]
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name == "olo_leading"
    }
    assert {"balance", "profile", "balance.welcome_bonus"} <= leading


async def test_metrics_answer_on_their_own_path_without_a_redirect(api: str) -> None:
    # Scrapers and probes configured with `/metrics` must not depend on following a 307.
    async with httpx.AsyncClient(base_url=api) as client:
        response = await client.get("/metrics")
    assert response.status_code == 200, (response.status_code, response.headers)
    assert "olo_writer_commands_total" in response.text


async def test_graphiql_page_is_served_to_a_browser(api: str) -> None:
    async with httpx.AsyncClient(base_url=api) as client:
        response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()
