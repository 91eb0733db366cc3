"""Retained memory of a long strawberry subscription, default vs bounded executor."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import AsyncGenerator

import strawberry
from graphql.execution import Executor

from eventlog.graphql_execution import BoundedExecutionContext

WARM_UP = 2_000
MEASURED = 20_000
QUERY = "subscription { balance { account amount version } }"


@strawberry.type
class Balance:
    account: str
    amount: int
    version: int


@strawberry.type
class Query:
    ping: str = "pong"


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def balance(self) -> AsyncGenerator[Balance, None]:
        version = 0
        while True:
            version += 1
            yield Balance(account="acc-1", amount=version * 10, version=version)


async def _growth_over_measured_messages(
    execution_context_class: type[Executor] | None,
) -> tuple[int, str]:
    """Bytes still allocated after MEASURED more messages than after WARM_UP ones."""
    schema = strawberry.Schema(
        query=Query, subscription=Subscription, execution_context_class=execution_context_class
    )
    started_here = not tracemalloc.is_tracing()
    if started_here:
        tracemalloc.start()
    try:
        results = await schema.subscribe(QUERY)
        try:
            for _ in range(WARM_UP):
                await anext(results)
            gc.collect()
            before = tracemalloc.take_snapshot()
            for _ in range(MEASURED):
                last = await anext(results)
            gc.collect()
            after = tracemalloc.take_snapshot()
        finally:
            await results.aclose()
    finally:
        if started_here:
            tracemalloc.stop()

    assert not last.errors, last.errors
    version = WARM_UP + MEASURED
    assert last.data == {
        "balance": {"account": "acc-1", "amount": version * 10, "version": version}
    }
    diff = after.compare_to(before, "lineno")
    top = "\n".join(str(stat) for stat in diff[:5])
    return sum(stat.size_diff for stat in diff), top


async def test_bounded_execution_context_keeps_subscription_memory_flat() -> None:
    growth, top = await _growth_over_measured_messages(BoundedExecutionContext)
    assert growth < 200_000, f"{growth} B over {MEASURED} messages\n{top}"


async def test_default_execution_context_retains_memory_per_message() -> None:
    # Documents the upstream leak (~1.2 KB/message with graphql-core 3.3.2) and proves the
    # measurement can fail. If this starts failing after an upgrade, graphql-core no longer
    # shares its subfield memo across events and BoundedExecutionContext can be dropped.
    growth, top = await _growth_over_measured_messages(None)
    assert growth > 10_000_000, f"{growth} B over {MEASURED} messages\n{top}"
