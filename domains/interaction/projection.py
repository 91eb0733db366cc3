"""The interaction read model: one row per pair of users (calls, connected time, coins each
way, gifts, messages, masked contacts, first and last contact), from video's calls, gift's
sends and chat's messages. A page is tallied in memory (tally.py) and written in a few
statements: the open calls it needs read at once, the pairs upserted with one `unnest`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from domains.chat.aggregate import Message, chat_id_of
from domains.gift.aggregate import GiftSend
from domains.interaction.tally import CallState, PairDelta, Tally
from domains.video.aggregate import Call, Side
from eventlog.database import Connection, SchemaConnection
from eventlog.projection import Recorded

_TABLES = """
CREATE TABLE IF NOT EXISTS interaction_calls (
    call_id uuid PRIMARY KEY,
    kind text NOT NULL,
    caller_id uuid NOT NULL,
    callee_id uuid NOT NULL,
    connected_at double precision,
    caller_coins bigint NOT NULL,
    streamer_coins bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS interaction_pairs (
    user_a uuid NOT NULL,
    user_b uuid NOT NULL,
    chat_id uuid NOT NULL UNIQUE,
    direct_calls integer NOT NULL,
    direct_seconds bigint NOT NULL,
    roulette_calls integer NOT NULL,
    roulette_seconds bigint NOT NULL,
    paid_calls integer NOT NULL,
    call_spent_a bigint NOT NULL,
    call_spent_b bigint NOT NULL,
    call_earned_a bigint NOT NULL,
    call_earned_b bigint NOT NULL,
    gifts_a integer NOT NULL,
    gifts_b integer NOT NULL,
    gift_spent_a bigint NOT NULL,
    gift_spent_b bigint NOT NULL,
    gift_earned_a bigint NOT NULL,
    gift_earned_b bigint NOT NULL,
    messages_a integer NOT NULL,
    messages_b integer NOT NULL,
    masked_a integer NOT NULL DEFAULT 0,
    masked_b integer NOT NULL DEFAULT 0,
    first_contact timestamptz NOT NULL,
    last_contact timestamptz NOT NULL,
    PRIMARY KEY (user_a, user_b)
);
CREATE INDEX IF NOT EXISTS interaction_pairs_a ON interaction_pairs (user_a, last_contact, user_b);
CREATE INDEX IF NOT EXISTS interaction_pairs_b ON interaction_pairs (user_b, last_contact, user_a);
"""

# The counters a page adds (after the pair's ids and chat), in the order of `_counters` below.
_ADDED = (
    "direct_calls direct_seconds roulette_calls roulette_seconds paid_calls "
    "call_spent_a call_spent_b call_earned_a call_earned_b gifts_a gifts_b "
    "gift_spent_a gift_spent_b gift_earned_a gift_earned_b messages_a messages_b"
).split()
_TYPES = ["integer", "bigint", "integer", "bigint", "integer"] + ["bigint"] * 12

_UPSERT_PAIRS = f"""
INSERT INTO interaction_pairs (user_a, user_b, chat_id, {", ".join(_ADDED)},
                               first_contact, last_contact)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[],
    {", ".join(f"${i + 4}::{t}[]" for i, t in enumerate(_TYPES))},
    ${len(_ADDED) + 4}::timestamptz[], ${len(_ADDED) + 5}::timestamptz[])
ON CONFLICT (user_a, user_b) DO UPDATE SET
    {", ".join(f"{c} = interaction_pairs.{c} + excluded.{c}" for c in _ADDED)},
    first_contact = LEAST(interaction_pairs.first_contact, excluded.first_contact),
    last_contact = GREATEST(interaction_pairs.last_contact, excluded.last_contact)
"""

# Masked messages by (chat, sender): summed per pair first (an UPDATE ... FROM changes a row
# once, whatever the number of matching rows).
_ADD_MASKED = """
UPDATE interaction_pairs p SET masked_a = p.masked_a + m.na, masked_b = p.masked_b + m.nb
FROM (SELECT q.chat_id,
             coalesce(sum(u.n) FILTER (WHERE u.s = q.user_a), 0) AS na,
             coalesce(sum(u.n) FILTER (WHERE u.s <> q.user_a), 0) AS nb
      FROM unnest($1::uuid[], $2::uuid[], $3::integer[]) AS u(c, s, n)
      JOIN interaction_pairs q ON q.chat_id = u.c
      GROUP BY q.chat_id) m
WHERE p.chat_id = m.chat_id
"""

_KEEP_CALLS = """
INSERT INTO interaction_calls SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[],
    $4::uuid[], $5::double precision[], $6::bigint[], $7::bigint[])
ON CONFLICT (call_id) DO UPDATE SET connected_at = excluded.connected_at,
    caller_coins = excluded.caller_coins, streamer_coins = excluded.streamer_coins
"""

# Call events after the request: their call's parties come from the calls kept open.
_LATER_CALL_EVENTS = (
    Call.Connected,
    Call.Charged,
    Call.Ended,
    Call.Declined,
    Call.Missed,
    Call.Cancelled,
)
_CALL_TOPICS = (Call.Requested.TOPIC, *(c.TOPIC for c in _LATER_CALL_EVENTS))


class InteractionProjection:
    name = "interaction"
    topics = frozenset(
        {*_CALL_TOPICS, GiftSend.Sent.TOPIC, Message.Sent.TOPIC, Message.ContactMasked.TOPIC}
    )

    async def create_tables(self, conn: SchemaConnection) -> None:
        await conn.execute(_TABLES)

    async def clear(self, conn: Connection) -> None:
        await conn.execute("TRUNCATE interaction_calls, interaction_pairs")

    async def apply(
        self, conn: Connection, events: Sequence[Recorded]
    ) -> dict[str, list[tuple[str, Any]]]:
        tally = Tally(await _open_calls(conn, events))
        for recorded in events:
            _fold(tally, recorded.event)
        await _write(conn, tally)
        return {}


def _fold(tally: Tally, e: Any) -> None:
    match e:
        case Call.Requested():
            tally.call_requested(e.originator_id, e.kind, e.caller_id, e.callee_id)
        case Call.Connected():
            tally.call_connected(e.originator_id, e.at)
        case Call.Charged():
            tally.call_charged(e.originator_id, e.side == Side.CALLER, e.coins, e.at)
        case Call.Ended():
            tally.call_ended(e.originator_id, e.at, e.refunded)
        case Call.Declined() | Call.Missed() | Call.Cancelled():
            tally.call_dropped(e.originator_id)
        case GiftSend.Sent():
            tally.gift_sent(e.sender_id, e.recipient_id, e.coins, e.streamer_coins, e.at)
        case Message.Sent():
            tally.message_sent(e.sender_id, e.recipient_id, e.at)
        case Message.ContactMasked():
            tally.contact_masked(e.chat_id, e.sender_id)


async def _open_calls(conn: Connection, events: Sequence[Recorded]) -> dict[UUID, CallState]:
    """The open calls this page refers to but did not start: read in one statement."""
    started = {r.event.originator_id for r in events if isinstance(r.event, Call.Requested)}
    wanted = {
        r.event.originator_id
        for r in events
        if isinstance(r.event, _LATER_CALL_EVENTS) and r.event.originator_id not in started
    }
    if not wanted:
        return {}
    rows = await conn.fetch(
        "SELECT * FROM interaction_calls WHERE call_id = ANY($1::uuid[])", list(wanted)
    )
    return {
        r["call_id"]: CallState(
            r["kind"],
            r["caller_id"],
            r["callee_id"],
            r["connected_at"],
            r["caller_coins"],
            r["streamer_coins"],
        )
        for r in rows
    }


def _moment(at: float | None) -> datetime:
    assert at is not None  # every delta was touched by the event that made it
    return datetime.fromtimestamp(at, UTC)


def _counters(d: PairDelta) -> list[int]:
    return [
        d.direct_calls,
        d.direct_seconds,
        d.roulette_calls,
        d.roulette_seconds,
        d.paid_calls,
        *d.call_spent,
        *d.call_earned,
        *d.gifts,
        *d.gift_spent,
        *d.gift_earned,
        *d.messages,
    ]


async def _write(conn: Connection, tally: Tally) -> None:
    if tally.pairs:
        keys = list(tally.pairs)
        deltas = [_counters(tally.pairs[k]) for k in keys]
        await conn.execute(
            _UPSERT_PAIRS,
            [a for a, _ in keys],
            [b for _, b in keys],
            [chat_id_of(a, b) for a, b in keys],
            *([d[i] for d in deltas] for i in range(len(_ADDED))),
            [_moment(tally.pairs[k].first_contact) for k in keys],
            [_moment(tally.pairs[k].last_contact) for k in keys],
        )
    if tally.masked:
        masked = list(tally.masked.items())
        await conn.execute(
            _ADD_MASKED,
            [c for (c, _), _ in masked],
            [s for (_, s), _ in masked],
            [n for _, n in masked],
        )
    kept = tally.kept_calls
    if kept:
        calls = list(kept.items())
        await conn.execute(
            _KEEP_CALLS,
            [i for i, _ in calls],
            [c.kind for _, c in calls],
            [c.caller_id for _, c in calls],
            [c.callee_id for _, c in calls],
            [c.connected_at for _, c in calls],
            [c.caller_coins for _, c in calls],
            [c.streamer_coins for _, c in calls],
        )
    if tally.finished:
        await conn.execute(
            "DELETE FROM interaction_calls WHERE call_id = ANY($1::uuid[])", list(tally.finished)
        )
