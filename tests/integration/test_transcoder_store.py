"""Rows of the real log, written with the orjson transcoder and read with the library's, and the
other way round: the store, the readers and the library's own repository agree on every one."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID, uuid4

from asyncpg.pgproto.pgproto import UUID as AsyncpgUUID
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import JSONTranscoder, UUIDAsHex

from app import Olo
from domains.balance.aggregate import Account, AccountKind, PlatformAccount, Reason, Transfer
from domains.balance.service import AccountRef
from domains.profile.aggregate import User
from eventlog.application import EVENTS_TABLE, postgres_env
from eventlog.projection import read_page
from eventlog.transcoder import OrjsonTranscoder


class LibraryAsyncpgUUIDAsHex(UUIDAsHex):
    type = AsyncpgUUID  # type: ignore[assignment]


class LibraryLog(Application[Any]):
    """The event log as it was before orjson: the library's JSONTranscoder, psycopg."""

    name = "EventLog"

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(LibraryAsyncpgUUIDAsHex())


def state(aggregate: Aggregate | None) -> dict[str, Any]:
    assert aggregate is not None
    return {k: v for k, v in vars(aggregate).items() if k != "_pending_events"}


async def all_ids(olo: Olo) -> list[UUID]:
    rows = await olo.pool.fetch(f"SELECT DISTINCT originator_id FROM {EVENTS_TABLE}")
    return [UUID(bytes=r[0].bytes) for r in rows]


async def assert_readers_agree(olo: Olo, library: LibraryLog) -> None:
    ids = await all_ids(olo)
    assert ids
    for oid in ids:
        ours = await olo.store.load(oid, fresh=True)
        theirs: Aggregate = await asyncio.to_thread(library.repository.get, oid)
        assert state(ours) == state(theirs)
    _, by_new = await read_page(olo.pool, olo.event_log.mapper, 0, 10_000, frozenset())
    _, by_old = await read_page(olo.pool, library.mapper, 0, 10_000, frozenset())
    assert [(r.position, type(r.event), vars(r.event)) for r in by_new] == [
        (r.position, type(r.event), vars(r.event)) for r in by_old
    ]


async def test_rows_written_now_read_back_equal_through_the_library(
    olo: Olo, database_url: str
) -> None:
    assert isinstance(olo.store.mapper.transcoder, OrjsonTranscoder)
    assert olo.store.mapper is olo.event_log.mapper
    user = await olo.services.profiles.register("firebase-zoe", display_name="Zoë ✓")
    await olo.services.profiles.update_profile(
        user, public={"display_name": "Zoë 日本"}, private={"phone": "+33 6"}
    )
    await olo.services.balance.grant(user, 40, key="welcome/zoe")
    await olo.services.payments.purchase_coins(
        user, pack_id="coins_100", store="sandbox", receipt="t-ü-1"
    )
    await olo.services.balance.transfer(
        key="gift/1",
        source=AccountRef.wallet(user),
        target=AccountRef.platform(PlatformAccount.REVENUE),
        amount=7,
        reason="gift",
    )
    library = await asyncio.to_thread(LibraryLog, env=postgres_env(database_url))
    try:
        await assert_readers_agree(olo, library)
    finally:
        library.close()


async def test_rows_the_library_wrote_read_back_equal_through_the_store(
    olo: Olo, database_url: str
) -> None:
    library = await asyncio.to_thread(LibraryLog, env=postgres_env(database_url))
    try:
        owner = uuid4()
        wallet = Account(owner_id=owner, kind=AccountKind.WALLET)
        transfer = Transfer(
            key="purchase/sandbox/t-1",
            source=PlatformAccount.PAYMENT_CLEARING.account_id,
            target=wallet.id,
            amount=550,
            reason=Reason.PURCHASE,
            memo="coins_550",
        )
        wallet.credit(transfer.id, 550, Reason.PURCHASE, transfer.source)
        user = User(firebase_uid="firebase-1", display_name="Zoë", email=None)
        user.update({"display_name": "Zoë ✓ \U0001f600"}, {"phone": "+33"})
        await asyncio.to_thread(library.save, wallet, transfer, user)
        await assert_readers_agree(olo, library)
        balance = olo.services.balance
        assert await balance.coins(AccountRef.wallet(owner)) == 550
    finally:
        library.close()
