"""A domain is one folder's records: a throwaway domain declared here (one projection, one
channel, one subscription) is served, projected and streamed with no edit to `app.py`."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import strawberry
from fastapi import FastAPI
from graphql_client import purchase, subscribe, token_for
from strawberry.types import Info

from app import Extension, Services, create_app
from domains.balance.aggregate import Account
from eventlog.api import Context
from eventlog.database import Connection, SchemaConnection
from eventlog.projection import Recorded
from eventlog.settings import Settings
from eventlog.wiring import Domain

CHANNEL = "test_credits"


class CreditsProjection:
    """Counts each account's credits and announces every one to the account's owner."""

    name = "test.credits"
    topics = frozenset({Account.Opened.TOPIC, Account.Credited.TOPIC})

    async def create_tables(self, conn: SchemaConnection) -> None:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS test_credits "
            "(account_id uuid PRIMARY KEY, owner_id uuid NOT NULL, n int NOT NULL)"
        )

    async def clear(self, conn: Connection) -> None:
        await conn.execute("TRUNCATE test_credits")

    async def apply(
        self, conn: Connection, events: Sequence[Recorded]
    ) -> dict[str, list[tuple[str, Any]]]:
        changes: list[tuple[str, Any]] = []
        for recorded in events:
            e = recorded.event
            if isinstance(e, Account.Opened):
                await conn.execute(
                    "INSERT INTO test_credits VALUES ($1, $2, 0) ON CONFLICT DO NOTHING",
                    e.originator_id,
                    e.owner_id,
                )
                continue
            row = await conn.fetchrow(
                "UPDATE test_credits SET n = n + 1 WHERE account_id = $1 RETURNING owner_id, n",
                e.originator_id,
            )
            assert row is not None
            changes.append((str(row["owner_id"]), {"amount": e.amount, "n": row["n"]}))
        return {CHANNEL: changes}


@strawberry.type
class Credit:
    amount: int
    n: int


@strawberry.type
class CreditsSubscription:
    @strawberry.subscription
    async def credits(self, info: Info[Context[Services], None]) -> AsyncGenerator[Credit, None]:
        viewer = await info.context.viewer()
        stream = info.context.hub.subscribe(CHANNEL, str(viewer.user_id))
        try:
            yield Credit(amount=0, n=0)  # subscribed: what follows is live
            async for change in stream:
                yield Credit(amount=change.data["amount"], n=change.data["n"])
        finally:
            stream.close()


CREDITS = Domain[Services](
    "test_credits",
    projections=(CreditsProjection,),
    channels=(CHANNEL,),
    subscription=(CreditsSubscription,),
)


async def test_a_domain_declared_outside_app_py_projects_and_streams(
    settings: Settings,
    database_url: str,
    serve: Callable[[FastAPI], AbstractAsyncContextManager[str]],
) -> None:
    app = create_app(settings, database_url, extensions=[Extension(CREDITS)])
    async with serve(app) as api:
        ann = token_for("ann-extension")
        async with subscribe(api, "subscription { credits { amount n } }", ann) as stream:
            assert (await stream.next_data())["credits"] == {"amount": 0, "n": 0}
            await purchase(api, ann, "txn-a")
            assert (await stream.next_data())["credits"] == {"amount": 100, "n": 1}
            await purchase(api, ann, "txn-b")
            assert (await stream.next_data())["credits"] == {"amount": 100, "n": 2}
