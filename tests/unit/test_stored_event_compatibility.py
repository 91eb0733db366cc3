"""Events already in the log still read, replay and write back byte for byte.

tests/fixtures/stored_events.json holds one stored event of every topic, written by a real olo
run (tests/fixtures/dump_stored_events.py) before the events became explicit classes. Each row
must decode, through the EventLog's own mapper and transcodings, to the aggregate's declared
event class with its typed fields; apply to its aggregate; and, built again through the class's
constructor (as a command builds it), encode to exactly the stored bytes.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import types
import typing
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.application import project_aggregate
from eventsourcing.domain import Aggregate, CanInitAggregate
from eventsourcing.persistence import Mapper, StoredEvent
from fixtures.event_topics import aggregate_classes, event_classes, stored_topics

from domains.balance.aggregate import Account
from domains.billing.aggregate import Schedule, Tariff
from domains.blocklist.aggregate import Block
from domains.chat.aggregate import Message, ReadMarker
from domains.notification.aggregate import Notification, NotificationStatus, Preferences
from domains.profile.aggregate import Device, Role, User
from domains.video.aggregate import Call, CallStatus, EndReason
from domains.video.lines import Line
from domains.video.roulette import Roulette, RouletteStatus
from eventlog.application import EventLog

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "stored_events.json"
ROWS: list[dict[str, Any]] = json.loads(FIXTURE.read_text())
BASE_FIELDS = ("originator_id", "originator_version")

# Per topic, what the aggregate must look like once the stored event is applied.
APPLIED: dict[str, typing.Callable[[Any, Any], bool]] = {
    Account.Credited.TOPIC: lambda a, e: a.coins == e.balance,
    Account.Debited.TOPIC: lambda a, e: a.coins == e.balance,
    Tariff.Revised.TOPIC: lambda a, e: a.caller == Schedule.of(e.caller),
    Block.Blocked.TOPIC: lambda a, e: a.active and a.reason == e.reason,
    Block.Unblocked.TOPIC: lambda a, e: not a.active,
    Notification.Pushed.TOPIC: lambda a, e: a.status is NotificationStatus.PUSHED,
    Notification.Withdrawn.TOPIC: lambda a, e: a.status is NotificationStatus.WITHDRAWN,
    Preferences.Muted.TOPIC: lambda a, e: e.kind in a.muted,
    User.RoleChanged.TOPIC: lambda a, e: a.role is Role.STREAMER,
    Device.Unregistered.TOPIC: lambda a, e: not a.active,
    Call.Connected.TOPIC: lambda a, e: a.status is CallStatus.CONNECTED,
    Call.Ended.TOPIC: lambda a, e: a.end_reason is EndReason(e.reason),
    Line.Released.TOPIC: lambda a, e: a.call_id is None,
    Roulette.Exhausted.TOPIC: lambda a, e: a.status is RouletteStatus.EXHAUSTED,
    Message.ContactMasked.TOPIC: lambda a, e: a.masked == e.kinds,
    ReadMarker.Read.TOPIC: lambda a, e: e.up_to_message_id in a.up_to,
}


@pytest.fixture(scope="module")
def mapper() -> Mapper[Any]:
    """The mapper olo writes and reads the log with (no database is needed to build it)."""
    return EventLog(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}).mapper


def stored(row: dict[str, Any]) -> StoredEvent:
    return StoredEvent(
        originator_id=UUID(row["originator_id"]),
        originator_version=row["originator_version"],
        topic=row["topic"],
        state=row["state"].encode("utf-8"),
    )


def event_class_of(topic: str) -> type[Any]:
    (cls,) = [e for a in aggregate_classes() for t, e in event_classes(a).items() if t == topic]
    return cls


def expected_value(raw: Any) -> Any:
    """A stored JSON value as olo's transcodings read it, decoded here independently."""
    if isinstance(raw, dict) and raw.keys() == {"_type_", "_data_"}:
        if raw["_type_"] == "uuid_hex":
            return UUID(raw["_data_"])
        if raw["_type_"] == "datetime_iso":
            return datetime.fromisoformat(raw["_data_"])
    return raw


def has_type(value: Any, hint: Any) -> bool:
    if hint is Any:
        return True
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return any(has_type(value, h) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, typing.get_origin(hint) or hint)


def test_the_fixture_has_a_row_for_every_topic_the_aggregates_declare() -> None:
    assert {row["topic"] for row in ROWS} == stored_topics()
    assert len(ROWS) == len(stored_topics())


@pytest.mark.parametrize("row", ROWS, ids=[r["topic"] for r in ROWS])
def test_a_stored_event_decodes_to_its_declared_class_and_typed_fields(
    mapper: Mapper[Any], row: dict[str, Any]
) -> None:
    event: Any = mapper.to_domain_event(stored(row))
    cls = event_class_of(row["topic"])
    assert type(event) is cls
    state = json.loads(row["state"])
    names = [f.name for f in dataclasses.fields(cls)]
    assert names == [*BASE_FIELDS, *state], "the class's fields, in the stored order"
    hints = typing.get_type_hints(cls)
    for name, raw in state.items():
        value = getattr(event, name)
        assert value == expected_value(raw), name
        assert has_type(value, hints[name]), (name, value, hints[name])
    assert (event.originator_id, event.originator_version) == (
        UUID(row["originator_id"]),
        row["originator_version"],
    )


@pytest.mark.parametrize("row", ROWS, ids=[r["topic"] for r in ROWS])
def test_built_again_by_its_class_an_event_encodes_to_the_stored_bytes(
    mapper: Mapper[Any], row: dict[str, Any]
) -> None:
    decoded = mapper.to_domain_event(stored(row))
    rebuilt = type(decoded)(**vars(decoded))
    again = mapper.to_stored_event(rebuilt)
    assert again == stored(row)
    assert mapper.to_stored_event(decoded) == stored(row)


def created_by_fixture(mapper: Mapper[Any]) -> dict[type[Aggregate], Aggregate]:
    """Each aggregate class as the fixture's creation event of it makes it."""
    made: dict[type[Aggregate], Aggregate] = {}
    for row in ROWS:
        event = mapper.to_domain_event(stored(row))
        if isinstance(event, CanInitAggregate):
            aggregate = project_aggregate(None, [event])
            assert isinstance(aggregate, Aggregate) and aggregate.version == 1
            made[type(aggregate)] = aggregate
    return made


def test_every_stored_event_applies_to_its_aggregate(mapper: Mapper[Any]) -> None:
    made = created_by_fixture(mapper)
    assert set(made) == set(aggregate_classes())
    for row in ROWS:
        event: Any = mapper.to_domain_event(stored(row))
        if isinstance(event, CanInitAggregate):
            continue
        (base,) = [a for cls, a in made.items() if type(event) in event_classes(cls).values()]
        # The event's own aggregate at the version before it: the creation event's state is
        # all its apply reads (each apply sets fields, none checks earlier ones).
        before = copy.deepcopy(base)
        before._id = event.originator_id
        before._version = event.originator_version - 1
        after = project_aggregate(before, [event])
        assert after is not None and after.version == event.originator_version
        check = APPLIED.get(row["topic"])
        assert check is None or check(after, event), row["topic"]
