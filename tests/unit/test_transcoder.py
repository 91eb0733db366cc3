"""The event log's orjson transcoder against the library's JSONTranscoder, both ways: what one
writes, the other reads back as equal values of the same types."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum, IntEnum, StrEnum
from typing import Any
from uuid import UUID, uuid4

import pytest
from asyncpg.pgproto.pgproto import UUID as AsyncpgUUID
from eventsourcing.application import Application
from eventsourcing.persistence import (
    JSONTranscoder,
    Mapper,
    Transcoder,
    TranscodingNotRegisteredError,
    UUIDAsHex,
)
from hypothesis import given
from hypothesis import strategies as st

from domains.balance.aggregate import Account, AccountKind, Reason, Transfer
from domains.payment.aggregate import Purchase
from domains.profile.aggregate import User
from eventlog.application import EventLog
from eventlog.transcoder import OrjsonTranscoder


class Colour(StrEnum):
    RED = "red"


class Level(IntEnum):
    HIGH = 3


class Plain(Enum):
    ONE = 1


class LibraryAsyncpgUUIDAsHex(UUIDAsHex):
    type = AsyncpgUUID  # type: ignore[assignment]


def library_transcoder() -> JSONTranscoder:
    """What the event log registered on the library's transcoder before orjson."""
    transcoder = JSONTranscoder()
    Application.register_transcodings(Application.__new__(Application), transcoder)
    transcoder.register(LibraryAsyncpgUUIDAsHex())
    return transcoder


LOG = EventLog(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
OLD: JSONTranscoder = library_transcoder()
NEW: Transcoder = LOG.mapper.transcoder

A_UUID = UUID("0f3c8a52-1c1e-4c57-9a55-3f7e1f1d9b21")
VALUES: list[Any] = [
    A_UUID,
    AsyncpgUUID(str(A_UUID)),
    datetime(2026, 11, 23, 12, 30, 45, 123456, tzinfo=UTC),
    datetime(2026, 11, 23, 12, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    datetime(2026, 11, 23, 12, 30),
    Decimal("12.3400"),
    Decimal("-1E+3"),
    Colour.RED,
    Reason.PURCHASE,
    AccountKind.WALLET,
    Level.HIGH,
    "",
    "coins_100",
    'ünïcødé ✓ 日本語 \U0001f600 \u2028 \x00\x1f "quoted" back\\slash',
    0,
    -1,
    2**63 - 1,
    -(2**63),
    2**63,
    2**64 - 1,
    2**64,
    -(2**63) - 1,
    10**30,
    True,
    False,
    None,
    1732345678.123456,
    0.1,
    -0.0,
    1e-05,
    1e16,
    1e300,
    [],
    {},
    (1, 2),
    ((0, 9), (20, 60)),
    [A_UUID, [A_UUID, {"at": datetime(2026, 1, 1, tzinfo=UTC)}]],
    {"public": {"display_name": "Zoë", "nested": {"deep": [1, "two", None]}}},
    {"_type_": "not ours", "extra": 1},
    {"_type_": "uuid_hex"},
    {"absent_since": {"caller": None, "streamer": 1.5}},
]


def same(a: Any, b: Any) -> bool:
    """Equal values of the same types all the way down (1 == 1.0 == True otherwise)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b) and str(a) == str(b)  # -0.0 and 0.0 read differently: str tells


def assert_both_ways(value: Any) -> None:
    state = {"timestamp": datetime.now(UTC), "value": value, "in_list": [value]}
    by_old, by_new = OLD.encode(state), NEW.encode(state)
    expected = OLD.decode(by_old)
    assert same(NEW.decode(by_old), expected)  # rows written before orjson
    assert same(OLD.decode(by_new), expected)  # rows written now, read by the library
    assert same(NEW.decode(by_new), expected)


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_values_decode_equal_both_ways(value: Any) -> None:
    assert_both_ways(value)


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_the_json_is_the_librarys_but_for_how_floats_are_spelled(value: Any) -> None:
    by_old, by_new = OLD.encode({"value": value}), NEW.encode({"value": value})
    if by_old != by_new:
        # 1e-05 or 0.00001: the same float either way.
        assert value in (1e-05,), (by_old, by_new)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_floats_are_written_as_the_library_writes_them(value: float) -> None:
    assert NEW.encode({"v": value}) == OLD.encode({"v": value})
    assert same(NEW.decode(OLD.encode({"v": value})), {"v": value})


def test_what_orjson_would_refuse_or_write_differently_is_left_to_the_library() -> None:
    class Tagged(str):
        pass

    for value in [{1: "int key"}, {Colour.RED: "enum key"}, Tagged("x"), {"big": 2**70}]:
        assert NEW.encode(value) == OLD.encode(value)
        assert same(NEW.decode(OLD.encode(value)), OLD.decode(OLD.encode(value)))


def test_unregistered_types_fail_as_in_the_library() -> None:
    for value in [Plain.ONE, {"when": datetime(2026, 1, 1).date()}, object()]:
        with pytest.raises(TranscodingNotRegisteredError):
            OLD.encode({"v": value})
        with pytest.raises(TranscodingNotRegisteredError):
            NEW.encode({"v": value})


def test_unknown_type_names_fail_as_in_the_library() -> None:
    data = b'{"v":{"_type_":"no_such","_data_":1}}'
    with pytest.raises(TranscodingNotRegisteredError):
        OLD.decode(data)
    with pytest.raises(TranscodingNotRegisteredError):
        NEW.decode(data)


def test_json_only_the_library_reads_is_read_as_it_reads_it() -> None:
    for data in [b'{"v":NaN}', b'{"v":1e400}', b'{"v":"\\ud800"}', b'{"v": 123456789012345678901}']:
        assert same(NEW.decode(data), OLD.decode(data))


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text()
    | st.uuids()
    | st.datetimes(timezones=st.just(UTC))
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.sampled_from(list(Reason)),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@given(json_values)
def test_any_event_state_decodes_equal_both_ways(value: Any) -> None:
    try:
        OLD.encode({"value": value})
    except UnicodeEncodeError:  # lone surrogates: neither can write them
        with pytest.raises(UnicodeEncodeError):
            NEW.encode({"value": value})
        return
    assert_both_ways(value)


def events() -> list[Any]:
    user = uuid4()
    wallet = Account(owner_id=user, kind=AccountKind.WALLET)
    transfer = Transfer(
        key="purchase/sandbox/t-1",
        source=uuid4(),
        target=wallet.id,
        amount=550,
        reason=Reason.PURCHASE,
        memo="coins_550",
    )
    wallet.credit(transfer.id, 550, Reason.PURCHASE, uuid4())
    purchase = Purchase(
        store="sandbox", transaction_id="t-1", user_id=user, pack_id="coins_550", coins=550
    )
    profile = User(firebase_uid="firebase-1", display_name="Zoë", email="zoe@example.com")
    profile.update({"display_name": "Zoë ✓"}, {"phone": "+33 6 00 00 00 00"})
    return [e for a in (wallet, transfer, purchase, profile) for e in a.collect_events()]


def test_olos_events_read_back_equal_through_either_mapper() -> None:
    old: Mapper[UUID] = Mapper(transcoder=OLD)
    new = LOG.mapper
    for event in events():
        for writer, reader in [(old, new), (new, old)]:
            stored = writer.to_stored_event(event)
            read = reader.to_domain_event(stored)
            assert type(read) is type(event)
            assert same(dict(vars(read)), dict(vars(old.to_domain_event(stored))))
            assert vars(read) == vars(event)


def test_the_event_log_uses_it() -> None:
    assert isinstance(LOG.mapper.transcoder, OrjsonTranscoder)
    assert LOG.repository.event_store.mapper is LOG.mapper


def test_a_transcoding_for_a_json_type_is_never_used_as_in_the_library() -> None:
    class ColourAsName(UUIDAsHex):
        type = Colour  # type: ignore[assignment]
        name = "colour"

    old, new = library_transcoder(), OrjsonTranscoder()
    for transcoder in (old, new):
        transcoder.register(ColourAsName())
    assert new.encode({"c": Colour.RED}) == old.encode({"c": Colour.RED}) == b'{"c":"red"}'
